"""Reports of a run: summary.json, events.jsonl, report.md and a self-contained report.html.

Plots are drawn with matplotlib (Agg, no display needed) and embedded in the HTML as PNG data, so
the page opens from disk with nothing else; the Markdown report links the same PNG files.

Why one long module: the report files of one run are written together from one summary,
and each table of the Markdown and the HTML stays beside its twin.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from bureaus import Event
from bureaus.events import Lifecycle
from scenarios.exercise.deadlines import clock_label
from scenarios.reports.evidence import COVERED, chained_lines, fingerprint_of, sign_log
from scenarios.reports.maps import map_figure
from scenarios.reports.metrics import ExpectationResult, route_class
from scenarios.results import RunResult

__all__ = ["compare_table", "write_compare", "write_report"]


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _cdf(ax: Any, values: Sequence[float], label: str) -> None:
    if not values:
        return
    ordered = sorted(values)
    n = len(ordered)
    ax.step(ordered, [(i + 1) / n for i in range(n)], where="post", label=f"{label} (n={n})")


def latency_plot(deliveries: list[Event], key: str) -> bytes:
    """CDF of delivery latency grouped by message kind or route class."""
    fig, ax = plt.subplots(figsize=(7, 4))
    groups: dict[str, list[float]] = {}
    for event in deliveries:
        if event.latency_ms is None:
            continue
        name = (event.message_kind or "?") if key == "kind" else route_class(event.route)
        groups.setdefault(name, []).append(event.latency_ms)
    for name, values in sorted(groups.items()):
        _cdf(ax, values, name)
    ax.set_xlabel("end-to-end latency (ms, real)")
    ax.set_ylabel("fraction of deliveries")
    ax.set_title(f"Latency by {'message kind' if key == 'kind' else 'route'}")
    if groups and max(max(v) for v in groups.values()) > 10 * min(min(v) for v in groups.values()):
        ax.set_xscale("log")
    ax.grid(alpha=0.3)
    if groups:
        ax.legend(fontsize=8)
    return _png(fig)


def timeline_plot(result: RunResult) -> bytes:
    """Deliveries over scenario time, with injects and faults marked."""
    fig, ax = plt.subplots(figsize=(7, 3))
    times = [e.t_s for e in result.events if e.kind == "delivered"]
    end = max([result.scenario.duration, *times]) if times else result.scenario.duration
    if times:
        ax.hist(
            times,
            bins=min(60, max(10, len(times) // 5)),
            range=(0, end),
            color="#4c72b0",
            alpha=0.8,
            label="deliveries",
        )
    for event in result.events:
        if event.kind == "inject" and event.bureau == "controller":
            ax.axvline(event.t_s, color="#55a868", linestyle="--", linewidth=1)
        elif event.kind == "fault":
            ax.axvline(event.t_s, color="#c44e52", linestyle=":", linewidth=1.2)
    ax.set_xlabel("scenario time (s)   green dashes: injects, red dots: faults")
    ax.set_ylabel("deliveries")
    ax.set_title("Timeline")
    return _png(fig)


def map_plot(result: RunResult) -> bytes:
    """The map of the run (see :mod:`scenarios.reports.maps`), as PNG bytes."""
    title = f"{result.scenario.name}: traffic on the {result.topology} topology"
    return _png(map_figure(result.events, result.roster, title=title))


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


def _md_table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _html_table(head: list[str], rows: list[list[str]]) -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


TIMELINE_KINDS = frozenset({"inject", "fault", "control", "deadline", "breach"})
"""The events a trainer reads as the story of a run."""
DEADLINE_HEAD = ["request", "owed", "by", "opened", "due", "answered", "state"]
BREACH_HEAD = ["t", "bureau", "caveat", "what happened"]


def when(t_s: float | None, duration_s: float) -> str:
    """A scenario time for tables: seconds for short runs, ``[d+]hh:mm:ss`` for long ones."""
    if t_s is None:
        return "-"
    return clock_label(t_s) if duration_s >= 3_600 else f"{t_s:.2f}"


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
            "signed": ["events.jsonl", *COVERED],
        }
    (out / "summary.json").write_text(json.dumps(full, indent=2) + "\n", encoding="utf-8")
    (out / "scenario.json").write_text(
        result.scenario.model_dump_json(by_alias=True, indent=2) + "\n", encoding="utf-8"
    )
    last, count = "0" * 64, 0
    with (out / "events.jsonl").open("w", encoding="utf-8") as handle:
        for line, chain in chained_lines(e.as_dict() for e in result.events):
            handle.write(line + "\n")
            last, count = chain, count + 1
    if result.signing_key is not None and signer is not None:
        signature = sign_log(out, last, count, result.signing_key, signer)
        (out / "events.sig").write_text(json.dumps(signature, indent=1) + "\n", "utf-8")
    deliveries = [e for e in result.events if e.kind == "delivered"]
    plots = {
        "latency-by-kind.png": latency_plot(deliveries, "kind"),
        "latency-by-route.png": latency_plot(deliveries, "route"),
        "timeline.png": timeline_plot(result),
        "map.png": map_plot(result),
    }
    for name, data in plots.items():
        (out / name).write_bytes(data)
    scenario = result.scenario
    messages = summary["messages"]
    recorded = full.get("evidence")
    evidence = (
        "The event log (hash-chained), `summary.json` and `scenario.json` are signed in "
        f"`events.sig` by the run's General Secretariat root, certificate fingerprint "
        f"(SHA-256) `{recorded['signer_fingerprint']}`. Keep this fingerprint: "
        f"`bureaunet verify-log {out} --fingerprint FINGERPRINT` checks the files against it "
        "(or `--root root.crt.pem` of the PKI the run used)."
        if recorded
        else "This run was not signed."
    )
    delivery_rows = [[k, str(v)] for k, v in messages.items() if not isinstance(v, dict)]
    rejection_rows = [[k, str(v)] for k, v in messages["rejected"].items()] or [["none", "0"]]
    shed_rows = [[k, str(v)] for k, v in messages["shed"].items()] or [["none", "0"]]
    shed_where = [[k, str(v)] for k, v in messages["shed_by_bureau"].items()]
    rejection_details = [
        [f"{e.t_s:.2f}", e.bureau, e.reason or "", e.peer or "", (e.detail or "")[:400]]
        for e in result.events
        if e.kind == "rejected" and e.reason != "duplicate"
    ][:50]
    paths: dict[str, list[str]] = {}
    for e in result.events:
        if isinstance(e, Lifecycle) and e.message_id:
            paths.setdefault(e.message_id, ["draft"]).append(f"{e.state} (t={e.t_s:.1f} s)")
    notice_rows = [[mid[:8], " → ".join(states)] for mid, states in paths.items()]
    expect_rows = [[e.name, "PASS" if e.passed else "FAIL", e.detail] for e in expectations]
    duration = result.scenario.duration
    timeline_rows = [
        [when(e.t_s, duration), e.kind, e.bureau, e.detail or ""]
        for e in result.events
        if e.kind in TIMELINE_KINDS
    ]
    deadline_rows = deadline_table(summary["deadlines"], duration)
    breach_rows = [
        [when(b["t_s"], duration), b["bureau"], b["rule"] or "", b["detail"] or ""]
        for b in summary["breaches"]
    ]
    latency = summary["latency_ms"]
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
        f"# {scenario.name}",
        "",
        scenario.description.strip(),
        "",
        f"*What it teaches:* {scenario.teaches.strip()}" if scenario.teaches else "",
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
                _md_table(
                    ["t (s)", "bureau", "reason", "claimed sender", "detail"],
                    [[c.replace("|", "\\|") for c in row] for row in rejection_details],
                ),
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
    (out / "report.md").write_text("\n".join(md), encoding="utf-8")

    def img(name: str, alt: str) -> str:
        data = base64.b64encode(plots[name]).decode("ascii")
        return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'

    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(scenario.name)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; }}
table {{ border-collapse: collapse; margin: 0.5rem 0 1rem; }}
th, td {{ border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: left; font-size: 0.9rem; }}
th {{ background: #f3f3f3; }}
img {{ max-width: 100%; }}
.pass {{ color: #1a7f37; font-weight: bold; }} .fail {{ color: #c62828; font-weight: bold; }}
</style></head><body>
<h1>{html.escape(scenario.name)}</h1>
<p>{html.escape(scenario.description.strip())}</p>
<p><em>What it teaches:</em> {html.escape(scenario.teaches.strip())}</p>
<p>{html.escape(head.replace("`", ""))}</p>
<p class="{"pass" if verdict.startswith("all") else "fail"}">{html.escape(verdict)}</p>
<h2>Expectations</h2>{_html_table(["expectation", "result", "detail"], expect_rows)}
<h2>Timeline of injects, faults and the controller</h2>
{_html_table(["t", "what", "where", "detail"], timeline_rows or [["-", "-", "-", "-"]])}
{img("timeline.png", "deliveries over time")}
{"<h2>Notices</h2>" + _html_table(["request", "lifecycle"], notice_rows) if notice_rows else ""}
{"<h2>Deadlines</h2>" + _html_table(DEADLINE_HEAD, deadline_rows) if deadline_rows else ""}
{"<h2>Caveat breaches</h2>" + _html_table(BREACH_HEAD, breach_rows) if breach_rows else ""}
<h2>Deliveries</h2>{_html_table(["", "count"], delivery_rows)}
<h2>Rejections</h2>{_html_table(["reason", "count"], rejection_rows)}
{
        _html_table(["t (s)", "bureau", "reason", "claimed sender", "detail"], rejection_details)
        if rejection_details
        else ""
    }
<h2>Shed traffic</h2>{_html_table(["reason", "count"], shed_rows)}
{_html_table(["bureau", "shed"], shed_where) if shed_where else ""}
<h2>Latency (ms)</h2>
{_html_table(_LAT_HEAD, _latency_rows({"all": latency["overall"]}))}
{_html_table(_LAT_HEAD, _latency_rows(latency["by_kind"]))}
{img("latency-by-kind.png", "latency by message kind")}
{_html_table(_LAT_HEAD, _latency_rows(latency["by_route_class"]))}
{img("latency-by-route.png", "latency by route")}
<h2>Routes and traffic</h2>
{_html_table(["", ""], [[k, str(v)] for k, v in summary["routes"].items()])}
{img("map.png", "bureaus and traffic")}
<h2>Evidence</h2>
<p>{html.escape(evidence.replace("`", ""))}</p>
</body></html>
"""
    (out / "report.html").write_text(page, encoding="utf-8")


