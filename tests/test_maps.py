"""The report's map: land drawn, zoomed to the bureaus taking part, labelled, arrows by volume."""

from __future__ import annotations

from functools import cache

from matplotlib.collections import PolyCollection
from matplotlib.text import Annotation

from scenarios.cli import LIBRARY
from scenarios.model import load_scenario
from scenarios.reports.maps import MapData, land_rings, map_figure, taking_part
from scenarios.reports.metrics import traffic_by_link
from scenarios.reports.plots import timeline_figure
from scenarios.results import RunResult
from scenarios.runner import RunOptions, simulate


@cache
def run(name: str) -> RunResult:
    return simulate(load_scenario(LIBRARY / f"{name}.yaml"), RunOptions())


def test_the_shipped_land_covers_the_continents() -> None:
    rings = land_rings()
    assert len(rings) > 150
    xs = [x for ring in rings for x, _y in ring]
    ys = [y for ring in rings for _x, y in ring]
    assert min(xs) < -160
    assert max(xs) > 160
    assert min(ys) < -50
    assert max(ys) > 70


def test_a_european_run_is_zoomed_to_europe_with_land_labels_and_arrows() -> None:
    result = run("breaking-change")
    fig = map_figure(MapData.of(result), result.roster, title="t")
    ax = fig.axes[0]
    assert [c for c in ax.collections if isinstance(c, PolyCollection) and c.get_gid() == "land"]
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    assert -15 < x0 < x1 < 40  # Europe, not the world
    assert 30 < y0 < y1 < 70
    labels = {t.get_text() for t in ax.texts}
    part = set(taking_part(MapData.of(result), result.roster))
    assert {"FR", "DE"} <= part
    assert part <= labels
    arrows = [a for a in ax.texts if isinstance(a, Annotation) and a.get_gid()]
    drawn = {a.get_gid() for a in arrows if str(a.get_gid()).startswith("traffic")}
    expected = {f"traffic {a}>{b}" for a, b in traffic_by_link(result.events)}
    assert drawn
    assert drawn == expected


def test_the_general_secretariat_and_the_command_centre_are_set_apart() -> None:
    result = run("missing-child")
    fig = map_figure(MapData.of(result), result.roster, title="t")
    positions = {
        t.get_text(): t.xy
        for t in fig.axes[0].texts
        if isinstance(t, Annotation) and t.get_text() in ("GS", "CCC", "FR")
    }
    assert "CCC" in positions
    if "GS" in positions:
        assert positions["GS"] != positions["CCC"]


def test_a_world_wide_run_labels_the_hub_and_the_busiest_only() -> None:
    result = run("red-notice")
    assert len(taking_part(MapData.of(result), result.roster)) > 150
    fig = map_figure(MapData.of(result), result.roster, title="red-notice on hub")
    labels = {t.get_text() for t in fig.axes[0].texts if t.get_text()}
    assert "GS" in labels
    assert len(labels) <= 24
    assert fig.axes[0].get_title() == "red-notice on hub"


def test_the_timeline_names_injects_and_bands_faults() -> None:
    fig = timeline_figure(run("missing-child"))
    ax = fig.axes[0]
    gids = {t.get_gid() for t in ax.texts}
    assert {"inject alert-1", "inject leak", "fault IT"} <= gids
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert "0+02:00" in labels  # scenario clock time on whole hours, as the tables write it
