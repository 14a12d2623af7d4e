"""The report, the comparison and the debrief as a browser shows them: no sideways scrolling,
every image loads, the grid and the map are there (headless Chromium)."""

from __future__ import annotations

import re
from pathlib import Path

from scenarios.cli import main
from scenarios.reports.debrief import write_debrief
from scenarios.reports.metrics import check_expectations, summarise
from scenarios.reports.writer import write_report
from tests.browser import dom, layout, require_chromium
from tests.test_maps import run


def test_the_report_and_its_debrief_fit_the_window_and_show_grid_and_map(tmp_path: Path) -> None:
    require_chromium()
    result = run("missing-child")
    write_report(result, summarise(result), check_expectations(result), tmp_path)
    write_debrief(tmp_path, pdf=False)
    for page in ("report.html", "debrief.html"):
        measured = layout(tmp_path / page, tmp_path)
        assert measured == {"overflow": "false", "images": measured["images"], "broken": "0"}
        assert int(measured["images"]) >= 2
        text = dom(tmp_path / page, tmp_path)
        assert "Who knew what, when" in text
        assert 'class="cell-blocked"' in text
        assert 'alt="bureaus and traffic"' in text or 'aria-label="bureaus and traffic"' in text


def test_the_comparison_fits_the_window_and_links_every_topology(tmp_path: Path) -> None:
    require_chromium()
    out = tmp_path / "cmp"
    assert (
        main(["compare", "breaking-change", "--topology", "hub,mesh", "--quiet", "--out", str(out)])
        == 0
    )
    measured = layout(out / "compare.html", tmp_path)
    assert measured == {"overflow": "false", "images": "3", "broken": "0"}  # chart + two maps
    text = dom(out / "compare.html", tmp_path)
    assert 'href="hub/report.html"' in text
    assert 'href="mesh/report.html"' in text
    # both sides of the lab, as the browser laid them out, within the window
    assert "What this shows" in text
    assert "What each topology buys" in text
    assert "links to secure" in text


def test_the_probe_sees_a_page_that_scrolls_sideways_and_a_broken_image(tmp_path: Path) -> None:
    require_chromium()
    page = tmp_path / "wide.html"
    page.write_text(
        '<!doctype html><html><body><div style="width: 3000px">wide</div>'
        '<img alt="gone" src="missing.png"></body></html>',
        encoding="utf-8",
    )
    assert layout(page, tmp_path) == {"overflow": "true", "images": "1", "broken": "1"}


def test_the_time_slider_steps_the_message_table_and_the_map(tmp_path: Path) -> None:
    require_chromium()
    result = run("missing-child")
    write_report(result, summarise(result), check_expectations(result), tmp_path)
    page = tmp_path / "report.html"
    start, three_hours, end = (dom(page, tmp_path, f"t={t}") for t in (0, 10_800, 80_000))
    rows = re.findall(r'<tr data-t="([0-9.]+)"( class="future")?>', three_hours)
    assert rows
    assert all((float(t) > 10_800) == bool(future) for t, future in rows)
    assert "scenario time 0+03:00" in three_hours
    # the map's arrows appear from the moment their link first carried something
    hidden = re.compile(r'<g id="traffic ([^"]*)" style="opacity: 0;">')
    assert hidden.findall(start)
    assert not hidden.findall(end)
    assert len(hidden.findall(three_hours)) < len(hidden.findall(start))
