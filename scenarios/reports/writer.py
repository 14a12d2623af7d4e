"""Reports of a run: summary.json, events.jsonl, report.md and a self-contained report.html.

Plots (:mod:`scenarios.reports.plots`) are embedded in the HTML as PNG data, so the page opens
from disk with nothing else; the Markdown report links the same PNG files.

Why one long module: the report files of one run are written together from one summary,
and each table of the Markdown and the HTML stays beside its twin.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

from bureaus.events import Lifecycle
from scenarios.events import Inject
from scenarios.exercise.deadlines import span_label, when
from scenarios.model import Scenario
from scenarios.reports.evidence import COVERED, chained_lines, fingerprint_of, sign_log
from scenarios.reports.grid import KnowledgeGrid, knowledge_grid, write_csv
from scenarios.reports.metrics import ExpectationResult
from scenarios.reports.plots import latency_plot, map_plot, map_svg, timeline_plot
from scenarios.reports.review import (
    CELL_WORDS,
    REVIEW_SCRIPT,
    grid_html,
    links_json,
    messages_html,
    slider_html,
)
from scenarios.reports.safety import markdown_text, write_run_file
from scenarios.reports.templating import html_part, render
from scenarios.results import RunResult

__all__ = ["REPORT_STYLE", "write_report"]


def _fmt(table: dict[str, Any], key: str) -> str:
    value = table.get(key)
    return f"{value:.2f}" if isinstance(value, float | int) else "-"


def _latency_rows(section: dict[str, dict[str, Any]]) -> list[list[str]]:
    rows = []
    for name, table in section.items():
        measured = table.get("measured", {})
        modelled = table.get("modelled", {})
        rows.append(
            [
                name,
                str(table.get("count", 0)),
                _fmt(table, "p50"),
                _fmt(table, "p90"),
                _fmt(table, "p99"),
                _fmt(table, "p999"),
                _fmt(table, "max"),
                _fmt(measured, "p99"),
                _fmt(modelled, "p99"),
            ]
        )
    return rows


_LAT_HEAD = ["", "n", "p50", "p90", "p99", "p99.9", "max", "measured p99", "modelled p99"]
_SCENARIO_LAT_HEAD = ["", "n", "p50", "p90", "p99", "max"]


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


def _md_table(head: list[str], rows: list[list[str]]) -> str:
    # every cell is text: a name written by anyone stays one cell and never becomes HTML
    lines = ["| " + " | ".join(map(markdown_text, head)) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(map(markdown_text, r)) + " |" for r in rows]
    return "\n".join(lines)


def _html_table(head: list[str], rows: list[list[str]]) -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


TIMELINE_KINDS = frozenset({"inject", "fault", "control", "deadline", "breach"})
"""The events a trainer reads as the story of a run."""
_FIGURE_NAMES = {
    "sent": "messages sent",
    "expected_deliveries": "deliveries owed (a message to five bureaus owes five)",
    "delivered": "delivered",
    "acknowledged": "acknowledged",
    "duplicates": "duplicate copies (resends, answered again)",
    "lost": "lost",
    "still_owed_at_end": "still being resent when the run ended",
}
"""How the summary's figures are named for people."""

_REJECTION_HEAD = ["t", "bureau", "reason", "claimed sender", "detail"]
DEADLINE_HEAD = ["request", "owed", "by", "opened", "due", "answered", "state"]
BREACH_HEAD = ["t", "bureau", "caveat", "what happened"]


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
            d["state"].upper()
            + (f" (no answer from {', '.join(d['waiting_for'])})" if d["waiting_for"] else "")
            if d["state"] in ("missed", "late", "open")
            else d["state"],
        ]
        for d in deadlines
    ]


