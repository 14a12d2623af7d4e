"""The topology lab: one scenario on several topologies, side by side, over one or more seeds.

Per topology: the path of an example message (the first with the most hops), the mean number
of hops, the hub's share of the traffic (the General Secretariat's part of every message carried
over a link), the busiest bureau, latency percentiles (the mean over the seeds, with their
spread), and latency over scenario time, where an outage of the hub shows as a spike on the hub
and not on the mesh. ``compare.html`` is styled like the report and links each topology's own
report and map.
"""

from __future__ import annotations

import base64
import html
import json
import statistics
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from scenarios.reports.metrics import ExpectationResult, traffic_by_link
from scenarios.reports.plots import png
from scenarios.reports.templating import html_part, render
from scenarios.reports.writer import REPORT_STYLE
from scenarios.results import RunResult

__all__ = ["compare_plot", "compare_row", "compare_table", "seeds_note", "write_compare"]

_BINS = 40
"""Points of the latency-over-time line."""


def compare_row(
    topology: str, runs: list[tuple[RunResult, dict[str, Any], list[ExpectationResult]]]
) -> dict[str, Any]:
    """One topology's figures over its runs (one per seed; the first stands for the rest)."""
    first, summary, _results = runs[0]
    p50 = [s["latency_ms"]["overall"].get("p50", 0.0) for _r, s, _x in runs]
    p99 = [s["latency_ms"]["overall"].get("p99", 0.0) for _r, s, _x in runs]
    traffic = traffic_by_link(first.events)
    carried = sum(count for count, _size in traffic.values())
    through_hub = sum(count for (a, b), (count, _s) in traffic.items() if "gs" in (a, b))
    return {
        "topology": topology,
        "seeds": [r.seed for r, _s, _x in runs],
        "delivered": summary["messages"]["delivered"],
        "lost": sum(s["messages"]["lost"] for _r, s, _x in runs),
        "p50_ms": statistics.fmean(p50),
        "p99_ms": statistics.fmean(p99),
        "p99_min_ms": min(p99),
        "p99_max_ms": max(p99),
        **summary["routes"],
        "hub_share": round(through_hub / carried, 3) if carried else 0.0,
        "example_route": _example_route(first),
        "latency_over_time": _over_time(first),
        "passed": all(all(x.passed for x in results) for _r, _s, results in runs),
        "same_over_seeds": len(runs) > 1 and len({_figures(s) for _r, s, _x in runs}) == 1,
    }


def _figures(summary: dict[str, Any]) -> str:
    """What a run's figures are, to tell whether two seeds gave the same."""
    return json.dumps([summary["messages"], summary["latency_ms"]["overall"]], sort_keys=True)


def seeds_note(rows: list[dict[str, Any]]) -> str | None:
    """A line for the reader when several seeds gave the same figures on every topology."""
    seeds = max((len(r.get("seeds", [])) for r in rows), default=0)
    if seeds < 2 or not all(r.get("same_over_seeds") for r in rows):
        return None
    return (
        f"The {seeds} seeds gave the same figures on every topology: this scenario draws "
        "nothing at random, so one seed shows it all."
    )


def _example_route(result: RunResult) -> str:
    """The route of the first delivery that took the most hops in this run."""
    deliveries = [e for e in result.events if e.kind == "delivered" and e.route]
    chosen = max(deliveries, key=lambda e: len(e.route), default=None)
    if chosen is None:
        return "-"
    return " → ".join("GS" if b == "gs" else b for b in chosen.route)


def _over_time(result: RunResult) -> list[list[float]]:
    """(scenario seconds, p99 ms) of the deliveries in each of :data:`_BINS` slices of the run."""
    points = [(e.t_s, e.latency_ms) for e in result.events if e.kind == "delivered"]
    latencies = [(t, ms) for t, ms in points if ms is not None]
    if not latencies:
        return []
    end = max(result.scenario.duration, *(t for t, _ms in latencies))
    width = end / _BINS
    bins: list[list[float]] = [[] for _ in range(_BINS)]
    for t, ms in latencies:
        bins[min(_BINS - 1, int(t / width))].append(ms)
    return [
        [round((k + 0.5) * width, 3), round(sorted(b)[int(0.99 * (len(b) - 1))], 3)]
        for k, b in enumerate(bins)
        if b
    ]


