"""The report of a run as one typed value: its head, its verdict and every table, built once.

:func:`build_report` reads a run's result, its summary and the expectation checks, and makes
each table with a small function of its own (:data:`TABLES`). The Markdown report and the HTML
page are then written from the same :class:`ReportModel` (:mod:`scenarios.reports.writer`), so
a row cannot say one thing on one page and another on the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bureaus.events import Lifecycle
from scenarios.events import Inject
from scenarios.exercise.deadlines import span_label, when
from scenarios.model import Scenario
from scenarios.reports.grid import KnowledgeGrid, knowledge_grid
from scenarios.reports.metrics import ExpectationResult
from scenarios.reports.review import CELL_WORDS
from scenarios.results import RunResult

__all__ = [
    "BREACH_HEAD",
    "DEADLINE_HEAD",
    "TABLES",
    "TIMELINE_KINDS",
    "ReportInput",
    "ReportModel",
    "Table",
    "build_report",
    "deadline_table",
    "grid_rows",
    "scenario_latency_rows",
]

TIMELINE_KINDS = frozenset({"inject", "fault", "control", "deadline", "breach"})
"""The events a trainer reads as the story of a run."""
FIGURE_NAMES = {
    "sent": "messages sent",
    "expected_deliveries": "deliveries owed (a message to five bureaus owes five)",
    "delivered": "delivered",
    "acknowledged": "acknowledged",
    "duplicates": "duplicate copies (resends, answered again)",
    "lost": "lost",
    "still_owed_at_end": "still being resent when the run ended",
}
"""How the summary's figures are named for people."""
LAT_HEAD = ["", "n", "p50", "p90", "p99", "p99.9", "max", "measured p99", "modelled p99"]
SCENARIO_LAT_HEAD = ["", "n", "p50", "p90", "p99", "max"]
REJECTION_HEAD = ["t", "bureau", "reason", "claimed sender", "detail"]
DEADLINE_HEAD = ["request", "owed", "by", "opened", "due", "answered", "state"]
BREACH_HEAD = ["t", "bureau", "caveat", "what happened"]


@dataclass(frozen=True, slots=True)
class Table:
    """A table of text cells (every cell is text; a page escapes it as it writes it)."""

    head: list[str]
    rows: list[list[str]]


@dataclass(frozen=True, slots=True)
class ReportInput:
    """What a report is built from."""

    result: RunResult
    summary: dict[str, Any]
    expectations: list[ExpectationResult]
    grid: KnowledgeGrid

    @property
    def duration(self) -> float:
        """The scenario's length, seconds (times are written relative to it)."""
        return self.result.scenario.duration


@dataclass(frozen=True, slots=True)
class ReportModel:
    """Everything a report page says, built once.

    Attributes:
        scenario: The scenario run.
        head: The line under the title: topology, seed, broker, clock.
        passed: Whether every expectation held.
        verdict: The same, in words.
        evidence: How the run's files are signed (or that they are not).
        tables: Each table by its key in :data:`TABLES` (``None``: nothing to show).
        grid: Who knew what, when.
    """

    scenario: Scenario
    head: str
    passed: bool
    verdict: str
    evidence: str
    tables: dict[str, Table | None]
    grid: KnowledgeGrid


def _fmt(table: dict[str, Any], key: str) -> str:
    value = table.get(key)
    return f"{value:.2f}" if isinstance(value, float | int) else "-"


def _latency_rows(section: dict[str, dict[str, Any]]) -> list[list[str]]:
    rows = []
    for name, table in section.items():
        measured = table.get("measured", {})
        modelled = table.get("modelled", {})
        cells = [_fmt(table, k) for k in ("p50", "p90", "p99", "p999", "max")]
        rows.append(
            [name, str(table.get("count", 0)), *cells, _fmt(measured, "p99"), _fmt(modelled, "p99")]
        )
    return rows