def compare_table(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """The side-by-side table of a comparison: header and rows, as text."""
    head = [
        "topology",
        "delivered",
        "lost",
        "p50 ms",
        "p99 ms",
        "mean hops",
        "busiest bureau",
        "msgs through busiest",
        "bytes on the wire",
        "expectations",
    ]
    table = [
        [
            r["topology"],
            str(r["delivered"]),
            str(r["lost"]),
            f"{r['p50_ms']:.2f}",
            f"{r['p99_ms']:.2f}",
            f"{r['mean_hops']:.2f}",
            str(r["busiest_bureau"]),
            str(r["messages_through_busiest"]),
            str(r["bytes_on_the_wire"]),
            "pass" if r["passed"] else "FAIL",
        ]
        for r in rows
    ]
    return head, table


def write_compare(rows: list[dict[str, Any]], out: Path, scenario_name: str) -> None:
    """Side-by-side figures of one scenario on several topologies, with a plot."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    head, table = compare_table(rows)
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
    names = [r["topology"] for r in rows]
    axes[0].bar(names, [r["p99_ms"] for r in rows], color="#4c72b0", label="p99")
    axes[0].bar(names, [r["p50_ms"] for r in rows], color="#dd8452", label="p50")
    axes[0].set_title("latency (ms)")
    axes[0].legend(fontsize=8)
    axes[1].bar(names, [r["mean_hops"] for r in rows], color="#55a868")
    axes[1].set_title("mean hops per delivery")
    axes[2].bar(names, [r["messages_through_busiest"] for r in rows], color="#c44e52")
    axes[2].set_title("messages through the busiest bureau")
    png = _png(fig)
    (out / "compare.png").write_bytes(png)
    md = [
        f"# {scenario_name}: topologies compared",
        "",
        _md_table(head, table),
        "",
        "![compare](compare.png)",
        "",
    ]
    (out / "compare.md").write_text("\n".join(md), encoding="utf-8")
    data = base64.b64encode(png).decode("ascii")
    (out / "compare.html").write_text(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>'
        f"{html.escape(scenario_name)}</title></head><body><h1>{html.escape(scenario_name)}: "
        f"topologies compared</h1>{_html_table(head, table)}"
        f'<img alt="comparison" src="data:image/png;base64,{data}"></body></html>\n',
        encoding="utf-8",
    )
