"""The debrief: a printable page for players who have no access to the tool.

``write_debrief(run_dir)`` reads what a run left in its report directory (``summary.json``,
the hash-chained ``events.jsonl`` with ``events.sig``, ``scenario.json`` and the plots), checks the
log first, and writes ``debrief.html``: a self-contained page with print styles, and
``debrief.pdf`` beside it when a headless Chromium is installed. Everything in it comes from the
signed log and the summary, so the page states whether the log it was built from is intact.

Sections: the outcome (expectations with the planners' comments), the timeline (injects with
their comments, faults, deadlines, caveat breaches, the controller's actions and bookmarks), the
deadlines, the breaches, how each bureau did, who knew what when, the planners' questions, what
each bureau received and did, and the latency and routing figures with plots. The page itself
comes from a template (``templates/debrief.html``) that an organisation can replace.

Why one long module: every section of the handout is built here from the same few files of the
run directory, in the order the page shows them, each beside the reading of its file.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import shutil
import subprocess
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509

from scenarios.errors import ScenarioLayerError
from scenarios.exercise.deadlines import span_label, when
from scenarios.model import Scenario, bureau_references
from scenarios.reports.evidence import (
    LogVerdict,
    RunFileError,
    open_run_file,
    read_run_file,
    verify_log,
)
from scenarios.reports.review import CELL_WORDS, GRID_COLUMNS
from scenarios.reports.safety import from_spreadsheet_cell, write_run_file
from scenarios.reports.templating import html_part, render
from scenarios.reports.writer import BREACH_HEAD, DEADLINE_HEAD, TIMELINE_KINDS, deadline_table

__all__ = ["DebriefError", "DebriefFiles", "chromium", "write_debrief"]


class DebriefError(ScenarioLayerError):
    """A run directory that cannot be debriefed (missing or unreadable files): one line."""


@dataclass(frozen=True)
class DebriefFiles:
    """What ``write_debrief`` wrote, and the state of the log it read."""

    html: Path
    pdf: Path | None
    verdict: LogVerdict


def chromium() -> str | None:
    """A headless-capable Chromium on this machine, if any."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _read(run_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]], Scenario | None]:
    if not run_dir.is_dir():
        raise DebriefError(f"{run_dir} is not a run directory")
    try:
        summary = json.loads(read_run_file(run_dir / "summary.json"))
        with open_run_file(run_dir / "events.jsonl") as handle:
            events = [json.loads(line) for line in handle if line.strip()]
    except RunFileError as exc:
        raise DebriefError(f"{run_dir} is not a run directory bureaunet wrote: {exc}") from None
    except (OSError, ValueError) as exc:
        raise DebriefError(f"cannot read the run in {run_dir}: {exc}") from None
    if not isinstance(summary, dict) or not all(isinstance(e, dict) for e in events):
        raise DebriefError(f"{run_dir}: summary.json or events.jsonl is not what a run writes")
    scenario = None
    try:
        scenario = Scenario.model_validate_json(read_run_file(run_dir / "scenario.json"))
    except (OSError, ValueError):
        scenario = None  # the debrief can do without the planners' comments
    return summary, events, scenario


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


def _lessons(scenario: Scenario | None, events: list[dict[str, Any]]) -> str:
    """The planners' questions as a discussion page (a page of its own when printed).

    Under each question, what the players answered on their pages.
    """
    if scenario is None or not scenario.lessons:
        return ""
    answers: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for e in events:
        detail = str(e.get("detail") or "")
        if (
            e.get("kind") == "control"
            and e.get("action") == "lesson"
            and detail.startswith("lesson ")
        ):
            number, _, text = detail.removeprefix("lesson ").partition(": ")
            if number.isdigit():
                answers[int(number) - 1].append((str(e.get("bureau", "")), text))
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


def _named_bureaus(scenario: Scenario | None) -> list[str]:
    """Bureaus the script names (they get a row each in the activity table)."""
    if scenario is None:
        return []
    names: list[str] = list(scenario.players)
    for where, name in bureau_references(scenario):
        scripted = where[0] in ("injects", "deck") or (
            where[0] == "faults" and where[2] != "compromised"
        )
        if scripted and name != "all-ncbs" and ":" not in name:
            names.append(name)
    return list(dict.fromkeys(names))


