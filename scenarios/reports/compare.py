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
import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from protocol.network import routing
from scenarios.model import Scenario
from scenarios.model.checks import BrokerRestartFault, WindowFault
from scenarios.reports.metrics import ExpectationResult, traffic_by_link
from scenarios.reports.plots import png
from scenarios.reports.templating import html_part, render
from scenarios.reports.writer import REPORT_STYLE
from scenarios.results import RunResult

__all__ = [
    "buys_table",
    "cell_figures",
    "compare_plot",
    "compare_row",
    "compare_table",
    "fault_windows",
    "seeds_note",
    "what_this_shows",
    "write_compare",
]

_BINS = 40
"""Points of the latency-over-time line."""


def cell_figures(
    result: RunResult, summary: dict[str, Any], results: list[ExpectationResult]
) -> dict[str, Any]:
    """What the comparison needs of one run (one topology, one seed), as JSON-able data.

    Worked out where the run happened, so a sweep's processes (or a cluster's workers) send
    back these figures, not the run's events.
    """
    traffic = traffic_by_link(result.events)
    reviews = sum(
        1
        for e in result.events
        if e.kind == "lifecycle" and getattr(e, "transition", "") == "request"
    )
    return {
        "seed": result.seed,
        "crypto": result.crypto,
        "messages": summary["messages"],
        "overall": summary["latency_ms"]["overall"],
        "routes": summary["routes"],
        "passed": all(x.passed for x in results),
        "carried": sum(count for count, _size in traffic.values()),
        "through_hub": sum(count for (a, b), (count, _s) in traffic.items() if "gs" in (a, b)),
        "example_route": _example_route(result),
        "latency_over_time": _over_time(result),
        "buys": _what_it_buys(result, reviews),
    }


def compare_row(topology: str, cells: list[dict[str, Any]]) -> dict[str, Any]:
    """One topology's figures over its runs (one per seed; the first stands for the rest)."""
    first = cells[0]
    p50 = [c["overall"].get("p50", 0.0) for c in cells]
    p99 = [c["overall"].get("p99", 0.0) for c in cells]
    carried, through_hub = first["carried"], first["through_hub"]
    line, spread = _over_seeds([c["latency_over_time"] for c in cells])
    return {
        "topology": topology,
        "seeds": [c["seed"] for c in cells],
        "crypto": first["crypto"],
        "delivered": first["messages"]["delivered"],
        "lost": sum(c["messages"]["lost"] for c in cells),
        "p50_ms": statistics.fmean(p50),
        "p99_ms": statistics.fmean(p99),
        "p99_min_ms": min(p99),
        "p99_max_ms": max(p99),
        "p99_by_seed": p99,
        **first["routes"],
        "hub_share": round(through_hub / carried, 3) if carried else 0.0,
        "example_route": first["example_route"],
        "latency_over_time": line,
        "latency_spread_over_seeds": spread,
        "buys": first["buys"],
        "passed": all(c["passed"] for c in cells),
        "same_over_seeds": len(cells) > 1 and len({_figures(c) for c in cells}) == 1,
    }


def _figures(cell: dict[str, Any]) -> str:
    """What a run's figures are, to tell whether two seeds gave the same."""
    return json.dumps([cell["messages"], cell["overall"]], sort_keys=True)


def _what_it_buys(result: RunResult, reviews: int) -> dict[str, Any]:
    """What the topology gives for its cost: fewer links to secure, one place that sees all.

    ``links``: the bureau pairs that talk directly (each a connection to secure, a credential and
    an ACL entry to keep, a peer to trust); ``peers_per_ncb``: how many of those an NCB keeps, on
    average; ``reviews``: notice requests reviewed centrally; ``caveat_refusals``: forwards
    refused for breaking their originator's caveats.
    """
    reach = routing.reach(result.topology, result.roster)
    links = {frozenset((a, b)) for a, peers in reach.items() for b in peers}
    ncbs = [b.id for b in result.roster.ncbs()]
    peers = {a: {b for pair in links if a in pair for b in pair if b != a} for a in ncbs}
    return {
        "links": len(links),
        "peers_per_ncb": round(statistics.fmean(len(p) for p in peers.values()), 2)
        if peers
        else 0.0,
        "reviews": reviews,
        "caveat_refusals": sum(
            1 for e in result.events if e.kind == "breach" and getattr(e, "blocked", False)
        ),
    }


def _over_seeds(
    series: list[list[list[float | None]]],
) -> tuple[list[list[float | None]], list[list[float | None]]]:
    """The p99-over-time line averaged over the seeds, and its spread (time, lowest, highest).

    A slice where no seed delivered anything stays empty (``None``): a gap, never a ramp.
    """
    length = max((len(s) for s in series), default=0)
    line: list[list[float | None]] = []
    spread: list[list[float | None]] = []
    for k in range(length):
        at = [s[k] for s in series if k < len(s)]
        t = at[0][0] or 0.0
        values = [ms for _t, ms in at if ms is not None]
        if not values:
            line.append([t, None])
            spread.append([t, None, None])
            continue
        line.append([t, round(statistics.fmean(values), 3)])
        spread.append([t, min(values), max(values)])
    return line, spread


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


