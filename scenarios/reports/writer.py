"""Reports of a run: summary.json, events.jsonl, report.md and a self-contained report.html.

Plots (:mod:`scenarios.reports.plots`) are embedded in the HTML as PNG data, so the page opens
from disk with nothing else; the Markdown report links the same PNG files.

Every table comes from one :class:`~scenarios.reports.report_model.ReportModel`, built once;
the Markdown is laid out by :data:`_MARKDOWN` and the HTML by its template.
"""

from __future__ import annotations

import base64
import html
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scenarios.reports.evidence import COVERED, chained_lines, fingerprint_of, sign_log
from scenarios.reports.grid import write_csv
from scenarios.reports.metrics import ExpectationResult
from scenarios.reports.plots import latency_plot, map_plot, map_svg, timeline_plot
from scenarios.reports.report_model import (
    BREACH_HEAD,
    DEADLINE_HEAD,
    TIMELINE_KINDS,
    ReportModel,
    Table,
    build_report,
    deadline_table,
)
from scenarios.reports.review import (
    REVIEW_SCRIPT,
    grid_html,
    links_json,
    messages_html,
    slider_html,
)
from scenarios.reports.safety import markdown_text, write_run_file
from scenarios.reports.templating import html_part, render
from scenarios.results import RunResult

__all__ = [
    "BREACH_HEAD",
    "DEADLINE_HEAD",
    "REPORT_STYLE",
    "SHOWN",
    "TIMELINE_KINDS",
    "deadline_table",
    "report_markdown",
    "write_report",
]


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


def _map_html(result: RunResult) -> str:
    """The map, inline, with the times its arrows first happened (for the slider)."""
    return (
        '<div class="map" role="img" aria-label="bureaus and traffic">'
        + map_svg(result)
        + "</div>"
        + links_json(result)
    )


SHOWN = (
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
            "signed": ["events.jsonl", *COVERED, *SHOWN],
        }
    write_run_file(out / "summary.json", json.dumps(full, indent=2) + "\n")
    write_run_file(
        out / "scenario.json", result.scenario.model_dump_json(by_alias=True, indent=2) + "\n"
    )
    streamed = result.streamed
    if streamed is not None:  # a lean run: its log was written as it went
        streamed.close()
        _move_log(streamed.path, out / "events.jsonl")
        last, count = streamed.chain.last, streamed.chain.count
    else:
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


PARTIAL_LOG = ".events.jsonl.partial"
"""The name a lean run's log is written under, beside ``events.jsonl``, until the run ends."""


def _move_log(path: Path, target: Path) -> None:
    """Put a lean run's log in place: renamed over the target (copied when on another disk)."""
    if path.resolve().parent == target.resolve().parent:
        os.replace(path, target)
        return
    partial = target.with_name(PARTIAL_LOG)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    with path.open("rb") as source, open(os.open(partial, flags, 0o644), "wb") as sink:
        shutil.copyfileobj(source, sink, 1 << 20)
    os.replace(partial, target)
    path.unlink()


def _write_pages(
    result: RunResult, full: dict[str, Any], expectations: list[ExpectationResult], out: Path
) -> list[str]:
    """The files people read (pictures, tables, report.md, report.html); their names."""
    plots = {
        "latency-by-kind.png": latency_plot(result, "kind"),
        "latency-by-route.png": latency_plot(result, "route"),
        "timeline.png": timeline_plot(result),
        "map.png": map_plot(result),
    }
    for name, data in plots.items():
        write_run_file(out / name, data)
    model = build_report(result, full, expectations, str(out))
    csv_files = write_csv(result, full, out)
    write_run_file(out / "report.md", report_markdown(model, csv_files))
    write_run_file(out / "report.html", _report_html(model, result, plots, csv_files))
    written = [*plots, *csv_files, "report.md", "report.html"]
    assert sorted(written) == sorted(SHOWN), written  # the summary names what is signed
    return written


@dataclass(frozen=True, slots=True)
class _Block:
    """A piece of the Markdown report: a heading, words, a table, a picture (each optional)."""

    heading: str = ""
    intro: str = ""
    table: str = ""
    image: str = ""
    optional: bool = False
    """Left out when its table has nothing to show."""