def scenario_latency_rows(summary: dict[str, Any], scenario: Scenario) -> list[list[str]]:
    """Delivery latencies in scenario time, for exercises (a paced or paused clock); else none.

    A row overall, then one per message kind: spans as people say them (``45 s``, ``12 min``).
    """
    section = summary.get("latency_scenario_s")
    if section is None or (scenario.speed == 1 and not scenario.players):
        return []
    rows = []
    for name, table in {"all": section["overall"], **section["by_kind"]}.items():
        if not table.get("count"):
            continue
        spans = [span_label(table[k]) for k in ("p50", "p90", "p99", "max")]
        rows.append([name, str(table["count"]), *spans])
    return rows


def deadline_table(deadlines: list[dict[str, Any]], duration_s: float) -> list[list[str]]:
    """Rows of the deadline table, from ``summary.json``'s ``deadlines``."""
    return [
        [
            d["name"],
            d["kind"],
            ", ".join(d["owed_by"]),
            when(d["opened_s"], duration_s),
            when(d["due_s"], duration_s),
            when(d["answered_s"], duration_s),
            _deadline_state(d),
        ]
        for d in deadlines
    ]


def _deadline_state(d: dict[str, Any]) -> str:
    if d["state"] not in ("missed", "late", "open"):
        return str(d["state"])
    waiting = f" (no answer from {', '.join(d['waiting_for'])})" if d["waiting_for"] else ""
    return str(d["state"]).upper() + waiting


def grid_rows(grid: KnowledgeGrid, duration_s: float) -> list[list[str]]:
    """The grid as text rows: a bureau, then per message how it ended and when.

    A blank is a message that was not for that bureau.
    """
    rows = []
    for bureau in grid.bureaus:
        row = [bureau]
        for name in grid.messages:
            cell = grid.cells.get((bureau, name))
            if cell is None:
                row.append("")
            elif cell.t_s is None:
                row.append(CELL_WORDS[cell.state])
            else:
                row.append(f"{CELL_WORDS[cell.state]} {when(cell.t_s, duration_s)}")
        rows.append(row)
    return rows


def _or_none(head: list[str], rows: list[list[str]]) -> Table | None:
    return Table(head, rows) if rows else None


def _expectations(i: ReportInput) -> Table:
    return Table(
        ["expectation", "result", "detail"], [[e.name, e.verdict, e.detail] for e in i.expectations]
    )


def _timeline(i: ReportInput) -> Table:
    rows = [
        [when(e.t_s, i.duration), e.kind, e.bureau, e.detail or ""]
        for e in i.result.events
        if e.kind in TIMELINE_KINDS
    ]
    return Table(["t", "what", "where", "detail"], rows or [["-", "-", "-", "-"]])


def _notices(i: ReportInput) -> Table | None:
    """Each notice request (by its inject's name) and the states its lifecycle went through."""
    paths: dict[str, list[str]] = {}
    for e in i.result.events:
        if isinstance(e, Lifecycle) and e.message_id:
            state = f"{e.state} ({when(e.t_s, i.duration)})"
            paths.setdefault(e.message_id, ["draft"]).append(state)
    injected = {e.message_id: e.name for e in i.result.events if isinstance(e, Inject) and e.name}
    rows = [[injected.get(mid) or mid[:8], " → ".join(states)] for mid, states in paths.items()]
    return _or_none(["request", "lifecycle"], rows)


def _deadlines(i: ReportInput) -> Table | None:
    return _or_none(DEADLINE_HEAD, deadline_table(i.summary["deadlines"], i.duration))


def _grid(i: ReportInput) -> Table | None:
    if not i.grid.messages:
        return None
    return Table(["bureau", *i.grid.messages], grid_rows(i.grid, i.duration))


def _breaches(i: ReportInput) -> Table | None:
    rows = [
        [when(b["t_s"], i.duration), b["bureau"], b["rule"] or "", b["detail"] or ""]
        for b in i.summary["breaches"]
    ]
    return _or_none(BREACH_HEAD, rows)


def _deliveries(i: ReportInput) -> Table:
    rows = [
        [FIGURE_NAMES.get(k, k.replace("_", " ")), str(v)]
        for k, v in i.summary["messages"].items()
        if not isinstance(v, dict)
    ]
    return Table(["", "count"], rows)


def _counts(section: dict[str, Any]) -> list[list[str]]:
    return [[k, str(v)] for k, v in section.items()]


