"""The report's review as a person uses it, in Chromium driven by Playwright.

The grid at a moment tells what was true then (received before the answer, overdue from the
deadline until it came), refused forwards appear on the map when they were refused, the map
says what each bureau did when hovered, the slider sits with the map, and nothing is cut off in
a narrow window.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from scenarios.cli import LIBRARY
from scenarios.model import load_scenario
from scenarios.reports.metrics import check_expectations, summarise
from scenarios.reports.writer import write_report
from scenarios.runner import RunOptions, simulate
from tests.browser import require_chromium
from tests.test_maps import run


@contextmanager
def opened(page: Path, *, width: int = 1280) -> Iterator[Page]:
    """The page in a Chromium window ``width`` pixels wide."""
    browser_path = require_chromium()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
        try:
            tab = browser.new_page(viewport={"width": width, "height": 900})
            tab.goto(page.as_uri())
            yield tab
        finally:
            browser.close()


@pytest.fixture(params=["full", "lean"])
def kept(request: pytest.FixtureRequest) -> str:
    """A report of a full run, or of a lean one (drawn from the figures it kept as it went)."""
    return str(request.param)


def report(tmp_path: Path, kept: str = "full") -> Path:
    if kept == "lean":
        scenario = load_scenario(LIBRARY / "missing-child.yaml")
        log = tmp_path / "events.jsonl.partial"
        result = simulate(scenario, RunOptions(lean=True, events_path=log))
    else:
        result = run("missing-child")
    write_report(result, summarise(result), check_expectations(result), tmp_path / "report")
    return tmp_path / "report" / "report.html"


def at(tab: Page, t: float) -> None:
    """Move the slider to scenario second ``t`` as a person dragging it would."""
    tab.locator("#review-t").evaluate(
        "(el, t) => { el.value = t; el.dispatchEvent(new Event('input')); }", t
    )


def cell(tab: Page, bureau: str, message: str) -> tuple[str, str]:
    """The grid cell of ``bureau`` for ``message``: its state class and its text."""
    found = tab.evaluate(
        """([bureau, message]) => {
          for (const table of document.querySelectorAll("table.knowledge")) {
            const names = [...table.querySelectorAll("thead th")].map((th) => th.textContent);
            const column = names.indexOf(message);
            if (column < 0) continue;
            for (const row of table.querySelectorAll("tbody tr")) {
              if (row.cells[0].textContent !== bureau) continue;
              const td = row.cells[column];
              return [td.className, td.innerText];
            }
          }
          return null;
        }""",
        [bureau, message],
    )
    assert found is not None, (bureau, message)
    return found[0], found[1]


def test_the_grid_at_a_moment_shows_received_and_overdue_as_they_were(
    tmp_path: Path, kept: str
) -> None:
    # before: a message received and answered later showed "ack" or nothing, and an overdue
    # bureau showed an empty cell until its late answer came
    with opened(report(tmp_path, kept)) as tab:
        at(tab, 1_830)  # BE has alert-1 (delivered 00:30:19) and not yet acknowledged it
        assert cell(tab, "BE", "alert-1") == ("cell-received", "received\n0+00:30")
        at(tab, 1_000)
        assert cell(tab, "BE", "alert-1")[0] == "cell-waiting"
        at(tab, 31_000)  # IT was offline: its answer was due at 08:30 and had not come
        assert cell(tab, "IT", "alert-1") == ("cell-overdue", "OVERDUE\n0+08:30")
        at(tab, 80_000)
        assert cell(tab, "IT", "alert-1") == ("cell-late", "LATE\n0+10:01")
        assert cell(tab, "BE", "alert-1")[0] == "cell-acknowledged"
        assert cell(tab, "ES", "border-check")[0] == "cell-received"  # never acknowledged


def test_a_refused_forward_appears_on_the_map_when_it_was_refused(
    tmp_path: Path, kept: str
) -> None:
    # before: the dashed line of DE's refused forward to NL was drawn from t=0
    with opened(report(tmp_path, kept)) as tab:
        line = tab.locator('[id="blocked DE>NL"]')
        assert line.count() == 1
        at(tab, 0)
        assert line.evaluate("el => getComputedStyle(el).opacity") == "0"
        at(tab, 7_199)
        assert line.evaluate("el => getComputedStyle(el).opacity") == "0"
        at(tab, 7_201)  # refused at 02:00
        assert line.evaluate("el => getComputedStyle(el).opacity") == "1"


def test_hovering_a_bureau_on_the_map_tells_its_figures(tmp_path: Path, kept: str) -> None:
    with opened(report(tmp_path, kept)) as tab:
        title = tab.locator('[id="bureau IT"] > title')
        assert title.count() == 1
        text = title.text_content() or ""
        assert text.startswith("IT (")
        assert "received 4" in text  # alert-1, ccc-alert, yellow-1, reminder-it
        assert "acknowledged 4" in text
        de = tab.locator('[id="bureau DE"] > title').text_content() or ""
        assert "refused forwards 2" in de  # one forward, two caveats broken
        arrow = tab.locator('[id^="traffic "] > title').first.text_content() or ""
        assert " to " in arrow
        assert "message" in arrow


def test_the_slider_sits_with_the_map_and_stays_in_view(tmp_path: Path) -> None:
    # before: the slider was 2,400 pixels above the map
    with opened(report(tmp_path)) as tab:
        slider = tab.locator(".review").bounding_box()
        drawn = tab.locator(".map").bounding_box()
        assert slider is not None
        assert drawn is not None
        assert 0 <= drawn["y"] - (slider["y"] + slider["height"]) < 40
        tab.locator("table.knowledge").last.scroll_into_view_if_needed()
        still = tab.locator(".review").bounding_box()
        assert still is not None
        assert 0 <= still["y"] < 900  # sticky: on screen while the grid is read


def test_nothing_is_cut_off_in_a_narrow_window(tmp_path: Path) -> None:
    # before: the grid's last columns were cut inside an 880-pixel column
    with opened(report(tmp_path), width=880) as tab:
        cut = tab.evaluate(
            """() => {
              const out = [];
              if (document.documentElement.scrollWidth > document.documentElement.clientWidth)
                out.push("page");
              for (const el of document.querySelectorAll("table.knowledge, .map svg")) {
                if (el.scrollWidth > el.clientWidth + 1) out.push(el.tagName + " " + el.className);
                const right = el.getBoundingClientRect().right;
                if (right > document.documentElement.clientWidth + 1) out.push("beyond " + right);
              }
              return out;
            }"""
        )
        assert cut == []
        assert tab.locator("table.knowledge").count() == 1  # seven messages: one table
