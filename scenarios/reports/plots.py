"""The report's plots, drawn with matplotlib (Agg: no display needed) as PNG bytes.

Latency distributions by message kind and by route, the timeline of deliveries with the injects
and faults, and the map (:mod:`scenarios.reports.maps`).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from bureaus import Event
from scenarios.reports.maps import map_figure
from scenarios.reports.metrics import route_class
from scenarios.results import RunResult

__all__ = ["latency_plot", "map_plot", "png", "timeline_plot"]


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes (and closed)."""
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
    return png(fig)


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
    return png(fig)


def map_plot(result: RunResult) -> bytes:
    """The map of the run (see :mod:`scenarios.reports.maps`), as PNG bytes."""
    title = f"{result.scenario.name}: traffic on the {result.topology} topology"
    return png(map_figure(result.events, result.roster, title=title))
