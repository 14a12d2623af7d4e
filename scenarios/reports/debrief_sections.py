"""The debrief's sections: each slot of its template filled by a small function of its own.

A section reads the run as the debrief read it (:class:`RunRead`): the summary, the events, the
scenario, and the verdict on their evidence (a picture or a table the manifest does not cover
is left out when the evidence does not verify).
"""

from __future__ import annotations

import base64
import csv
import html
import io
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bureaus.events import Event
from scenarios.exercise.deadlines import span_label, when
from scenarios.model import Scenario
from scenarios.reports.debrief_events import (
    EventsRead,
    activity,
    lesson_answers,
    named_bureaus,
    timeline,
)
from scenarios.reports.evidence import (
    LogVerdict,
    read_run_file,
)
from scenarios.reports.report_model import (
    BREACH_HEAD,
    DEADLINE_HEAD,
    deadline_table,
)
from scenarios.reports.review import CELL_WORDS, GRID_COLUMNS
from scenarios.reports.safety import from_spreadsheet_cell


def _covered(run_dir: Path, name: str, verdict: LogVerdict) -> bytes | None:
    """A file the page shows, only when the run's signed manifest names it (else ``None``).

    What no signature covers is not shown: an edited table or picture beside a verified log
    would otherwise be shown as the run's.
    """
    if name not in verdict.covered:
        return None
    try:
        return read_run_file(run_dir / name)
    except OSError:
        return None


def _table(head: list[str] | None, rows: list[list[str]], classes: list[str] | None = None) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head or [])
    body = []
    for index, row in enumerate(rows):
        css = f' class="{classes[index]}"' if classes and classes[index] else ""
        cells = "".join(f"<td>{html.escape(str(c))}</td>" for c in row)
        body.append(f"<tr{css}>{cells}</tr>")
    thead = f"<thead><tr>{th}</tr></thead>" if th else ""
    return f"<table>{thead}<tbody>{''.join(body)}</tbody></table>"


def _deliveries(run_dir: Path, verdict: LogVerdict) -> list[dict[str, str]]:
    """The rows of ``deliveries.csv``, when the signature covers it.

    Spreadsheet-safe cells are read back as the text they were written from.
    """
    raw = _covered(run_dir, "deliveries.csv", verdict)
    if raw is None:
        return []
    try:
        lines = list(csv.DictReader(io.StringIO(raw.decode("utf-8"), newline="")))
    except (csv.Error, UnicodeDecodeError):
        return []
    return [{k: from_spreadsheet_cell(v or "") for k, v in line.items() if k} for line in lines]


def _scores(
    run_dir: Path, summary: dict[str, Any], scenario: Scenario | None, verdict: LogVerdict
) -> str:
    """How each bureau did with what it was sent: answered in time, late, not at all, breaches.

    Players (bureaus played by people) first. Kept apart from the Outcome, which says whether the
    scenario behaved as designed.
    """
    lines = _deliveries(run_dir, verdict)
    players = set(scenario.players) if scenario is not None else set()
    tally: dict[str, Counter[str]] = defaultdict(Counter)
    for line in lines:
        tally[line["bureau"]][line["state"]] += 1
    for breach in summary.get("breaches", []):
        tally[breach["bureau"]]["breach"] += 1
    if not tally:
        return ""
    order = sorted(tally, key=lambda b: (b not in players, b))
    rows = [
        [
            bureau,
            "played" if bureau in players else "simulated",
            str(tally[bureau]["acknowledged"]),
            str(tally[bureau]["late"]),
            str(tally[bureau]["overdue"]),
            str(tally[bureau]["received"]),
            str(tally[bureau]["missing"] + tally[bureau]["blocked"]),
            str(tally[bureau]["breach"]),
        ]
        for bureau in order
    ]
    classes = [
        "bad" if any(int(r[k]) for k in (3, 4, 5, 7)) else "" for r in rows
    ]  # anything late, overdue, unanswered or breached stands out
    head = [
        "bureau",
        "by",
        "answered in time",
        "late",
        "overdue, never answered",
        "received, not answered",
        "never got it",
        "caveat breaches",
    ]
    return (
        "<h2>How each bureau did</h2><p>The scripted messages each bureau was sent, and what it "
        "did with them; the bureaus played by people first. This is about the bureaus; whether "
        "the scenario itself behaved as designed is the Outcome above.</p>"
        + _table(head, rows, classes)
    )