def _activity(events: list[dict[str, Any]], named: list[str]) -> list[list[str]]:
    received: dict[str, Counter[str]] = defaultdict(Counter)
    did: dict[str, Counter[str]] = defaultdict(Counter)
    for e in events:
        bureau, kind = e.get("bureau", "?"), e.get("kind")
        message_kind = e.get("message_kind") or "?"
        if kind == "delivered" and message_kind != "acknowledgement":
            received[bureau][message_kind] += 1
        elif kind == "sent":
            did[bureau]["acknowledged" if message_kind == "acknowledgement" else "sent"] += 1
        elif kind == "hop" and e.get("via") == "forward":
            did[bureau]["forwarded"] += 1
        elif kind == "breach" or (kind == "rejected" and e.get("reason") != "duplicate"):
            did[bureau][kind] += 1

    def row(label: str, bureaus: list[str]) -> list[str]:
        got: Counter[str] = Counter()
        done: Counter[str] = Counter()
        for b in bureaus:
            got.update(received.get(b, Counter()))
            done.update(did.get(b, Counter()))
        return [
            label,
            ", ".join(f"{n} {k}" for k, n in sorted(got.items())) or "-",
            str(done["sent"]),
            str(done["acknowledged"]),
            str(done["forwarded"]),
            str(done["breach"]),
            str(done["rejected"]),
        ]

    everyone = sorted(set(received) | set(did) - {"controller", "broker"})
    rows = [row(b, [b]) for b in named if b in everyone]
    others = [b for b in everyone if b not in named and "," not in b]
    if others:
        rows.append(row(f"{len(others)} other bureaus", others))
    return rows


def _img(run_dir: Path, name: str, alt: str, verdict: LogVerdict) -> str:
    raw = _covered(run_dir, name, verdict)
    if raw is None:
        return ""
    data = base64.b64encode(raw).decode("ascii")
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"></figure>'


def _timeline(
    events: list[dict[str, Any]], scenario: Scenario | None, duration: float
) -> tuple[list[list[str]], list[str]]:
    comments: dict[str, str] = {}
    if scenario is not None:
        for inject in (*scenario.injects, *scenario.deck):
            if inject.name and inject.comment:
                comments[inject.name] = inject.comment
    rows, classes = [], []
    for e in events:
        kind = e.get("kind")
        if kind not in TIMELINE_KINDS:
            continue
        detail = e.get("detail") or ""
        name = e.get("name") or ""
        if kind == "inject" and name in comments:
            detail = f"{detail} - {comments[name]}"
        css = ""
        if kind == "control" and e.get("action") == "bookmark":
            css = "bookmark"
        elif kind == "breach" or (kind == "deadline" and e.get("reason") in ("missed", "late")):
            css = "bad"
        rows.append([when(e.get("t_s", 0.0), duration), kind or "", e.get("bureau", ""), detail])
        classes.append(css)
    return rows, classes


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 62rem; margin: 2rem auto; padding: 0 1rem;
       color: #1d1d1d; line-height: 1.4; }
h1 { margin-bottom: 0.2rem; } h2 { border-bottom: 2px solid #ddd; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; margin: 0.5rem 0 1rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; font-size: 0.88rem;
         vertical-align: top; }
