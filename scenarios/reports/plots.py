"""The report's plots, drawn with matplotlib (Agg: no display needed) as PNG bytes.

Latency distributions by message kind and by route, the timeline of deliveries with the injects
and faults, and the map (:mod:`scenarios.reports.maps`).
"""

from __future__ import annotations

import html
import io
import re
import unicodedata
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from hdrh.histogram import HdrHistogram
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MultipleLocator

from bureaus import Event
from scenarios.events import Control, Inject
from scenarios.exercise.deadlines import clock_label
from scenarios.model import (
    BrokerRestartFault,
    CompromisedFault,
    CutFault,
    DegradeFault,
    Fault,
    OfflineFault,
)
from scenarios.reports.maps import MapData, hover_titles, map_figure
from scenarios.reports.metrics import route_class
from scenarios.results import RunResult

__all__ = [
    "bucketed",
    "latency_plot",
    "map_plot",
    "map_svg",
    "plain",
    "png",
    "timeline_figure",
    "timeline_plot",
]


def plain(text: str) -> str:
    """``text`` for a picture: control characters (a tab, a line break) as spaces.

    Drawn with ``parse_math=False`` besides, so ``$...$`` in a name is not taken for a formula.
    """
    return "".join(" " if unicodedata.category(c).startswith("C") else c for c in text)


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes (and closed)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _cdf(ax: Any, points: list[tuple[float, int]], label: str) -> None:
    """A step CDF of (value, how many) points, in ascending order of value."""
    n = sum(count for _value, count in points)
    if not n:
        return
    xs, ys, below = [points[0][0]], [0.0], 0  # the curve rises from nothing at the lowest value
    for value, count in points:
        below += count
        xs.append(value)
        ys.append(below / n)
    ax.step(xs, ys, where="post", label=f"{label} (n={n})")


def _exact(values: list[float]) -> list[tuple[float, int]]:
    return [(value, 1) for value in sorted(values)]


def bucketed(histogram: HdrHistogram) -> list[tuple[float, int]]:
    """A latency histogram's recorded values (ms, each bucket at its highest equivalent value)."""
    return [
        (item.value_iterated_to / 1000, item.count_added_in_this_iter_step)
        for item in histogram.get_recorded_iterator()
    ]


def latency_plot(result: RunResult, key: str) -> bytes:
    """CDF of delivery latency grouped by message kind or route class.

    From every delivery; a lean run's from its latency histograms (three significant digits).
    """
    groups: dict[str, list[tuple[float, int]]] = {}
    figures = result.figures
    if figures is None:
        values: dict[str, list[float]] = {}
        for event in result.events:
            if event.kind != "delivered" or event.latency_ms is None:
                continue
            name = (event.message_kind or "unknown") if key == "kind" else route_class(event.route)
            values.setdefault(name, []).append(event.latency_ms)
        groups = {name: _exact(v) for name, v in values.items()}
    else:
        kept = figures.by_kind if key == "kind" else figures.by_route
        groups = {name: bucketed(latency.total) for name, latency in kept.items()}
    return _latency_figure(groups, key, virtual=result.clock == "virtual")


def _latency_figure(
    groups: dict[str, list[tuple[float, int]]], key: str, *, virtual: bool
) -> bytes:
    fig, ax = plt.subplots(figsize=(7, 4))
    groups = {name: points for name, points in groups.items() if points}
    for name, points in sorted(groups.items()):
        _cdf(ax, points, name)
    ax.set_xlabel(f"end-to-end latency (ms, {'virtual clock' if virtual else 'wall clock'})")
    ax.set_ylabel("fraction of deliveries")
    ax.set_title(f"Latency by {'message kind' if key == 'kind' else 'route'}")
    if groups:
        highest = max(points[-1][0] for points in groups.values())
        lowest = min(points[0][0] for points in groups.values())
        if highest > 10 * lowest:
            ax.set_xscale("log")
    ax.grid(alpha=0.3)
    if groups:
        ax.legend(fontsize=8)
    return png(fig)


def timeline_plot(result: RunResult) -> bytes:
    """The timeline (:func:`timeline_figure`) as PNG bytes."""
    return png(timeline_figure(result))