def _rejections(i: ReportInput) -> Table:
    return Table(["reason", "count"], _counts(i.summary["messages"]["rejected"]) or [["none", "0"]])


def _rejection_details(i: ReportInput) -> Table | None:
    rows = [
        [when(e.t_s, i.duration), e.bureau, e.reason or "", e.peer or "", (e.detail or "")[:400]]
        for e in i.result.events
        if e.kind == "rejected" and e.reason != "duplicate"
    ][:50]
    return _or_none(REJECTION_HEAD, rows)


def _shed(i: ReportInput) -> Table:
    return Table(["reason", "count"], _counts(i.summary["messages"]["shed"]) or [["none", "0"]])


def _shed_where(i: ReportInput) -> Table | None:
    return _or_none(["bureau", "shed"], _counts(i.summary["messages"]["shed_by_bureau"]))


def _latency_scenario(i: ReportInput) -> Table | None:
    return _or_none(SCENARIO_LAT_HEAD, scenario_latency_rows(i.summary, i.result.scenario))


def _latency(part: str) -> Callable[[ReportInput], Table]:
    def table(i: ReportInput) -> Table:
        latency = i.summary["latency_ms"]
        section = {"all": latency["overall"]} if part == "overall" else latency[part]
        return Table(LAT_HEAD, _latency_rows(section))

    return table


def _routes(i: ReportInput) -> Table:
    return Table(["", ""], _counts(i.summary["routes"]))


TABLES: dict[str, Callable[[ReportInput], Table | None]] = {
    "expectations": _expectations,
    "timeline": _timeline,
    "notices": _notices,
    "deadlines": _deadlines,
    "grid": _grid,
    "breaches": _breaches,
    "deliveries": _deliveries,
    "rejections": _rejections,
    "rejection_details": _rejection_details,
    "shed": _shed,
    "shed_where": _shed_where,
    "latency_scenario": _latency_scenario,
    "latency_overall": _latency("overall"),
    "latency_by_kind": _latency("by_kind"),
    "latency_by_route": _latency("by_route_class"),
    "routes": _routes,
}
"""Every table of a report, by key, each built by its own function."""


def _head(result: RunResult, summary: dict[str, Any]) -> str:
    clock = (
        "time. Simulated on the virtual clock: every latency is modelled (WAN delay, the "
        "bureaus' service times and their queues), the same on every run of this seed."
        if result.clock == "virtual"
        else "time. Latencies are real milliseconds; the modelled WAN part is shown apart."
    )
    if result.crypto == "modelled":
        clock += (
            " Cryptography modelled: envelopes checked by keyed digests, not signed or "
            "encrypted (its cost is charged by the service-time model as for the real one)."
        )
    return (
        f"Topology `{result.topology}`, seed {result.seed}, {summary['bureaus']} bureaus, "
        f"broker {result.broker_kind} {result.broker_version}, {summary['wall_s']} s wall " + clock
    )


def _evidence(summary: dict[str, Any], out_name: str) -> str:
    recorded = summary.get("evidence")
    if not recorded:
        return "This run was not signed."
    return (
        "The event log (hash-chained), `summary.json`, `scenario.json` and every file of this "
        "report (tables, pictures, pages) are signed in "
        f"`events.sig` by the run's General Secretariat root, certificate fingerprint "
        f"(SHA-256) `{recorded['signer_fingerprint']}`. Keep this fingerprint: "
        f"`bureaunet verify-log {out_name} --fingerprint FINGERPRINT` checks the files against "
        "it (or `--root root.crt.pem` of the PKI the run used)."
    )


def build_report(
    result: RunResult,
    summary: dict[str, Any],
    expectations: list[ExpectationResult],
    out_name: str,
) -> ReportModel:
    """The report of a run (``out_name``: the report directory, as the reader is told it)."""
    built = ReportInput(result, summary, expectations, knowledge_grid(result))
    passed = all(e.passed for e in expectations)
    return ReportModel(
        scenario=result.scenario,
        head=_head(result, summary),
        passed=passed,
        verdict="all expectations passed" if passed else "SOME EXPECTATIONS FAILED",
        evidence=_evidence(summary, out_name),
        tables={key: make(built) for key, make in TABLES.items()},
        grid=built.grid,
    )