def _over_time(result: RunResult) -> list[list[float | None]]:
    """(scenario seconds, p99 ms) of the deliveries in each slice of the run, a fortieth wide.

    The slices are the same for every seed of a scenario (the drain's are added at the end),
    and one where nothing was delivered is kept with no figure (``None``): an outage shows as a
    gap in the line, not as a slope across it.
    """
    points = [(e.t_s, e.latency_ms) for e in result.events if e.kind == "delivered"]
    latencies = [(t, ms) for t, ms in points if ms is not None]
    if not latencies:
        return []
    width = result.scenario.duration / _BINS
    count = max(_BINS, 1 + max(int(t / width) for t, _ms in latencies))
    bins: list[list[float]] = [[] for _ in range(count)]
    for t, ms in latencies:
        bins[int(t / width)].append(ms)
    return [
        [round((k + 0.5) * width, 3), round(sorted(b)[int(0.99 * (len(b) - 1))], 3) if b else None]
        for k, b in enumerate(bins)
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


def fault_windows(scenario: Scenario) -> list[tuple[str, float, float]]:
    """The scenario's faults as (label, from, to) in scenario seconds, to shade on a plot."""
    windows: list[tuple[str, float, float]] = []
    for fault in scenario.faults:
        if isinstance(fault, WindowFault):
            w = fault.window
            who = "GS" if w.bureau == "gs" else (w.bureau or w.region or "")
            what = {"offline": "offline", "cut": "links cut", "degrade": "links degraded"}
            windows.append((f"{who} {what.get(fault.tag, fault.tag)}", w.start, w.end))
        elif isinstance(fault, BrokerRestartFault):
            at = fault.broker_restart.at
            windows.append(("broker restarted", at, at))
    return windows


def compare_plot(rows: list[dict[str, Any]], windows: list[tuple[str, float, float]]) -> bytes:
    """Latency over time per topology, and the hub's share, hops and links side by side.

    The faults are shaded, the seeds' spread is a band, and nothing is drawn where nothing was
    delivered.
    """
    fig = plt.figure(figsize=(12, 7), layout="constrained")
    grid = fig.add_gridspec(2, 3)
    _over_time_plot(fig.add_subplot(grid[0, :]), rows, windows)
    names = [r["topology"] for r in rows]
    axes = [fig.add_subplot(grid[1, k]) for k in range(3)]
    axes[0].bar(names, [100 * r["hub_share"] for r in rows], color="#c44e52")
    axes[0].set_title("cost: the hub's share of traffic (%)", fontsize=10)
    axes[1].bar(names, [r["mean_hops"] for r in rows], color="#55a868")
    axes[1].set_title("cost: mean hops per delivery", fontsize=10)
    axes[2].bar(names, [r["buys"]["links"] for r in rows], color="#4c72b0")
    axes[2].set_title("upkeep: links to secure (what a hub saves)", fontsize=10)
    for ax in axes:
        ax.tick_params(axis="x", labelrotation=20)
    return png(fig)


def _over_time_plot(
    over_time: Any, rows: list[dict[str, Any]], windows: list[tuple[str, float, float]]
) -> None:
    """p99 over scenario time per topology: faults shaded, the seeds' spread as a band."""
    for label, start, end in windows:
        if end > start:
            over_time.axvspan(start, end, color="#bbbbbb", alpha=0.35, label=label)
        else:
            over_time.axvline(start, color="#777777", linestyle="--", label=label)
    _lines(over_time, rows)
    several = any(len(r.get("seeds", [])) > 1 for r in rows)
    over_time.set_title(
        "p99 latency over scenario time (ms)"
        + (": the mean over the seeds, the band their spread" if several else "")
        + "; no line where nothing was delivered"
    )
    over_time.set_xlabel("scenario time (s)")
    over_time.legend(fontsize=8)


def _lines(over_time: Any, rows: list[dict[str, Any]]) -> None:
    """Each topology's line (a gap where it has no figure) and its band over the seeds."""
    several = any(len(r.get("seeds", [])) > 1 for r in rows)
    for row in rows:
        series = row["latency_over_time"]
        if not series:
            continue
        values = [math.nan if ms is None else ms for _, ms in series]
        (line,) = over_time.plot([t for t, _ in series], values, label=row["topology"])
        spread = row.get("latency_spread_over_seeds", [])
        if several and spread:
            over_time.fill_between(
                [t for t, _lo, _hi in spread],
                [math.nan if lo is None else lo for _t, lo, _hi in spread],
                [math.nan if hi is None else hi for _t, _lo, hi in spread],
                color=line.get_color(),
                alpha=0.2,
                linewidth=0,
            )


def buys_table(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """What each topology buys for its cost, as a table (header, rows)."""
    head = [
        "topology",
        "links to secure",
        "peers an NCB trusts",
        "traffic one place sees",
        "notices reviewed centrally",
        "forwards refused on caveats",
    ]
    body = [
        [
            r["topology"],
            str(r["buys"]["links"]),
            f"{r['buys']['peers_per_ncb']:g}",
            f"{100 * r['hub_share']:.0f} %",
            str(r["buys"]["reviews"]),
            str(r["buys"]["caveat_refusals"]),
        ]
        for r in rows
    ]
    return head, body


def _peers(row: dict[str, Any]) -> str:
    peers = row["buys"]["peers_per_ncb"]
    return f"{'about ' if peers != int(peers) else ''}{peers:g} peer{'' if peers == 1 else 's'}"


def what_this_shows(rows: list[dict[str, Any]]) -> list[str]:
    """A few sentences for the reader, from the figures: what the hub costs and what it buys."""
    if not rows:
        return []
    central = max(rows, key=lambda r: r["hub_share"])
    direct = min(rows, key=lambda r: (r["mean_hops"], -r["buys"]["links"]))
    lines = [
        f"The {central['topology']} topology sends {100 * central['hub_share']:.0f} % of the "
        f"traffic through the General Secretariat: {central['buys']['links']} links to secure, "
        f"{_peers(central)} for each NCB to trust, and one place that sees, can audit and can "
        "enforce caveats on nearly every message. It pays with "
        f"{central['mean_hops']:.2f} hops a delivery and a p99 of {central['p99_ms']:.1f} ms, "
        "and while the hub is down, everything that passes it waits.",
    ]
    if direct is not central:
        lines.append(
            f"The {direct['topology']} topology goes direct ({direct['mean_hops']:.2f} hops, p99 "
            f"{direct['p99_ms']:.1f} ms, {100 * direct['hub_share']:.0f} % through the hub), but "
            f"needs {direct['buys']['links']} links and {_peers(direct)} for each NCB to trust, "
            "and no single place sees the traffic."
        )
    reviews = {r["buys"]["reviews"] for r in rows}
    if reviews and max(reviews) > 0:
        lines.append(
            "Notice requests are reviewed by the General Secretariat on every topology: a review "
            "is an application step addressed to it, not a property of the routes."
        )
    if any(r["crypto"] == "modelled" for r in rows):
        lines.append(
            "The cryptography was modelled (--crypto modelled): every envelope checked by keyed "
            "digests instead of signatures and encryption, its cost charged as for the real one, "
            "so these figures are the ones real cryptography gives for the same seeds."
        )
    return lines


def write_compare(
    rows: list[dict[str, Any]],
    out: Path,
    scenario_name: str,
    windows: Sequence[tuple[str, float, float]] = (),
) -> None:
    """``compare.json``, ``compare.md``, ``compare.html`` and ``compare.png`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    head, table = compare_table(rows)
    buys_head, buys = buys_table(rows)
    shows = what_this_shows(rows)
    chart = compare_plot(rows, list(windows))
    (out / "compare.png").write_bytes(chart)
    title = f"{scenario_name}: topologies compared"
    md = [f"# {title}", "", *_md_table(head, table)]
    note = seeds_note(rows)
    md += ["", note] if note else []
    md += ["", "## What each topology buys", "", *_md_table(buys_head, buys)]
    md += ["", "## What this shows", "", *[f"- {line}" for line in shows]]
    md += ["", "![compare](compare.png)", ""]
    md += [f"- [{r['topology']}]({r['topology']}/report.md)" for r in rows]
    (out / "compare.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    data = base64.b64encode(chart).decode("ascii")
    maps = "".join(
        f'<figure><a href="{html.escape(r["topology"])}/report.html">'
        f'<img alt="map of the {html.escape(r["topology"])} topology" '
        f'src="{html.escape(r["topology"])}/map.png"></a>'
        f"<figcaption>{html.escape(r['topology'])}: "
        f'<a href="{html.escape(r["topology"])}/report.html">its report</a></figcaption></figure>'
        for r in rows
    )
    table_html = _html_table(head, table)
    if note:
        table_html += f"<p>{html.escape(note)}</p>"
    chart_html = (
        "<img alt=\"latency over time with the faults shaded, the hub's share, hops and links "
        f'by topology" src="data:image/png;base64,{data}">'
    )
    page = render(
        "compare.html",
        {
            "title": title,
            "style": html_part(REPORT_STYLE),
            "table": html_part(table_html),
            "buys": html_part(_html_table(buys_head, buys)),
            "shows": html_part("".join(f"<li>{html.escape(line)}</li>" for line in shows)),
            "chart": html_part(chart_html),
            "maps": html_part(maps),
        },
    )
    (out / "compare.html").write_text(page, encoding="utf-8")


def _md_table(head: list[str], body: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return lines + ["| " + " | ".join(row) + " |" for row in body]


def _html_table(head: list[str], body: list[list[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    trs = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in body
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"
