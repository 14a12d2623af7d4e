"""The report's map: land, the bureaus that took part, and where their traffic went.

Countries are drawn from Natural Earth's 1:110m outlines (public domain), shipped with the
package (``data/land.json``, made by ``tools/make_land.py``). The view is zoomed to the bureaus
that sent, carried or received something (ten European bureaus fill the frame instead of making
one dot on a world map). Arrows point the way the traffic went, their width by the number of
messages; bureaus that were offline at some point are grey; forwards refused under their caveats
are dashed red; bureaus that share a city (the General Secretariat and the Command and
Coordination Centre in Lyon, a regional bureau and its host country) are set apart and labelled.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from bureaus import Event
from protocol import Roster
from scenarios.reports.metrics import traffic_by_link
from scenarios.reports.running import MapTally
from scenarios.results import RunResult

__all__ = [
    "MAP_LABEL_LIMIT",
    "MapData",
    "bureau_counts",
    "first_traffic",
    "hover_titles",
    "land_rings",
    "map_figure",
    "taking_part",
]

ROLE_COLOURS = {
    "ncb": "#4c72b0",
    "general-secretariat": "#c44e52",
    "regional-bureau": "#dd8452",
    "regional-organisation": "#55a868",
    "command-centre": "#8172b3",
}
MAP_LABEL_LIMIT = 40
"""Label every bureau up to this many; beyond, the hub and the busiest bureaus only."""
_SPREAD_DEG = 1.6
"""How far apart bureaus of one city are drawn (the GS and the CCC in Lyon, a regional bureau
and its host NCB)."""


@cache
def land_rings() -> tuple[tuple[tuple[float, float], ...], ...]:
    """Every country's outline rings, as (longitude, latitude) points."""
    data = resources.files("scenarios.reports").joinpath("data/land.json").read_text("utf-8")
    document = json.loads(data)
    return tuple(
        tuple((x, y) for x, y in ring)
        for country in document["countries"]
        for ring in country["rings"]
    )


@dataclass(frozen=True, slots=True)
class MapData:
    """What the map draws: who took part, what each did, each link's traffic, who went offline.

    Made from a whole run's events, or from what a lean run counted as it went (its figures'
    :class:`~scenarios.reports.running.MapTally` and traffic, with its kept events for the
    faults): the same map either way.
    """

    tally: MapTally
    traffic: dict[tuple[str, str], tuple[int, int]]
    offline: set[str]

    @classmethod
    def of(cls, result: RunResult) -> MapData:
        """The map's data for ``result`` (a lean run's from its running figures)."""
        figures = result.figures
        if figures is None:
            events = result.events
            return cls(MapTally.of(events), traffic_by_link(events), _offline(events))
        traffic = {link: (count, size) for link, (count, size) in figures.traffic.items()}
        return cls(figures.tally, traffic, _offline(result.events))


def taking_part(data: MapData, roster: Roster) -> list[str]:
    """The bureaus that sent, carried or received something (all of the roster if none did)."""
    return [b for b in data.tally.taking_part if b in roster] or [b.id for b in roster]


def first_traffic(data: MapData) -> dict[str, float]:
    """When each arrow of the map first happened, by the id the map gives it.

    ``traffic A>B``: the first delivery carried over the link; ``blocked A>B``: the first
    forward from A to B refused under its caveats.
    """
    tally = data.tally
    return {
        **{f"traffic {a}>{b}": t for (a, b), t in tally.first_link.items()},
        **{f"blocked {a}>{b}": t for (a, b), t in tally.first_blocked.items()},
    }


def bureau_counts(data: MapData) -> dict[str, dict[str, int]]:
    """What each bureau did in a run, as the map's hover tells it.

    ``sent`` messages it originated, ``received`` deliveries to it, ``carried`` deliveries it
    relayed, ``acknowledged`` acknowledgements it sent, ``refused forwards`` its forwards refused
    under caveats, ``rejected`` what it refused to accept.
    """
    return data.tally.by_bureau


def hover_titles(data: MapData, roster: Roster) -> dict[str, str]:
    """The text a browser shows over each bureau of the SVG map, by the map's id for it."""
    titles = {}
    for bureau, counts in bureau_counts(data).items():
        if bureau not in roster:
            continue
        info = roster.get(bureau)
        figures = ", ".join(f"{what} {n}" for what, n in counts.items() if n)
        titles[f"bureau {bureau}"] = f"{bureau} ({info.name}): {figures or 'no traffic'}"
    for (a, b), (count, _size) in data.traffic.items():
        titles[f"traffic {a}>{b}"] = f"{a} to {b}: {count} message{'s' if count != 1 else ''}"
    return titles


def _offline(events: list[Event]) -> set[str]:
    return {
        bureau
        for e in events
        if e.kind == "fault" and (e.detail or "").startswith("offline")
        for bureau in e.bureau.split(",")
    }


def _places(roster: Roster, bureaus: list[str]) -> dict[str, tuple[float, float]]:
    """Where each bureau is drawn: its city, spread around it when several share the city."""
    by_city: dict[tuple[float, float], list[str]] = {}
    for bureau in bureaus:
        info = roster.get(bureau)
        by_city.setdefault((round(info.lon, 1), round(info.lat, 1)), []).append(bureau)
    places: dict[str, tuple[float, float]] = {}
    for (lon, lat), here in by_city.items():
        if len(here) == 1:
            places[here[0]] = (lon, lat)
            continue
        for k, bureau in enumerate(here):
            angle = math.pi / 4 + 2 * math.pi * k / len(here)
            places[bureau] = (
                lon + _SPREAD_DEG * math.cos(angle),
                lat + _SPREAD_DEG * math.sin(angle),
            )
    return places