REPORT_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: left; font-size: 0.9rem; }
th { background: #f3f3f3; }
img { max-width: 100%; }
.pass { color: #1a7f37; font-weight: bold; } .fail { color: #c62828; font-weight: bold; }
table { display: block; max-width: 100%; overflow-x: auto; }
table.knowledge td { white-space: pre-line; font-size: 0.8rem; }
table.knowledge th { overflow-wrap: anywhere; }
.cell-acknowledged { background: #e3f4e8; } .cell-received { background: #eef4fb; }
.cell-late { background: #fff1cc; font-weight: bold; } .cell-waiting { color: #888; }
.cell-overdue, .cell-blocked, .cell-missing { background: #fbe3e3; color: #a61b1b;
  font-weight: bold; }
tr.future { display: none; }
.review { position: sticky; top: 0; background: #fff; padding: 0.4rem 0; z-index: 1; }
.review input[type=range] { width: 60%; vertical-align: middle; }
.map svg { max-width: 100%; height: auto; }
"""
"""The report's stylesheet (the comparison page uses it too)."""


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


def _map_html(result: RunResult) -> str:
    """The map, inline, with the times its arrows first happened (for the slider)."""
    return (
        '<div class="map" role="img" aria-label="bureaus and traffic">'
        + map_svg(result)
        + "</div>"
        + links_json(result)
    )


def _notice_rows(result: RunResult, duration: float) -> list[list[str]]:
    """Each notice request (by its inject's name) and the states its lifecycle went through."""
    paths: dict[str, list[str]] = {}
    for e in result.events:
        if isinstance(e, Lifecycle) and e.message_id:
            paths.setdefault(e.message_id, ["draft"]).append(f"{e.state} ({when(e.t_s, duration)})")
    injected = {e.message_id: e.name for e in result.events if isinstance(e, Inject) and e.name}
    return [[injected.get(mid) or mid[:8], " → ".join(states)] for mid, states in paths.items()]


_SHOWN = (
    "latency-by-kind.png",
    "latency-by-route.png",
    "timeline.png",
    "map.png",
    "deliveries.csv",
    "deadlines.csv",
    "breaches.csv",
    "report.md",
    "report.html",
)
"""The files people read or are shown, signed byte for byte in the run's manifest."""


def write_report(
    result: RunResult, summary: dict[str, Any], expectations: list[ExpectationResult], out: Path
) -> None:
    """Write the four report files (and the plots as PNG files) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    full = {**summary, "expectations": [e.__dict__ for e in expectations]}
    signer = result.signing_certificate
    if signer is not None:
        # what verify-log checks the signer against by default, and what the report shows
        full["evidence"] = {
            "signer_fingerprint": fingerprint_of(signer),
            "signed": ["events.jsonl", *COVERED, *_SHOWN],
        }
    write_run_file(out / "summary.json", json.dumps(full, indent=2) + "\n")
    write_run_file(
        out / "scenario.json", result.scenario.model_dump_json(by_alias=True, indent=2) + "\n"
    )
    last, count = "0" * 64, 0
    log: list[str] = []
    for line, chain in chained_lines(e.as_dict() for e in result.events):
        log.append(line + "\n")
        last, count = chain, count + 1
    write_run_file(out / "events.jsonl", "".join(log))
    shown = _write_pages(result, full, expectations, out)
    if result.signing_key is not None and signer is not None:
        # signed last, over every file written: what people read is covered too
        signature = sign_log(out, last, count, result.signing_key, signer, raw=shown)
        write_run_file(out / "events.sig", json.dumps(signature, indent=1) + "\n")


def _write_pages(
    result: RunResult, full: dict[str, Any], expectations: list[ExpectationResult], out: Path
) -> list[str]:
    """The files people read (pictures, tables, report.md, report.html); their names."""
    summary = full
    deliveries = [e for e in result.events if e.kind == "delivered"]
    plots = {
        "latency-by-kind.png": latency_plot(deliveries, "kind"),
        "latency-by-route.png": latency_plot(deliveries, "route"),
        "timeline.png": timeline_plot(result),
        "map.png": map_plot(result),
    }
    for name, data in plots.items():
        write_run_file(out / name, data)
    scenario = result.scenario
    messages = summary["messages"]
    recorded = full.get("evidence")
    evidence = (
        "The event log (hash-chained), `summary.json`, `scenario.json` and every file of this "
        "report (tables, pictures, pages) are signed in "
        f"`events.sig` by the run's General Secretariat root, certificate fingerprint "
        f"(SHA-256) `{recorded['signer_fingerprint']}`. Keep this fingerprint: "
        f"`bureaunet verify-log {out} --fingerprint FINGERPRINT` checks the files against it "
        "(or `--root root.crt.pem` of the PKI the run used)."
        if recorded
        else "This run was not signed."
    )
    delivery_rows = [
        [_FIGURE_NAMES.get(k, k.replace("_", " ")), str(v)]
        for k, v in messages.items()
        if not isinstance(v, dict)
    ]
    rejection_rows = [[k, str(v)] for k, v in messages["rejected"].items()] or [["none", "0"]]
    shed_rows = [[k, str(v)] for k, v in messages["shed"].items()] or [["none", "0"]]
    shed_where = [[k, str(v)] for k, v in messages["shed_by_bureau"].items()]
    duration = result.scenario.duration
    rejection_details = [
        [when(e.t_s, duration), e.bureau, e.reason or "", e.peer or "", (e.detail or "")[:400]]
        for e in result.events
        if e.kind == "rejected" and e.reason != "duplicate"
    ][:50]
    notice_rows = _notice_rows(result, duration)
    expect_rows = [[e.name, e.verdict, e.detail] for e in expectations]
    timeline_rows = [
        [when(e.t_s, duration), e.kind, e.bureau, e.detail or ""]
        for e in result.events
        if e.kind in TIMELINE_KINDS
    ]
    deadline_rows = deadline_table(summary["deadlines"], duration)
    grid = knowledge_grid(result)
    csv_files = write_csv(result, summary, out)
    grid_md = (
        [
            "## Who knew what, when",
            "",
            "Each scripted message (by inject name) at each bureau it was for or that owed an "
            "answer: ack, received (never acknowledged), LATE (answered after its response "
            "deadline), OVERDUE (the deadline passed unanswered), BLOCKED (a forward refused "
            "under its caveats) or MISSING, with the scenario time. The same as CSV: "
            + ", ".join(f"`{name}`" for name in csv_files)
            + ".",
            "",
            _md_table(["bureau", *grid.messages], grid_rows(grid, duration)),
            "",
        ]
        if grid.messages
        else []
    )
    breach_rows = [
        [when(b["t_s"], duration), b["bureau"], b["rule"] or "", b["detail"] or ""]
        for b in summary["breaches"]
    ]
    latency = summary["latency_ms"]
    scenario_rows = scenario_latency_rows(summary, scenario)
    verdict = (
        "all expectations passed"
        if all(e.passed for e in expectations)
        else "SOME EXPECTATIONS FAILED"
    )
    head = (
        f"Topology `{result.topology}`, seed {result.seed}, {summary['bureaus']} bureaus, "
        f"broker {result.broker_kind} {result.broker_version}, {summary['wall_s']} s wall "
        + (
            "time. Simulated on the virtual clock: every latency is modelled (WAN delay, the "
            "bureaus' service times and their queues), the same on every run of this seed."
            if result.clock == "virtual"
            else "time. Latencies are real milliseconds; the modelled WAN part is shown apart."
        )
    )
    md = [
        f"# {markdown_text(scenario.name)}",
        "",
        markdown_text(scenario.description.strip()),
        "",
        f"*What it teaches:* {markdown_text(scenario.teaches.strip())}" if scenario.teaches else "",
        "",
        head,
        "",
        f"**{verdict}**",
        "",
        "## Expectations",
        "",
        _md_table(["expectation", "result", "detail"], expect_rows),
        "",
        "## Timeline of injects, faults and the controller",
        "",
        _md_table(["t", "what", "where", "detail"], timeline_rows or [["-", "-", "-", "-"]]),
        "",
        "![timeline](timeline.png)",
        "",
        *(
            ["## Notices", "", _md_table(["request", "lifecycle"], notice_rows), ""]
            if notice_rows
            else []
        ),
        *(
            ["## Deadlines", "", _md_table(DEADLINE_HEAD, deadline_rows), ""]
            if deadline_rows
            else []
        ),
        *grid_md,
        *(
            ["## Caveat breaches", "", _md_table(BREACH_HEAD, breach_rows), ""]
            if breach_rows
            else []
        ),
        "## Deliveries",
        "",
        _md_table(["", "count"], delivery_rows),
        "",
        "## Rejections",
        "",
        _md_table(["reason", "count"], rejection_rows),
        "",
        *(
            [
                "Details (first 50):",
                "",
                _md_table(["t", "bureau", "reason", "claimed sender", "detail"], rejection_details),
                "",
            ]
            if rejection_details
            else []
        ),
        "## Shed traffic",
        "",
        _md_table(["reason", "count"], shed_rows),
        "",
        *(
            [
                "Where (the ten bureaus that shed most):",
                "",
                _md_table(["bureau", "shed"], shed_where),
                "",
            ]
            if shed_where
            else []
        ),
        *(
            [
                "## Latency in scenario time",
                "",
                "From the send to the delivery, on the exercise's clock (its pace and pauses).",
                "",
                _md_table(_SCENARIO_LAT_HEAD, scenario_rows),
                "",
            ]
            if scenario_rows
            else []
        ),
        "## Latency (ms)",
        "",
        "Overall:",
        "",
        _md_table(_LAT_HEAD, _latency_rows({"all": latency["overall"]})),
        "",
        "By message kind:",
        "",
        _md_table(_LAT_HEAD, _latency_rows(latency["by_kind"])),
        "",
        "![latency by kind](latency-by-kind.png)",
        "",
        "By route:",
        "",
        _md_table(_LAT_HEAD, _latency_rows(latency["by_route_class"])),
        "",
        "![latency by route](latency-by-route.png)",
        "",
        "## Routes and traffic",
        "",
        _md_table(["", ""], [[k, str(v)] for k, v in summary["routes"].items()]),
        "",
        "![map](map.png)",
        "",
        "## Evidence",
        "",
        evidence,
        "",
    ]
    write_run_file(out / "report.md", "\n".join(md))

    def img(name: str, alt: str) -> str:
        data = base64.b64encode(plots[name]).decode("ascii")
        return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'

    grid_section = (
        '<h2 id="grid">Who knew what, when</h2><p>Each scripted message at each bureau it was '
        "for (or that owed an answer), with the scenario time: ack, received (never "
        "acknowledged), LATE (answered after its deadline), OVERDUE (the deadline passed "
        "unanswered), BLOCKED (a forward refused under its caveats) or MISSING. The slider "
        "shows the map and the grid as they were at a moment; hover over a bureau on the map "
        "for its figures. As CSV: "
        + ", ".join(f'<a href="{name}">{name}</a>' for name in csv_files)
        + ".</p>"
        + slider_html(result, duration)
        + _map_html(result)
        + grid_html(grid, result, duration)
        if grid.messages
        else ""
    )
    part = html_part
    page = render(
        "report.html",
        {
            "name": scenario.name,
            "style": part(REPORT_STYLE),
            "description": scenario.description.strip(),
            "teaches": scenario.teaches.strip(),
            "head": head.replace("`", ""),
            "passed": verdict.startswith("all"),
            "verdict": verdict,
            "expectations": part(_html_table(["expectation", "result", "detail"], expect_rows)),
            "timeline": part(
                _html_table(
                    ["t", "what", "where", "detail"], timeline_rows or [["-", "-", "-", "-"]]
                )
            ),
            "timeline_image": part(img("timeline.png", "deliveries over time")),
            "notices": part(_html_table(["request", "lifecycle"], notice_rows))
            if notice_rows
            else "",
            "deadlines": part(_html_table(DEADLINE_HEAD, deadline_rows)) if deadline_rows else "",
            "grid": part(grid_section),
            "breaches": part(_html_table(BREACH_HEAD, breach_rows)) if breach_rows else "",
            "deliveries": part(_html_table(["", "count"], delivery_rows)),
            "rejections": part(_html_table(["reason", "count"], rejection_rows)),
            "rejection_details": part(
                _html_table(
                    ["t", "bureau", "reason", "claimed sender", "detail"], rejection_details
                )
                if rejection_details
                else ""
            ),
            "shed": part(_html_table(["reason", "count"], shed_rows)),
            "shed_where": part(_html_table(["bureau", "shed"], shed_where) if shed_where else ""),
            "latency_scenario": part(_html_table(_SCENARIO_LAT_HEAD, scenario_rows))
            if scenario_rows
            else "",
            "latency_overall": part(
                _html_table(_LAT_HEAD, _latency_rows({"all": latency["overall"]}))
            ),
            "latency_by_kind": part(_html_table(_LAT_HEAD, _latency_rows(latency["by_kind"]))),
            "latency_by_kind_image": part(img("latency-by-kind.png", "latency by message kind")),
            "latency_by_route": part(
                _html_table(_LAT_HEAD, _latency_rows(latency["by_route_class"]))
            ),
            "latency_by_route_image": part(img("latency-by-route.png", "latency by route")),
            "routes": part(
                _html_table(["", ""], [[k, str(v)] for k, v in summary["routes"].items()])
            ),
            "map_image": part("" if grid.messages else _map_html(result)),
            "messages": part(messages_html(result, duration)),
            "evidence": evidence.replace("`", ""),
            "review_script": part(REVIEW_SCRIPT),
        },
    )
    write_run_file(out / "report.html", page)
    written = [*plots, *csv_files, "report.md", "report.html"]
    assert sorted(written) == sorted(_SHOWN), written  # the summary names what is signed
    return written