_MARKDOWN: tuple[_Block, ...] = (
    _Block("Expectations", table="expectations"),
    _Block("Timeline of injects, faults and the controller", table="timeline", image="timeline"),
    _Block("Notices", table="notices", optional=True),
    _Block("Deadlines", table="deadlines", optional=True),
    _Block("Who knew what, when", intro="{grid}", table="grid", optional=True),
    _Block("Caveat breaches", table="breaches", optional=True),
    _Block("Deliveries", table="deliveries"),
    _Block("Rejections", table="rejections"),
    _Block(intro="Details (first 50):", table="rejection_details", optional=True),
    _Block("Shed traffic", table="shed"),
    _Block(intro="Where (the ten bureaus that shed most):", table="shed_where", optional=True),
    _Block(
        "Latency in scenario time",
        intro="From the send to the delivery, on the exercise's clock (its pace and pauses).",
        table="latency_scenario",
        optional=True,
    ),
    _Block("Latency (ms)", intro="Overall:", table="latency_overall"),
    _Block(intro="By message kind:", table="latency_by_kind", image="latency by kind"),
    _Block(intro="By route:", table="latency_by_route", image="latency by route"),
    _Block("Routes and traffic", table="routes", image="map"),
)
"""The Markdown report, top to bottom (each table from the report model)."""
_IMAGES = {
    "timeline": "timeline.png",
    "latency by kind": "latency-by-kind.png",
    "latency by route": "latency-by-route.png",
    "map": "map.png",
}


def _grid_words(csv_files: list[str]) -> str:
    return (
        "Each scripted message (by inject name) at each bureau it was for or that owed an "
        "answer: ack, received (never acknowledged), LATE (answered after its response "
        "deadline), OVERDUE (the deadline passed unanswered), BLOCKED (a forward refused "
        "under its caveats) or MISSING, with the scenario time. The same as CSV: "
        + ", ".join(f"`{name}`" for name in csv_files)
        + "."
    )


def _markdown_block(block: _Block, table: Table | None, csv_files: list[str]) -> list[str]:
    if block.optional and table is None:
        return []
    lines = [f"## {block.heading}", ""] if block.heading else []
    if block.intro:
        lines += [block.intro.format(grid=_grid_words(csv_files)), ""]
    if table is not None:
        lines += [_md_table(table.head, table.rows), ""]
    if block.image:
        lines += [f"![{block.image}]({_IMAGES[block.image]})", ""]
    return lines


def report_markdown(model: ReportModel, csv_files: list[str]) -> str:
    """The Markdown report."""
    scenario = model.scenario
    teaches = markdown_text(scenario.teaches.strip())
    lines = [
        f"# {markdown_text(scenario.name)}",
        "",
        markdown_text(scenario.description.strip()),
        "",
        f"*What it teaches:* {teaches}" if scenario.teaches else "",
        "",
        model.head,
        "",
        f"**{model.verdict}**",
        "",
    ]
    for block in _MARKDOWN:
        lines += _markdown_block(block, model.tables.get(block.table), csv_files)
    lines += ["## Evidence", "", model.evidence, ""]
    return "\n".join(lines)


def _grid_section(model: ReportModel, result: RunResult, csv_files: list[str]) -> str:
    if not model.grid.messages:
        return ""
    duration = result.scenario.duration
    return (
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
        + grid_html(model.grid, result, duration)
    )


_HTML_TABLES = (
    "expectations",
    "timeline",
    "notices",
    "deadlines",
    "breaches",
    "deliveries",
    "rejections",
    "rejection_details",
    "shed",
    "shed_where",
    "latency_scenario",
    "latency_overall",
    "latency_by_kind",
    "latency_by_route",
    "routes",
)
"""The template's table slots, each filled from the report model's table of that key."""


def _report_html(
    model: ReportModel, result: RunResult, plots: dict[str, bytes], csv_files: list[str]
) -> str:
    def img(name: str, alt: str) -> str:
        data = base64.b64encode(plots[name]).decode("ascii")
        return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'

    tables = {
        key: html_part(_html_table(t.head, t.rows) if (t := model.tables[key]) else "")
        for key in _HTML_TABLES
    }
    scenario = model.scenario
    return render(
        "report.html",
        {
            "name": scenario.name,
            "style": html_part(REPORT_STYLE),
            "description": scenario.description.strip(),
            "teaches": scenario.teaches.strip(),
            "head": model.head.replace("`", ""),
            "passed": model.passed,
            "verdict": model.verdict,
            **tables,
            "timeline_image": html_part(img("timeline.png", "deliveries over time")),
            "grid": html_part(_grid_section(model, result, csv_files)),
            "latency_by_kind_image": html_part(
                img("latency-by-kind.png", "latency by message kind")
            ),
            "latency_by_route_image": html_part(img("latency-by-route.png", "latency by route")),
            "map_image": html_part("" if model.grid.messages else _map_html(result)),
            "messages": html_part(messages_html(result, result.scenario.duration)),
            "evidence": model.evidence.replace("`", ""),
            "review_script": html_part(REVIEW_SCRIPT),
        },
    )