def timeline_figure(result: RunResult) -> Figure:
    """Deliveries over scenario time, with the injects named, faults as bands and bookmarks.

    The axis reads in scenario clock time (``hh:mm`` or ``d+hh:mm``), as the tables do.
    """
    fig, ax = plt.subplots(figsize=(9, 3.6))
    times, weights = _delivery_times(result)
    end = max([result.scenario.duration, *times]) if times else result.scenario.duration
    if times:
        ax.hist(
            times,
            bins=min(60, max(10, sum(weights) // 5)),
            range=(0, end),
            weights=weights,
            color="#4c72b0",
            alpha=0.8,
            label="deliveries",
        )
    top = ax.get_ylim()[1]
    for fault in result.scenario.faults:
        _draw_fault(ax, fault, top)
    for event in result.events:
        _draw_marker(ax, event, top)
    _scenario_axis(ax, end)
    ax.set_ylabel("deliveries")
    ax.set_title("Timeline")
    return fig


def _delivery_times(result: RunResult) -> tuple[list[float], list[int]]:
    """When deliveries happened, and how many at each time.

    Every delivery's time, one each; a lean run's slices of scenario time (each slice drawn at
    its middle, and the last slice ending at the last event), with their counts.
    """
    figures = result.figures
    if figures is None:
        times = [e.t_s for e in result.events if e.kind == "delivered"]
        return times, [1] * len(times)
    width = figures.slice_s
    slices = sorted(figures.delivered_in.items())
    return [min((k + 0.5) * width, figures.last_t_s) for k, _n in slices], [n for _k, n in slices]


def _draw_fault(ax: Axes, fault: Fault, top: float) -> None:
    """A band for a fault with a window, a dotted line for one at a moment."""
    if isinstance(fault, OfflineFault | CutFault | DegradeFault):
        window = fault.window
        where = window.bureau or f"region {window.region}"
        ax.axvspan(window.start, window.end, color="#c44e52", alpha=0.12, lw=0)
        ax.text(
            window.start,
            top * 0.98,
            plain(f" {where} {fault.tag}"),
            parse_math=False,
            fontsize=7,
            color="#a33",
            va="top",
            gid=f"fault {where}",
        )
    elif isinstance(fault, BrokerRestartFault | CompromisedFault):
        at = (
            fault.broker_restart.at
            if isinstance(fault, BrokerRestartFault)
            else fault.compromised.at
        )
        ax.axvline(at, color="#c44e52", linestyle=":", linewidth=1.2)
        ax.text(at, top * 0.98, f" {fault.tag}", fontsize=7, color="#a33", va="top")


def _draw_marker(ax: Axes, event: Event, top: float) -> None:
    """A named green line for a scripted inject, a star for a bookmark; nothing otherwise."""
    if isinstance(event, Inject) and event.bureau == "controller" and event.name:
        ax.axvline(event.t_s, color="#55a868", linestyle="--", linewidth=1)
        ax.text(
            event.t_s,
            top * 0.5,
            plain(f" {event.name}"),
            parse_math=False,
            rotation=90,
            fontsize=7,
            color="#2e7d32",
            va="center",
            gid=plain(f"inject {event.name}"),
        )
    elif isinstance(event, Control) and event.action == "bookmark":
        ax.plot([event.t_s], [top * 0.9], marker="*", color="#f0a500", markersize=11)
        note = (event.detail or "").removeprefix("bookmark: ")
        ax.text(
            event.t_s,
            top * 0.9,
            plain(f"  {note[:30]}"),
            fontsize=7,
            va="center",
            parse_math=False,
        )


def _scenario_axis(ax: Axes, end: float) -> None:
    """The x axis in scenario clock time: seconds, or ``d+hh:mm`` for an hour and more."""
    long_run = end >= 3_600
    if long_run:  # ticks on whole hours, ten at most
        step = next(h for h in (1, 2, 3, 6, 12, 24, 48, 96) if end / (h * 3_600) <= 10)
        ax.xaxis.set_major_locator(MultipleLocator(step * 3_600))
    ax.xaxis.set_major_formatter(
        FuncFormatter(lambda x, _pos: clock_label(x) if long_run else f"{x:g}")
    )
    ax.set_xlim(0, end)
    ax.set_xlabel(
        "scenario time (" + ("d+hh:mm" if long_run else "s") + ")   green: injects, "
        "red bands: faults, stars: bookmarks"
    )


def map_svg(result: RunResult) -> str:
    """The map as inline SVG for ``report.html``.

    Its arrows keep their ids (``traffic A>B``), so the review's slider can show each link from
    the moment it first carried something.
    """
    title = plain(f"{result.scenario.name}: traffic on the {result.topology} topology")
    data = MapData.of(result)
    fig = map_figure(data, result.roster, title=title)
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    return _with_titles(text[text.index("<svg") :], hover_titles(data, result.roster))


_GROUP = re.compile(r'<g id="([^"]+)">')


def _with_titles(svg: str, titles: dict[str, str]) -> str:
    """The SVG with a ``<title>`` (what a browser shows on hover) in each group named in titles."""

    def titled(match: re.Match[str]) -> str:
        text = titles.get(html.unescape(match.group(1)))
        if text is None:
            return match.group(0)
        return f"{match.group(0)}<title>{html.escape(text)}</title>"

    return _GROUP.sub(titled, svg)


def map_plot(result: RunResult) -> bytes:
    """The map of the run (see :mod:`scenarios.reports.maps`), as PNG bytes."""
    title = plain(f"{result.scenario.name}: traffic on the {result.topology} topology")
    return png(map_figure(MapData.of(result), result.roster, title=title))
