"""The room: three players and a facilitator on their own pages, in real browsers.

The exercise runs live on Mosquitto with its room served on loopback (what ``bureaunet exercise
--serve`` does); Playwright drives the installed Chromium in separate browser contexts, one per
person, and a real HTTP client tries what a player should not be able to do.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, async_playwright

from scenarios.cli import main
from scenarios.exercise.control import ExerciseControl
from scenarios.exercise.room import Room, serve
from scenarios.launch import run_scenario
from scenarios.model import parse_scenario
from scenarios.reports.debrief import write_debrief
from scenarios.reports.grid import knowledge_grid
from scenarios.reports.metrics import check_expectations, summarise
from scenarios.reports.writer import write_report
from scenarios.results import RunResult
from scenarios.runner import RunOptions
from tests.browser import require_chromium
from tests.conftest import require_mosquitto

ROOM = """
name: room drill
roster: [gs, FR, DE, IT, BE, NL, ES]
topology: hub
duration: 2h
speed: 30
drain: 1
network: {model: false}
players: [IT, BE, NL]
injects:
  - {at: 1m, name: alert, diffusion: {from: FR, to: [IT, BE], priority: urgent,
     text: "Suspect vehicle <b>AB-123</b> crossing tonight."}}
  - {at: 1m, name: question, case_message: {from: DE, to: [NL], subject: Do you know him}}
  - {at: 1m, name: tip, diffusion: {from: FR, to: [BE], handling_code: H2, text: For BE only.}}
expect:
  - {name: alert answered, acknowledged: {message: alert, by: [IT, BE], within: 1h}}
  - {name: question answered, acknowledged: {message: question, by: [NL], within: 1h}}