def _extent(points: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    """A view around the points: a margin, at least 24 x 16 degrees, within the world."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    w = max(24.0, (x1 - x0) * 1.2 + 6)
    h = max(16.0, (y1 - y0) * 1.2 + 6)
    w, h = min(w, 360.0), min(h, 150.0)
    x0, x1 = max(-180.0, cx - w / 2), min(180.0, cx + w / 2)
    y0, y1 = max(-60.0, cy - h / 2), min(85.0, cy + h / 2)
    return x0, x1, y0, y1


def map_figure(data: MapData, roster: Roster, *, title: str) -> Figure:
    """The map of a run's traffic (a matplotlib figure; the caller saves and closes it)."""
    fig, ax = plt.subplots(figsize=(10, 5.2))
    ax.set_facecolor("#dfe9f3")  # the sea
    land = PolyCollection(
        land_rings(), facecolors="#f2efe9", edgecolors="#b9b3a8", linewidths=0.4, zorder=0
    )
    land.set_gid("land")
    ax.add_collection(land)
    bureaus = taking_part(data, roster)
    places = _places(roster, bureaus)
    traffic = data.traffic
    _draw_traffic(ax, traffic, places)
    blocked = _draw_blocked(ax, data.tally, places)
    offline = data.offline
    _draw_bureaus(ax, bureaus, places, roster, offline)
    _draw_labels(ax, _labelled(bureaus, traffic, roster), places, offline)
    x0, x1, y0, y1 = _extent(list(places.values()))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, parse_math=False)
    _legend(ax, offline=bool(offline), blocked=bool(blocked))
    return fig


_Places = dict[str, tuple[float, float]]


def _draw_traffic(
    ax: Axes, traffic: dict[tuple[str, str], tuple[int, int]], places: _Places
) -> None:
    """An arrow per link that carried something, as wide as its share of the busiest link."""
    peak = max((count for count, _size in traffic.values()), default=1)
    widest = 3.2 if len(traffic) <= 40 else 1.4  # a fan-out to 195 would be a grey blot
    for (a, b), (count, _size) in sorted(traffic.items(), key=lambda kv: kv[1][0]):
        if a not in places or b not in places:
            continue
        arrow = ax.annotate(
            "",
            xy=places[b],
            xytext=places[a],
            arrowprops={
                "arrowstyle": "-|>",
                "color": "#555555",
                "alpha": 0.55,
                "lw": 0.4 + widest * math.sqrt(count / peak),
                "shrinkA": 3,
                "shrinkB": 3,
            },
            zorder=1,
            gid=f"traffic {a}>{b}",
        )
        if arrow.arrow_patch is not None:  # the drawn arrow, found by this id in the SVG map
            arrow.arrow_patch.set_gid(f"traffic {a}>{b}")


def _draw_blocked(ax: Axes, tally: MapTally, places: _Places) -> list[tuple[str, str]]:
    """A dashed red line per forward refused under its caveats; the (sender, target) pairs."""
    blocked = sorted(
        (sender, target)
        for sender, target in tally.first_blocked
        if sender in places and target in places
    )
    for sender, target in blocked:
        (x0, y0), (x1, y1) = places[sender], places[target]
        gid = f"blocked {sender}>{target}"
        ax.plot([x0, x1], [y0, y1], "--", color="#c0392b", lw=1.6, zorder=2, gid=gid)
    return blocked


def _draw_bureaus(
    ax: Axes, bureaus: list[str], places: _Places, roster: Roster, offline: set[str]
) -> None:
    """A point per bureau (so that each has its own hover text), coloured by role."""
    for role, colour in ROLE_COLOURS.items():
        labelled_role = False
        for bureau in (b for b in bureaus if roster.get(b).role == role):
            away = bureau in offline
            label = None if away or labelled_role else role.replace("-", " ")
            labelled_role = labelled_role or label is not None
            ax.scatter(
                [places[bureau][0]],
                [places[bureau][1]],
                s=18 if role == "ncb" else 40,
                color="#9e9e9e" if away else colour,
                edgecolors="white",
                linewidths=0.5,
                label=label,
                zorder=3,
                gid=f"bureau {bureau}",
            )


def _draw_labels(ax: Axes, labelled: list[str], places: _Places, offline: set[str]) -> None:
    for bureau in labelled:
        name = "GS" if bureau == "gs" else "CCC" if bureau == "ccc" else bureau
        ax.annotate(
            name + (" (offline)" if bureau in offline else ""),
            places[bureau],
            xytext=(4, 3),
            textcoords="offset points",
            fontsize=7,
            zorder=4,
            gid=f"label {bureau}",
        )


def _legend(ax: Axes, *, offline: bool, blocked: bool) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if offline:
        handles.append(Line2D([], [], marker="o", ls="", color="#9e9e9e"))
        labels.append("offline at some point")
    if blocked:
        handles.append(Line2D([], [], ls="--", color="#c0392b"))
        labels.append("forward refused (caveats)")
    handles.append(Line2D([], [], color="#555555", lw=2, marker=">", markersize=5))
    labels.append("traffic, width by messages")
    ax.legend(handles, labels, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def _labelled(
    bureaus: list[str], traffic: dict[tuple[str, str], tuple[int, int]], roster: Roster
) -> list[str]:
    if len(bureaus) <= MAP_LABEL_LIMIT:
        return bureaus
    load: dict[str, int] = {}
    for (a, b), (count, _size) in traffic.items():
        load[a] = load.get(a, 0) + count
        load[b] = load.get(b, 0) + count
    hubs = [b for b in bureaus if roster.get(b).role != "ncb"]
    busiest = sorted((b for b in bureaus if b not in hubs), key=lambda b: -load.get(b, 0))
    return [*hubs[:12], *busiest[:12]]