def _grid(run_dir: Path, duration: float, verdict: LogVerdict) -> str:
    """Who knew what, when: from the report's signed ``deliveries.csv`` (else nothing)."""
    lines = _deliveries(run_dir, verdict)
    messages = list(dict.fromkeys(line["message"] for line in lines))
    bureaus = sorted({line["bureau"] for line in lines}, key=lambda b: (b != "gs", b))
    cells = {(line["bureau"], line["message"]): line for line in lines}
    tables = []
    for start in range(0, len(messages), GRID_COLUMNS):
        chunk = messages[start : start + GRID_COLUMNS]
        head = "".join(f"<th>{html.escape(m)}</th>" for m in ("bureau", *chunk))
        body = []
        for bureau in bureaus:
            row = [f"<th>{html.escape(bureau)}</th>"]
            for message in chunk:
                line = cells.get((bureau, message))
                if line is None:
                    row.append('<td class="cell-none"></td>')
                    continue
                state = line["state"] if line["state"] in CELL_WORDS else "missing"
                t = (
                    line["acknowledged_s"]
                    or line["delivered_s"]
                    or (line["due_s"] if state == "overdue" else "")
                )
                moment = when(float(t), duration) if t else ""
                row.append(
                    f'<td class="cell-{state}">{CELL_WORDS[state]}<br>{html.escape(moment)}</td>'
                )
            body.append("<tr>" + "".join(row) + "</tr>")
        tables.append(
            f'<table class="knowledge"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>"
        )
    if not tables:
        return ""
    return (
        "<h2>Who knew what, when</h2><p>Each scripted message at each bureau it was for or that "
        "owed an answer: ack, received (never acknowledged), LATE (answered after its "
        "deadline), OVERDUE (the deadline passed unanswered), BLOCKED (a forward refused under "
        "its caveats) or MISSING, with the scenario time.</p>" + "".join(tables)
    )


def _latency_figure(summary: dict[str, Any], overall: dict[str, Any]) -> list[str]:
    """The debrief's latency line: in scenario time when the run kept it (live runs).

    Otherwise as measured: simulated milliseconds are scenario time already.
    """
    lived = summary.get("latency_scenario_s", {}).get("overall", {})
    if lived.get("count"):
        return [
            "latency p50 / p99 (scenario time)",
            f"{span_label(lived['p50'])} / {span_label(lived['p99'])}",
        ]
    unit = "ms, simulated" if summary.get("clock") == "virtual" else "ms, real"
    return [f"latency p50 / p99 ({unit})", f"{overall.get('p50', '-')} / {overall.get('p99', '-')}"]


def _lessons(scenario: Scenario | None, events: list[Event]) -> str:
    """The planners' questions as a discussion page (a page of its own when printed).

    Under each question, what the players answered on their pages.
    """
    if scenario is None or not scenario.lessons:
        return ""
    answers = lesson_answers(events)
    items = "".join(
        f"<li>{html.escape(q)}"
        + (
            '<ul class="answers">'
            + "".join(
                f"<li><strong>{html.escape(b)}</strong>: {html.escape(t)}</li>"
                for b, t in answers[n]
            )
            + "</ul>"
            if answers.get(n)
            else ""
        )
        + "</li>"
        for n, q in enumerate(scenario.lessons)
    )
    return (
        '<section class="lessons"><h2>For discussion</h2><p>The planners\' questions, to talk '
        "through with the outcome and the grid above in hand, with what the players answered on "
        f"their pages.</p><ol>{items}</ol></section>"
    )


def _img(run_dir: Path, name: str, alt: str, verdict: LogVerdict) -> str:
    raw = _covered(run_dir, name, verdict)
    if raw is None:
        return ""
    data = base64.b64encode(raw).decode("ascii")
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"></figure>'