th { background: #f1f1f1; }
tr.bad td { background: #fdecea; } tr.bookmark td { background: #fff8d6; font-weight: bold; }
tr.pass td:nth-child(2) { color: #1a7f37; font-weight: bold; }
tr.fail td:nth-child(2) { color: #c62828; font-weight: bold; }
.integrity { padding: 0.5rem 0.8rem; border-radius: 4px; }
.integrity.ok { background: #e8f5e9; } .integrity.altered { background: #fdecea; }
.integrity.unanchored { background: #fff8e1; }
figure { margin: 0.5rem 0; } img { max-width: 100%; }
.facts td:first-child { width: 16rem; }
.lessons li { margin: 0.6rem 0 1.6rem; }
@media print { .lessons { break-before: page; } }
table.knowledge td, table.knowledge th { font-size: 0.8rem; text-align: center; }
td.cell-acknowledged { background: #e3f4e8; } td.cell-received { background: #eef4fb; }
td.cell-late { background: #fff1cc; font-weight: bold; }
td.cell-overdue, td.cell-blocked, td.cell-missing { background: #fbe3e3; color: #a61b1b;
  font-weight: bold; }
@page { size: A4; margin: 15mm; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  h2 { break-after: avoid; } table, figure { break-inside: auto; } tr { break-inside: avoid; }
  figure { break-inside: avoid; }
}
"""


def write_debrief(
    run_dir: Path,
    *,
    pdf: bool | None = None,
    root: x509.Certificate | None = None,
    fingerprint: str | None = None,
    templates: Path | None = None,
) -> DebriefFiles:
    """Write ``debrief.html`` (and ``debrief.pdf``) into ``run_dir``.

    The page calls the run intact only when the log, the summary, the scenario and the signer
    verify (:func:`~scenarios.reports.evidence.verify_log`, with ``root`` or ``fingerprint`` as
    given).

    Args:
        run_dir: A report directory written by ``bureaunet run`` or ``bureaunet exercise``.
        pdf: Write the PDF (``None``: when Chromium is installed; ``True``: fail without it).
        root: The certificate that must have signed the evidence.
        fingerprint: Its SHA-256 fingerprint instead (default: the one the report recorded).
        templates: A directory whose ``debrief.html`` replaces ours (branding, translation).

    Raises:
        DebriefError: Files missing or unreadable, or a PDF asked for and impossible.
        TemplateError: The replacement template is missing or broken.
    """
    summary, events, scenario = _read(run_dir)
    try:
        verdict = verify_log(run_dir, root=root, fingerprint=fingerprint)
    except OSError as exc:
        verdict = LogVerdict(False, len(events), None, f"cannot be checked: {exc}")
    try:
        page = _page(run_dir, summary, events, scenario, verdict=verdict, templates=templates)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        # fields of the wrong shape in a directory that passed for a run: one line, never a
        # traceback (a run written by bureaunet has them all)
        detail = f"{type(exc).__name__}: {exc}"[:200]
        raise DebriefError(f"{run_dir}: not a run bureaunet wrote ({detail})") from None
    target = run_dir / "debrief.html"
    try:
        write_run_file(target, page)  # a link planted as debrief.html is replaced, not followed
    except OSError as exc:
        raise DebriefError(f"cannot write {target}: {exc.strerror or exc}") from None
    pdf_path = _pdf(target, required=pdf) if pdf is not False else None
    return DebriefFiles(target, pdf_path, verdict)


def _page(
    run_dir: Path,
    summary: dict[str, Any],
    events: list[dict[str, Any]],
    scenario: Scenario | None,
    *,
    verdict: LogVerdict,
    templates: Path | None,
) -> str:
    name = summary.get("scenario", run_dir.name)
    duration = scenario.duration if scenario is not None else 0.0
    started = (
        datetime.fromtimestamp(events[0]["t_ns"] / 1e9, UTC).strftime("%Y-%m-%d %H:%M UTC")
        if events and "t_ns" in events[0]
        else "unknown"
    )
    if verdict.intact:
        integrity = (
            f'<p class="integrity ok">The event log this debrief is built from is intact: '
            f"{verdict.lines} lines, hash-chained, and signed with the summary, the scenario and "
            f"the report's tables and pictures by the run (certificate "
            f"{verdict.fingerprint[:16]}..., checked against {html.escape(verdict.expected)}). "
            f"Check it with <code>bureaunet verify-log {html.escape(str(run_dir))} "
            f"--fingerprint {verdict.fingerprint}</code>.</p>"
        )
    elif verdict.ok:
        integrity = (
            f'<p class="integrity unanchored"><strong>Not anchored:</strong> the event log '
            f"({verdict.lines} lines), the summary, the scenario and the report's tables and "
            f"pictures are consistent and signed by certificate <code>{verdict.fingerprint}"
            f"</code>, but nothing was given to check that signer against: whoever could edit "
            f"this directory could also have signed it. Compare this fingerprint with the one "
            f"you kept from the run, or make the debrief again with <code>--fingerprint</code>, "
            f"<code>--root</code> or <code>--pki</code>.</p>"
        )
    else:
        where = f" at line {verdict.first_bad_line}" if verdict.first_bad_line else ""
        integrity = (
            f'<p class="integrity altered"><strong>Warning:</strong> the event log was altered '
            f"after the run{where}, or its evidence does not verify "
            f"({html.escape(verdict.reason)}). Do not rely on this debrief.</p>"
        )
    comments: dict[str, str] = {}
    if scenario is not None:
        comments = {e.label: e.comment for e in scenario.expect if e.comment}
    expectations = summary.get("expectations", [])
    expect_rows = [
        [
            e["name"],
            "PASS" if e["passed"] else "FAIL" if e.get("reached", True) else "NOT REACHED",
            e["detail"],
            comments.get(e["name"], ""),
        ]
        for e in expectations
    ]
    expect_classes = ["pass" if e["passed"] else "fail" for e in expectations]
    passed = sum(1 for e in expectations if e["passed"])
    timeline_rows, timeline_classes = _timeline(events, scenario, duration)
    bookmarks = [r for r, c in zip(timeline_rows, timeline_classes, strict=True) if c == "bookmark"]
    deadlines = summary.get("deadlines", [])
    deadline_rows = deadline_table(deadlines, duration)
    deadline_classes = ["bad" if d["state"] in ("missed", "late") else "" for d in deadlines]
    breach_rows = [
        [when(b["t_s"], duration), b["bureau"], b["rule"] or "", b["detail"] or ""]
        for b in summary.get("breaches", [])
    ]
    activity = _activity(events, _named_bureaus(scenario))
    messages = summary.get("messages", {})
    overall = summary.get("latency_ms", {}).get("overall", {})
    routes = summary.get("routes", {})
    figures = [
        [
            "messages sent / delivered",
            f"{messages.get('sent', 0)} / {messages.get('delivered', 0)}",
        ],
        ["lost", str(messages.get("lost", 0))],
        ["duplicates (benign resends, answered again)", str(messages.get("duplicates", 0))],
        ["rejected (hostile or broken)", str(sum(messages.get("rejected", {}).values()))],
        _latency_figure(summary, overall),
        ["mean hops", str(routes.get("mean_hops", "-"))],
        [
            "busiest bureau",
            f"{routes.get('busiest_bureau')} ({routes.get('messages_through_busiest')})",
        ],
    ]
    missed = sum(1 for d in deadlines if d["state"] in ("missed", "late"))
    speed = f"{scenario.speed:g}" if scenario is not None else "?"
    part = html_part
    page = render(
        "debrief.html",
        {
            "name": name,
            "style": part(_STYLE),
            "description": scenario.description.strip() if scenario is not None else "",
            "teaches": scenario.teaches.strip() if scenario is not None else "",
            "facts": part(
                _table(
                    None,
                    [
                        ["run started", started],
                        ["bureaus", str(summary.get("bureaus", "?"))],
                        ["topology", str(summary.get("topology", "?"))],
                        ["scenario clock", f"{speed} scenario seconds per real second"],
                        ["expectations passed", f"{passed} of {len(expectations)}"],
                        ["deadlines missed", f"{missed} of {len(deadlines)}"],
                        ["caveat breaches", str(len(breach_rows))],
                    ],
                ).replace("<table>", '<table class="facts">', 1)
            ),
            "integrity": part(integrity),
            "outcome": part(
                _table(["expectation", "result", "detail", "comment"], expect_rows, expect_classes)
            ),
            "bookmarks": part(_table(["t", "what", "where", "detail"], bookmarks))
            if bookmarks
            else "",
            "timeline": part(
                _table(["t", "what", "where", "detail"], timeline_rows, timeline_classes)
            ),
            "timeline_image": part(
                _img(run_dir, "timeline.png", "deliveries over scenario time", verdict)
            ),
            "deadlines": part(_table(DEADLINE_HEAD, deadline_rows, deadline_classes))
            if deadline_rows
            else "",
            "breaches": part(_table(BREACH_HEAD, breach_rows, ["bad"] * len(breach_rows)))
            if breach_rows
            else "",
            "scores": part(_scores(run_dir, summary, scenario, verdict)),
            "grid": part(_grid(run_dir, duration, verdict)),
            "lessons": part(_lessons(scenario, events)),
            "activity": part(
                _table(
                    [
                        "bureau",
                        "received",
                        "sent",
                        "acknowledged",
                        "forwarded",
                        "breaches",
                        "rejected",
                    ],
                    activity,
                )
            ),
            "figures": part(_table(["figure", "value"], figures)),
            "latency_image": part(
                _img(run_dir, "latency-by-kind.png", "latency by message kind", verdict)
            ),
            "map_image": part(_img(run_dir, "map.png", "bureaus and traffic", verdict)),
        },
        templates,
    )
    return page


def _pdf(page: Path, *, required: bool | None) -> Path | None:
    browser = chromium()
    if browser is None:
        if required:
            raise DebriefError("no PDF: Chromium is not installed (the HTML debrief prints too)")
        return None
    target = page.with_suffix(".pdf")
    profile = page.parent / ".chromium-profile"
    try:
        subprocess.run(  # noqa: S603 - a fixed program and our own file
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--no-pdf-header-footer",
                f"--print-to-pdf={target}",
                page.resolve().as_uri(),
            ],
            capture_output=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        if required:
            raise DebriefError(f"no PDF: Chromium failed: {exc}") from None
        return None
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if not target.exists() or target.stat().st_size == 0:
        if required:
            raise DebriefError("no PDF: Chromium wrote nothing")
        return None
    return target