"""


async def eventually(check: Callable[[], Awaitable[bool] | bool], what: str) -> None:
    """Wait until ``check`` holds (bounded generously: a busy machine is slow, not wrong)."""
    for _ in range(600):
        got = check()
        if isinstance(got, Awaitable):
            got = await got
        if got:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@asynccontextmanager
async def a_room(text: str = ROOM) -> AsyncIterator[tuple[Room, asyncio.Task[RunResult]]]:
    require_mosquitto()
    control = ExerciseControl()
    room = Room(control)
    async with serve(room):
        running = asyncio.create_task(
            run_scenario(parse_scenario(text), RunOptions(control=control))
        )
        await eventually(lambda: control.ready or running.done(), "the exercise to start")
        room.open_for(control.played())
        try:
            yield room, running
        finally:
            if not running.done():
                control.stop()
            await asyncio.wait_for(asyncio.shield(running), 120)


async def shows(page: Page, text: str) -> bool:
    return text in await page.inner_text("body")


async def test_three_players_and_a_facilitator_steer_an_exercise_in_real_browsers(
    tmp_path: Path,
) -> None:
    browser_path = require_chromium()
    async with a_room() as (room, running), async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
        links = room.links()
        pages: dict[str, Page] = {}
        for who in ("facilitator", "IT", "BE", "NL"):
            context = await browser.new_context()  # one person, one browser session
            pages[who] = await context.new_page()
            await pages[who].goto(links[who])
        it, be, nl, facilitator = pages["IT"], pages["BE"], pages["NL"], pages["facilitator"]
        for page, what in ((it, "diffusion from FR"), (be, "For BE only."), (nl, "Do you know")):
            await eventually(functools.partial(shows, page, what), f"{what} on its page")
        # escaped: the text's markup is shown as text, not made into a tag
        assert await it.locator("pre.text").first.inner_text() == (
            "Suspect vehicle <b>AB-123</b> crossing tonight."
        )
        # a player sees its own bureau only
        assert "For BE only." not in await it.inner_text("body")

        # two players answer at the same time: IT acknowledges, BE passes the alert on to ES
        async def it_acknowledges() -> None:
            await it.locator("article", has_text="Suspect vehicle").locator("button.answer").click()

        async def be_forwards() -> None:
            card = be.locator("article", has_text="Suspect vehicle")
            await card.locator("input[name=to]").fill("ES")
            await card.locator("button.forward").click()

        await asyncio.gather(it_acknowledges(), be_forwards())
        await eventually(lambda: shows(it, "acknowledged"), "IT's note")
        await eventually(lambda: shows(be, "forwarded: that answers it"), "BE's note")
        # BE tries to pass on the H2 tip without the originator's agreement: refused, it stays
        tip = be.locator("article", has_text="For BE only.")
        await tip.locator("input[name=to]").fill("ES")
        await tip.locator("button.forward").click()
        await eventually(lambda: shows(be, "not forwarded"), "the refusal")
        assert await be.locator("article", has_text="For BE only.").count() == 1
        # NL replies to DE's question
        question = nl.locator("article", has_text="Do you know")
        await question.locator("textarea[name=text]").fill("Known here: a record from 2024.")
        await question.locator("button.reply").click()
        await eventually(lambda: shows(nl, "reply sent"), "NL's note")
        await eventually(lambda: shows(nl, "case-message to DE"), "NL's reply among its sends")

        # the facilitator pauses, sends an ad-hoc inject to IT, takes ES off the network
        await facilitator.click("#pause")
        await eventually(lambda: shows(facilitator, "PAUSED"), "the pause")
        inject = facilitator.locator("#inject")
        await inject.locator("select[name=sender]").select_option("DE")
        await inject.locator("input[name=to]").fill("IT")
        await inject.locator("textarea[name=text]").fill("Ad hoc: a second vehicle.")
        await inject.locator("button").click()
        await eventually(lambda: shows(facilitator, "sent as ad-hoc-1"), "the inject's note")
        await eventually(lambda: shows(it, "Ad hoc: a second vehicle."), "the inject at IT")
        await facilitator.locator("#down select").select_option("ES")
        await facilitator.locator("#down button").click()
        await eventually(lambda: shows(facilitator, "ES is offline"), "ES down")
        await facilitator.click("#resume")
        await facilitator.locator("#end input[name=sure]").check()
        await facilitator.locator("#end button").click()
        await eventually(running.done, "the exercise to end")
        await browser.close()
    result = running.result()
    # the review: each answer, on time, under the right bureau
    grid = knowledge_grid(result)
    assert grid.cells[("IT", "alert")].state == "acknowledged"
    assert grid.cells[("BE", "alert")].state == "acknowledged"  # the forward answered it
    assert grid.cells[("NL", "question")].state == "acknowledged"  # the reply answered it
    assert grid.cells[("BE", "tip")].state == "received"  # refused forward: still owed
    statuses = {
        (e.peer, e.message_id): getattr(e, "status", "")
        for e in result.events
        if e.kind == "acknowledged"
    }
    assert statuses[("BE", result.inject_ids["alert"])] == "actioned"
    assert statuses[("NL", result.inject_ids["question"])] == "actioned"
    details = [e.detail or "" for e in result.events if e.bureau in ("controller", "ES")]
    assert "paused" in details
    assert any(d.startswith("ad-hoc-1: diffusion (ad hoc") for d in details)
    assert "offline (by the facilitator)" in details
    assert "exercise ended by the controller" in details


async def test_a_players_link_opens_its_own_bureau_and_nothing_else() -> None:
    async with a_room() as (room, _running), httpx.AsyncClient(timeout=30) as http:
        links = room.links()
        it_token = links["IT"].rsplit("/", 1)[1]
        await eventually(
            lambda: bool(room.control.player_view("BE").inbox), "BE's messages to arrive"
        )
        be_message = room.control.player_view("BE").inbox[0].message_id
        it_page = (await http.get(links["IT"])).text
        assert "<h1>IT</h1>" in it_page
        assert be_message not in it_page
        base = room.base
        for url in (
            f"{base}/play/{'x' * 32}",  # a guess
            f"{base}/play/{room.facilitator}",  # the facilitator's token opens no player page
            f"{base}/run/{it_token}",  # a player's token opens no facilitator page
        ):
            answer = await http.get(url)
            assert answer.status_code == 404, url
            assert "BE" not in answer.text
        # nor does it steer the exercise
        steer = await http.post(f"{base}/run/{it_token}/pause", data={"csrf": "x"})
        assert steer.status_code == 404
        assert not room.control.snapshot(expectations=False).paused
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', it_page)
        assert csrf is not None
        # acting on BE's message with IT's link: refused, BE's message untouched
        done = await http.post(
            f"{links['IT']}/answer", data={"csrf": csrf.group(1), "message_id": be_message}
        )
        assert done.status_code == 303
        assert done.headers["location"].startswith(f"/play/{it_token}?note=not%20done")
        assert any(m.message_id == be_message for m in room.control.player_view("BE").inbox)
        # a form without the page's value, or from another site, is refused
        assert (
            await http.post(f"{links['IT']}/answer", data={"message_id": "x"})
        ).status_code == 403
        foreign: dict[str, Any] = {"csrf": csrf.group(1), "message_id": "x"}
        refused = await http.post(
            f"{links['IT']}/answer", data=foreign, headers={"Origin": "http://evil.example"}
        )
        assert refused.status_code == 403
        # every page says: no caching, no referrer (the token is in the URL), our script only
        headers = (await http.get(links["IT"])).headers
        assert headers["referrer-policy"] == "same-origin"
        assert "script-src 'self'" in headers["content-security-policy"]


def test_exercise_serve_prints_the_links_and_writes_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require_mosquitto()
    path = tmp_path / "room.yaml"
    path.write_text(ROOM.replace("duration: 2h", "duration: 3m"), encoding="utf-8")
    out = tmp_path / "report"
    code = main(["exercise", str(path), "--serve", "--speed", "60", "--out", str(out)])
    said = capsys.readouterr().out
    assert code == 1  # nobody answered: the expectations fail, and say so
    links = dict(
        line.split(": ", 1) for line in said.splitlines() if "/play/" in line or "/run/" in line
    )
    assert set(links) == {"facilitator", "IT", "BE", "NL"}
    assert all(link.startswith("http://127.0.0.1:") for link in links.values())
    assert len({link.rsplit("/", 1)[1] for link in links.values()}) == 4  # a token each
    assert (out / "summary.json").is_file()


async def test_expectations_not_yet_due_when_the_exercise_is_ended_read_not_reached() -> None:
    # ended early, they were reported FAIL although their windows were still open
    async with a_room() as (room, running):
        player = room.control._player
        await eventually(lambda: "question" in player.result.inject_ids, "the injects")
        room.control.stop()
        await eventually(running.done, "the exercise to end")
    verdicts = {c.name: c.verdict for c in check_expectations(running.result())}
    assert verdicts == {"alert answered": "NOT REACHED", "question answered": "NOT REACHED"}


async def test_players_answer_the_lessons_on_their_pages_and_the_debrief_prints_them(
    tmp_path: Path,
) -> None:
    with_lessons = (
        ROOM + "lessons:\n  - What slowed the alert down?\n  - Who should NL have told?\n"
    )
    async with a_room(with_lessons) as (room, running), httpx.AsyncClient(timeout=30) as http:
        links = room.links()
        page = (await http.get(links["NL"])).text
        assert "Who should NL have told?" in page
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
        assert csrf is not None
        kept = await http.post(
            f"{links['NL']}/lesson",
            data={"csrf": csrf.group(1), "index": "1", "text": "DE, and <b>at once</b>."},
        )
        assert "kept%20for%20the%20debrief" in kept.headers["location"]
        bad = await http.post(
            f"{links['NL']}/lesson", data={"csrf": csrf.group(1), "index": "9", "text": "x"}
        )
        assert "not%20done" in bad.headers["location"]
        room.control.stop()
        await eventually(running.done, "the exercise to end")
    result = running.result()
    write_report(result, summarise(result), check_expectations(result), tmp_path)
    write_debrief(tmp_path, pdf=False)
    debrief = (tmp_path / "debrief.html").read_text(encoding="utf-8")
    question = debrief.index("Who should NL have told?")
    assert debrief.index("<strong>NL</strong>: DE, and &lt;b&gt;at once&lt;/b&gt;.") > question