@dataclass(frozen=True, slots=True)
class RunRead:
    """A run's directory as the debrief read it."""

    run_dir: Path
    summary: dict[str, Any]
    log: EventsRead
    scenario: Scenario | None
    verdict: LogVerdict

    @property
    def events(self) -> list[Event]:
        """The log's events, typed (lines that are no event left out: :attr:`EventsRead.unread`)."""
        return self.log.events

    @property
    def duration(self) -> float:
        """The scenario's length, seconds (0 when the scenario could not be read)."""
        return self.scenario.duration if self.scenario is not None else 0.0

    @property
    def expectations(self) -> list[dict[str, Any]]:
        """The expectations as the summary recorded them."""
        return list(self.summary.get("expectations", []))

    @property
    def deadlines(self) -> list[dict[str, Any]]:
        """The deadlines as the summary recorded them."""
        return list(self.summary.get("deadlines", []))

    def breach_rows(self) -> list[list[str]]:
        """The caveat breaches, one row each."""
        return [
            [when(b["t_s"], self.duration), b["bureau"], b["rule"] or "", b["detail"] or ""]
            for b in self.summary.get("breaches", [])
        ]


def _integrity(read: RunRead) -> str:
    """Whether the log and its evidence verify; and the lines that are no event, if any."""
    unread = read.log.unread
    if not unread:
        return _verdict(read)
    return _verdict(read) + (
        f'<p class="integrity altered"><strong>Left out:</strong> {unread} of the log\'s '
        f"{read.log.lines} lines are no event bureaunet writes (an unknown kind or field); "
        f"nothing on this page counts them.</p>"
    )


def _verdict(read: RunRead) -> str:
    verdict, run_dir = read.verdict, read.run_dir
    if verdict.intact:
        return (
            f'<p class="integrity ok">The event log this debrief is built from is intact: '
            f"{verdict.lines} lines, hash-chained, and signed with the summary, the scenario and "
            f"the report's tables and pictures by the run (certificate "
            f"{verdict.fingerprint[:16]}..., checked against {html.escape(verdict.expected)}). "
            f"Check it with <code>bureaunet verify-log {html.escape(str(run_dir))} "
            f"--fingerprint {verdict.fingerprint}</code>.</p>"
        )
    if verdict.ok:
        return (
            f'<p class="integrity unanchored"><strong>Not anchored:</strong> the event log '
            f"({verdict.lines} lines), the summary, the scenario and the report's tables and "
            f"pictures are consistent and signed by certificate <code>{verdict.fingerprint}"
            f"</code>, but nothing was given to check that signer against: whoever could edit "
            f"this directory could also have signed it. Compare this fingerprint with the one "
            f"you kept from the run, or make the debrief again with <code>--fingerprint</code>, "
            f"<code>--root</code> or <code>--pki</code>.</p>"
        )
    where = f" at line {verdict.first_bad_line}" if verdict.first_bad_line else ""
    return (
        f'<p class="integrity altered"><strong>Warning:</strong> the event log was altered '
        f"after the run{where}, or its evidence does not verify "
        f"({html.escape(verdict.reason)}). Do not rely on this debrief.</p>"
    )