def compare_table(
    rows: list[dict[str, Any]], *, compact: bool = False
) -> tuple[list[str], list[list[str]]]:
    """The side-by-side table: header and rows as text (``compact``: for an 80-column terminal)."""
    several = any(len(r.get("seeds", [])) > 1 for r in rows)

    def p99(r: dict[str, Any]) -> str:
        text = f"{r['p99_ms']:.1f}"
        if several:
            text += f" ({r['p99_min_ms']:.0f} to {r['p99_max_ms']:.0f})"
        return text

    if compact:
        head = ["topology", "p50 ms", "p99 ms", "hops", "hub share", "busiest", "lost", "ok"]
        body = [
            [
                r["topology"],
                f"{r['p50_ms']:.1f}",
                p99(r),
                f"{r['mean_hops']:.2f}",
                f"{100 * r['hub_share']:.0f} %",
                str(r["busiest_bureau"]),
                str(r["lost"]),
                "yes" if r["passed"] else "NO",
            ]
            for r in rows
        ]
        return head, body
    head = [
        "topology",
        "example route",
        "delivered",
        "lost",
        "p50 ms",
        "p99 ms" + (" (spread over seeds)" if several else ""),
        "mean hops",
        "hub share",
        "busiest bureau",
        "msgs through busiest",
        "bytes on the wire",
        "expectations",
    ]
    body = [
        [
            r["topology"],
            r["example_route"],
            str(r["delivered"]),
            str(r["lost"]),
            f"{r['p50_ms']:.2f}",
            p99(r),
            f"{r['mean_hops']:.2f}",
            f"{100 * r['hub_share']:.0f} %",
            str(r["busiest_bureau"]),
            str(r["messages_through_busiest"]),
            str(r["bytes_on_the_wire"]),
            "pass" if r["passed"] else "FAIL",
        ]
        for r in rows
    ]
    return head, body


def compare_plot(rows: list[dict[str, Any]]) -> bytes:
    """Latency over time per topology, and the hub's share and hops side by side."""
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), width_ratios=[2, 1, 1])
    for row in rows:
        series = row["latency_over_time"]
        if series:
            axes[0].plot([t for t, _ in series], [ms for _, ms in series], label=row["topology"])
    axes[0].set_title("p99 latency over scenario time (ms)")
    axes[0].set_xlabel("scenario time (s)")
    axes[0].legend(fontsize=8)
    names = [r["topology"] for r in rows]
    axes[1].bar(names, [100 * r["hub_share"] for r in rows], color="#c44e52")
    axes[1].set_title("the hub's share of traffic (%)")
    axes[2].bar(names, [r["mean_hops"] for r in rows], color="#55a868")
    axes[2].set_title("mean hops per delivery")
    for ax in axes[1:]:
        ax.tick_params(axis="x", labelrotation=20)
    return png(fig)


def write_compare(rows: list[dict[str, Any]], out: Path, scenario_name: str) -> None:
    """``compare.json``, ``compare.md``, ``compare.html`` and ``compare.png`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    head, table = compare_table(rows)
    chart = compare_plot(rows)
    (out / "compare.png").write_bytes(chart)
    title = f"{scenario_name}: topologies compared"
    md = [f"# {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    md += ["| " + " | ".join(row) + " |" for row in table]
    note = seeds_note(rows)
    md += ["", note] if note else []
    md += ["", "![compare](compare.png)", ""]
    md += [f"- [{r['topology']}]({r['topology']}/report.md)" for r in rows]
    (out / "compare.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    data = base64.b64encode(chart).decode("ascii")
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    trs = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in table
    )
    maps = "".join(
        f'<figure><a href="{html.escape(r["topology"])}/report.html">'
        f'<img alt="map of the {html.escape(r["topology"])} topology" '
        f'src="{html.escape(r["topology"])}/map.png"></a>'
        f"<figcaption>{html.escape(r['topology'])}: "
        f'<a href="{html.escape(r["topology"])}/report.html">its report</a></figcaption></figure>'
        for r in rows
    )
    table_html = f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"
    if note:
        table_html += f"<p>{html.escape(note)}</p>"
    chart_html = (
        '<img alt="latency over time, the hub\'s share and hops by topology" '
        f'src="data:image/png;base64,{data}">'
    )
    page = render(
        "compare.html",
        {
            "title": title,
            "style": html_part(REPORT_STYLE),
            "table": html_part(table_html),
            "chart": html_part(chart_html),
            "maps": html_part(maps),
        },
    )
    (out / "compare.html").write_text(page, encoding="utf-8")
