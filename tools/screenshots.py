"""Regenerate the README's screenshots (``docs/images/*.png``) from bundled scenarios.

Run (needs Chromium: ``apt-get install chromium``)::

    python tools/screenshots.py

Everything is simulated on the virtual clock, so the pictures are the same on every machine:
``missing-child`` for the trainers' pages (the report's grid and map, the debrief) and
``hub-outage`` on the four topologies for the students' comparison. The room's pages (a player's
and the facilitator's) come from a live run of ``docs/examples/room-drill.yaml`` on the embedded
Mosquitto, photographed through Playwright once the messages are in.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image

from scenarios.cli import LIBRARY, main
from scenarios.exercise.control import ExerciseControl
from scenarios.exercise.room import Room, serve
from scenarios.launch import run_scenario
from scenarios.model import load_scenario
from scenarios.reports.debrief import chromium, write_debrief
from scenarios.reports.metrics import check_expectations, summarise
from scenarios.reports.writer import write_report
from scenarios.runner import RunOptions, simulate

OUT = Path(__file__).resolve().parent.parent / "docs" / "images"


def excerpt(page: Path, start: str, end: str, work: Path) -> str:
    """A page holding one section of ``page`` (from ``start`` up to ``end``) under its styles."""
    text = page.read_text(encoding="utf-8")
    head = text[: text.index("<body>") + len("<body>")]
    body = text[text.index(start) : text.index(end, text.index(start))]
    piece = work / f"excerpt-{abs(hash(start))}.html"
    piece.write_text(head + body + "</body></html>", encoding="utf-8")
    return piece.as_uri()


def shoot(page: str, target: Path, work: Path, height: int = 900) -> None:
    """A 1200-pixel-wide picture of the page at URL ``page``, as a 256-colour PNG.

    (A 256-colour PNG keeps the repository small.)
    """
    browser = chromium()
    if browser is None:
        raise SystemExit("Chromium is needed: apt-get install chromium")
    raw = work / "shot.png"
    subprocess.run(  # noqa: S603 - our own browser and our own files
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={work / 'profile'}",
            f"--window-size=1200,{height}",
            "--virtual-time-budget=3000",
            f"--screenshot={raw}",
            page,
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    Image.open(raw).convert("RGB").quantize(256).save(target, optimize=True)
    print(f"{target} ({target.stat().st_size // 1024} KiB)")


def main_() -> None:
    """Write every screenshot."""
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        run_dir = work / "missing-child"
        result = simulate(load_scenario(LIBRARY / "missing-child.yaml"), RunOptions())
        write_report(result, summarise(result), check_expectations(result), run_dir)
        summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
        kept = summary["evidence"]["signer_fingerprint"]  # as the trainer kept it from the run
        write_debrief(run_dir, pdf=False, fingerprint=kept)
        report = run_dir / "report.html"
        grid = excerpt(report, '<h2 id="grid">', "<h2>Caveat breaches</h2>", work)
        shoot(grid, OUT / "trainer-grid.png", work, height=1100)
        messages = excerpt(report, '<h2 id="messages">', "<h2>Evidence</h2>", work)
        shoot(messages, OUT / "trainer-messages.png", work, height=460)
        shoot((run_dir / "debrief.html").as_uri(), OUT / "trainer-debrief.png", work)
        (OUT / "trainer-map.png").write_bytes((run_dir / "map.png").read_bytes())
        compare = work / "hub-outage-compare"
        args = ["compare", "hub-outage", "--seeds", "3", "--quiet", "--out", str(compare)]
        if main(args) != 0:
            raise SystemExit("compare failed")
        shoot((compare / "compare.html").as_uri(), OUT / "student-compare.png", work, 1100)
        asyncio.run(room_shots(work))


async def room_shots(work: Path) -> None:
    """A player's page and the facilitator's, from a live run of the room drill."""
    from playwright.async_api import async_playwright  # noqa: PLC0415 - a dev tool

    scenario = load_scenario(OUT.parent / "examples" / "room-drill.yaml")
    control = ExerciseControl()
    room = Room(control)
    async with serve(room):
        running = asyncio.create_task(run_scenario(scenario, RunOptions(control=control)))
        while not control.ready:
            await asyncio.sleep(0.1)
        room.open_for(control.played())
        while len(control.player_view("BE").inbox) < 2:
            await asyncio.sleep(0.2)
        control.pause()  # the facilitator's page shows the pause
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=shutil.which("chromium"), args=["--no-sandbox"]
            )
            for who, target, height in (
                ("BE", "room-player.png", 1000),
                ("facilitator", "room-facilitator.png", 1100),
            ):
                page = await (await browser.new_context()).new_page()
                await page.set_viewport_size({"width": 1000, "height": height})
                await page.goto(room.links()[who])
                raw = work / target
                await page.screenshot(path=str(raw))
                Image.open(raw).convert("RGB").quantize(256).save(OUT / target, optimize=True)
                print(f"{OUT / target} ({(OUT / target).stat().st_size // 1024} KiB)")
            await browser.close()
        control.stop()
        await running


if __name__ == "__main__":
    main_()