def _started(events: list[Event]) -> str:
    if not events:
        return "unknown"
    return datetime.fromtimestamp(events[0].t_ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _facts(read: RunRead) -> str:
    summary, scenario = read.summary, read.scenario
    expectations, deadlines = read.expectations, read.deadlines
    passed = sum(1 for e in expectations if e["passed"])
    missed = sum(1 for d in deadlines if d["state"] in ("missed", "late"))
    speed = f"{scenario.speed:g}" if scenario is not None else "?"
    rows = [
        ["run started", _started(read.events)],
        ["bureaus", str(summary.get("bureaus", "?"))],
        ["topology", str(summary.get("topology", "?"))],
        ["scenario clock", f"{speed} scenario seconds per real second"],
        ["expectations passed", f"{passed} of {len(expectations)}"],
        ["deadlines missed", f"{missed} of {len(deadlines)}"],
        ["caveat breaches", str(len(read.breach_rows()))],
    ]
    return _table(None, rows).replace("<table>", '<table class="facts">', 1)


def _result(e: dict[str, Any]) -> str:
    if e["passed"]:
        return "PASS"
    return "FAIL" if e.get("reached", True) else "NOT REACHED"


def _outcome(read: RunRead) -> str:
    comments: dict[str, str] = {}
    if read.scenario is not None:
        comments = {e.label: e.comment for e in read.scenario.expect if e.comment}
    expectations = read.expectations
    rows = [[e["name"], _result(e), e["detail"], comments.get(e["name"], "")] for e in expectations]
    classes = ["pass" if e["passed"] else "fail" for e in expectations]
    return _table(["expectation", "result", "detail", "comment"], rows, classes)


def _bookmarks(read: RunRead) -> str:
    rows, classes = timeline(read.events, read.scenario, read.duration)
    marked = [r for r, c in zip(rows, classes, strict=True) if c == "bookmark"]
    return _table(["t", "what", "where", "detail"], marked) if marked else ""


def _timeline_table(read: RunRead) -> str:
    rows, classes = timeline(read.events, read.scenario, read.duration)
    return _table(["t", "what", "where", "detail"], rows, classes)


def _deadlines(read: RunRead) -> str:
    deadlines = read.deadlines
    rows = deadline_table(deadlines, read.duration)
    classes = ["bad" if d["state"] in ("missed", "late") else "" for d in deadlines]
    return _table(DEADLINE_HEAD, rows, classes) if rows else ""


def _breaches(read: RunRead) -> str:
    rows = read.breach_rows()
    return _table(BREACH_HEAD, rows, ["bad"] * len(rows)) if rows else ""


_ACTIVITY_HEAD = ["bureau", "received", "sent", "acknowledged", "forwarded", "breaches", "rejected"]


def _activity_table(read: RunRead) -> str:
    return _table(_ACTIVITY_HEAD, activity(read.events, named_bureaus(read.scenario)))


def _figures(read: RunRead) -> str:
    summary = read.summary
    messages = summary.get("messages", {})
    overall = summary.get("latency_ms", {}).get("overall", {})
    routes = summary.get("routes", {})
    sent, delivered = messages.get("sent", 0), messages.get("delivered", 0)
    busiest = f"{routes.get('busiest_bureau')} ({routes.get('messages_through_busiest')})"
    rows = [
        ["messages sent / delivered", f"{sent} / {delivered}"],
        ["lost", str(messages.get("lost", 0))],
        ["duplicates (benign resends, answered again)", str(messages.get("duplicates", 0))],
        ["rejected (hostile or broken)", str(sum(messages.get("rejected", {}).values()))],
        _latency_figure(summary, overall),
        ["mean hops", str(routes.get("mean_hops", "-"))],
        ["busiest bureau", busiest],
    ]
    return _table(["figure", "value"], rows)


def _image(name: str, alt: str) -> Callable[[RunRead], str]:
    def section(read: RunRead) -> str:
        return _img(read.run_dir, name, alt, read.verdict)

    return section


SECTIONS: dict[str, Callable[[RunRead], str]] = {
    "facts": _facts,
    "integrity": _integrity,
    "outcome": _outcome,
    "bookmarks": _bookmarks,
    "timeline": _timeline_table,
    "timeline_image": _image("timeline.png", "deliveries over scenario time"),
    "deadlines": _deadlines,
    "breaches": _breaches,
    "scores": lambda read: _scores(read.run_dir, read.summary, read.scenario, read.verdict),
    "grid": lambda read: _grid(read.run_dir, read.duration, read.verdict),
    "lessons": lambda read: _lessons(read.scenario, read.events),
    "activity": _activity_table,
    "figures": _figures,
    "latency_image": _image("latency-by-kind.png", "latency by message kind"),
    "map_image": _image("map.png", "bureaus and traffic"),
}
"""Each slot of the debrief template, and the function that fills it."""
