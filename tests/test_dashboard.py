"""The live exercise dashboard, driven through Textual's own test pilot."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.containers import VerticalScroll
from textual.pilot import Pilot
from textual.widgets import Static

from scenarios.exercise.dashboard import ExerciseApp
from scenarios.model import parse_scenario
from scenarios.runner import RunResult
from tests.conftest import require_mosquitto

DRILL = """
name: drill
roster: [FR, DE, IT, NL]
topology: hub
duration: 1h
speed: 600
drain: 1
network: {model: false}
players: [IT]
injects:
  - {at: 1m, name: opening, diffusion: {from: FR, to: [DE, IT], priority: urgent}}
  - {at: 90s, name: question, case_message: {from: DE, to: [IT], subject: Do you know him}}
  - {at: 100s, name: tip, diffusion: {from: FR, to: [IT], handling_code: H2, text: A tip.}}
deck:
  - name: sighting
    diffusion: {from: NL, to: [FR, DE], text: Possible sighting near the border., priority: flash}
  - name: press
    case_message: {from: DE, to: [FR], subject: Press enquiry}
"""


async def until(pilot: Pilot[RunResult | None], check: Callable[[], bool], what: str) -> None:
    for _ in range(200):
        if check():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def typed(pilot: Pilot[RunResult | None], text: str) -> None:
    """Type a line into the prompt and press Enter."""
    await pilot.press(*[{" ": "space", ",": "comma"}.get(c, c) for c in text], "enter")


def shown(app: ExerciseApp, widget: str) -> str:
    return str(app.query_one(widget, Static).render())


async def test_pause_an_out_of_timeline_inject_and_resume_from_the_keyboard() -> None:
    require_mosquitto()
    app = ExerciseApp(parse_scenario(DRILL))
    control = app.control
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: control.ready, "the bureaus to start")
        player = control._player
        clock = player.ctx.clock
        inbox = player.net["IT"].inbox
        await until(pilot, lambda: len(inbox) == 3, "IT's three messages")

        await pilot.press("space")
        assert clock.paused
        frozen = clock.scenario_s()
        await pilot.pause(0.4)
        assert clock.scenario_s() == frozen
        await until(pilot, lambda: "PAUSED" in shown(app, "#status"), "the status to say so")

        await pilot.press("1")  # the first card of the deck, while the clock stands still
        await until(pilot, lambda: "sighting" in player.result.inject_ids, "the card to fire")
        sighting = player.result.inject_ids["sighting"]
        await until(
            pilot,
            lambda: any(
                e.kind == "delivered" and e.message_id == sighting for e in player.ctx.events
            ),
            "the sighting to be delivered",
        )

        await pilot.press("b")
        await typed(pilot, "sighting discussed")

        # the person playing IT answers its three messages, oldest first
        await pilot.press("a")  # acknowledges the opening diffusion
        await pilot.press("r")
        await typed(pilot, "No record of him here")  # replies to DE's question
        await pilot.press("f")
        await typed(pilot, "NL")  # passes FR's H2 tip on without asking: blocked
        # refused under its caveats, the tip is still to be answered: acknowledged instead
        await until(pilot, lambda: len(control.snapshot().inboxes["IT"]) == 1, "the tip to stay")
        await pilot.press("a")
        await until(pilot, lambda: not control.snapshot().inboxes["IT"], "IT's inbox to empty")
        await pilot.press("space")
        assert not clock.paused
        await until(pilot, lambda: clock.scenario_s() > frozen + 60, "the clock to run again")
        assert "Deck" in shown(app, "#deck")
        await pilot.press("q", "q")  # the second confirms
        await until(
            pilot, lambda: app.return_value is not None, "the run to settle and the app to leave"
        )
    result = app.return_value
    assert result is not None
    controller = [
        (e.kind, e.detail)
        for e in result.events
        if e.kind in ("control", "inject") and e.bureau == "controller"
    ]
    details = [d for _k, d in controller]
    assert details.index("paused") < details.index("sighting: diffusion (from the deck)")
    assert details.index("sighting: diffusion (from the deck)") < details.index("resumed")
    assert "bookmark: sighting discussed" in details
    assert "IT (played) answered diffusion from FR: actioned" in details
    assert "IT (played) replied to case-message from DE" in details
    reply = [
        e for e in result.events if e.kind == "delivered" and e.bureau == "DE" and e.peer == "IT"
    ]
    # the reply, and the acknowledgement it makes of DE's question: replying answered it
    assert sorted(e.message_kind or "" for e in reply) == ["acknowledgement", "case-message"]
    answered = [
        e for e in result.events if e.kind == "acknowledged" and e.bureau == "DE" and e.peer == "IT"
    ]
    assert [getattr(e, "status", None) for e in answered] == ["actioned"]
    breaches = [e for e in result.events if e.kind == "breach"]
    assert [(e.bureau, e.reason, e.recipients) for e in breaches] == [("IT", "H2", ("NL",))]
    assert not [
        e for e in result.events if e.kind == "delivered" and e.bureau == "NL" and e.peer == "IT"
    ]
    assert details[-1] == "exercise ended by the controller"
    inject = next(e for e in result.events if "(from the deck)" in (e.detail or ""))
    assert inject.t_s == round(frozen, 6)  # fired at the paused scenario time
    got = {e.bureau for e in result.events if e.kind == "delivered" and e.message_id == sighting}
    assert got == {"FR", "DE"}
    # the exercise ended early: the scenario clock stopped well before its hour
    assert max(e.t_s for e in result.events) < 3600


async def test_the_clock_stands_still_while_a_note_is_typed_and_the_note_keeps_the_key_press() -> (
    None
):
    require_mosquitto()
    app = ExerciseApp(parse_scenario(DRILL.replace("speed: 600", "speed: 3600")))
    control = app.control
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: control.ready, "the bureaus to start")
        clock = control._player.ctx.clock
        await until(pilot, lambda: clock.scenario_s() > 120, "the exercise to get going")
        await pilot.press("b")
        pressed = clock.scenario_s()
        assert clock.paused  # held while the prompt is open
        await pilot.pause(0.5)  # half a minute of typing: 30 scenario minutes at this speed
        await typed(pilot, "note")
        assert not clock.paused  # running again once the note is in
        await pilot.press("q", "q")  # the second confirms
        await until(pilot, lambda: app.return_value is not None, "the app to leave")
    result = app.return_value
    assert result is not None
    bookmark = next(
        e for e in result.events if e.kind == "control" and e.detail == "bookmark: note"
    )
    assert abs(bookmark.t_s - pressed) < 1.0  # stamped at the key press, not 30 minutes later
    assert not any(e.kind == "control" and e.detail in ("paused", "resumed") for e in result.events)


async def test_the_panels_say_what_is_pending_what_each_message_is_and_every_key_answers() -> None:
    require_mosquitto()
    scenario = parse_scenario(
        DRILL
        + "expect:\n"
        + "  - name: IT has the opening\n"
        + "    acknowledged: {message: opening, by: [IT], within: 50m}\n"
    )
    app = ExerciseApp(scenario)
    control = app.control
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: control.ready, "the bureaus to start")
        inbox = control._player.net["IT"].inbox
        await until(pilot, lambda: len(inbox) == 3, "IT's three messages")
        await pilot.press("space")
        # not acknowledged yet, and its 50 minutes have not run out: pending, not failed
        await until(pilot, lambda: "pending" in shown(app, "#expectations"), "a pending line")
        assert "FAILED" not in shown(app, "#expectations")
        deck = shown(app, "#deck")
        assert "handling H2" in deck  # FR's tip shows its handling code ...
        assert '"A tip."' in deck  # ... and its text, so the player can judge a forward
        assert "answer due" in deck
        await pilot.press("9")  # no ninth card: the key says so instead of doing nothing
        await until(
            pilot,
            lambda: any("no card 9" in str(n.message) for n in app._notifications),
            "a notice about the missing card",
        )
        await pilot.press("a")  # IT acknowledges the opening diffusion
        await until(pilot, lambda: "met" in shown(app, "#expectations"), "the line to be met")
        log = shown(app, "#log")
        assert "inject" in log
        await pilot.press("q", "q")  # the second confirms
        await until(pilot, lambda: app.return_value is not None, "the app to leave")


async def test_the_clock_can_stop_by_itself_at_each_inject() -> None:
    require_mosquitto()
    # a scenario minute a second: the injects stand half a real second apart, so a busy host's
    # late wake-up (tens of milliseconds) cannot carry the clock past the next one
    app = ExerciseApp(
        parse_scenario(DRILL.replace("speed: 600", "speed: 60")), pause_at=frozenset({"inject"})
    )
    control = app.control
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: control.ready, "the bureaus to start")
        clock = control._player.ctx.clock
        await until(pilot, lambda: clock.paused, "the clock to stop at the first inject")
        assert 60 <= clock.scenario_s() < 90  # at 'opening' (1 min), before 'question' (90 s)
        await until(
            pilot,
            lambda: "paused by itself: inject opening is due" in shown(app, "#log"),
            "the log to say why",
        )
        # stopped before the inject is sent, so the facilitator presents it first
        await pilot.pause(0.5)
        assert "opening" not in control._player.result.inject_ids
        assert not [e for e in control._player.ctx.events if e.kind == "inject"]
        await pilot.press("space")
        await until(
            pilot, lambda: "opening" in control._player.result.inject_ids, "the inject, sent"
        )
        await until(pilot, lambda: clock.scenario_s() >= 90, "the clock to run on")
        await until(pilot, lambda: clock.paused, "the clock to stop at the next inject")
        await until(pilot, lambda: "inject question" in shown(app, "#log"), "the second reason")
        await pilot.press("q", "q")  # the second confirms
        await until(pilot, lambda: app.return_value is not None, "the app to leave")


async def test_names_with_markup_are_shown_as_text_and_the_run_goes_on() -> None:
    # a card named "[/]" crashed the dashboard with a MarkupError mid-exercise, losing the run
    require_mosquitto()
    hostile = DRILL.replace("name: sighting", "name: '[/] sighting [bold'").replace(
        "name: drill", "name: '[/]drill'"
    )
    app = ExerciseApp(parse_scenario(hostile))
    control = app.control
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: control.ready, "the bureaus to start")
        await pilot.press("1")  # fires the card: the notice names it
        player = control._player
        await until(pilot, lambda: "[/] sighting [bold" in player.result.inject_ids, "the card")
        await pilot.pause(0.5)  # a few redraws with the name on screen
        told = [n for n in app._notifications if "[/] sighting [bold" in n.message]
        assert told
        assert not any(n.markup for n in told)  # a toast with markup would raise when drawn
        assert app.display_errors == 0
        assert app.failure is None
        await pilot.press("q", "q")  # the second confirms
        await until(pilot, lambda: app.return_value is not None, "the app to leave")
    assert app.return_value is not None  # the run's result, for the report


async def test_q_asks_before_ending_a_running_exercise() -> None:
    # one q ended the exercise at once, mid-run, with expectations not yet due reported FAIL
    require_mosquitto()
    app = ExerciseApp(parse_scenario(DRILL))
    control = app.control
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: control.ready, "the bureaus to start")
        await pilot.press("q")
        await pilot.pause(0.5)
        assert app.return_value is None
        assert not control._player.ctx.clock.paused
        asked = [n for n in app._notifications if "press q again" in n.message]
        assert asked
        await pilot.press("q")
        await until(pilot, lambda: app.return_value is not None, "the app to leave")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_every_panel_shows_at_small_terminal_sizes(size: tuple[int, int]) -> None:
    # at 120x40 the expectations panel showed 5 of 7 and the log hid its newest lines; at 80x24
    # the dashboard was unreadable
    require_mosquitto()
    many = (
        DRILL
        + "expect:\n"
        + "".join(
            f"  - {{name: check {n}, delivered: {{message: opening, to: [DE], within: 1h}}}}\n"
            for n in range(7)
        )
    )
    app = ExerciseApp(parse_scenario(many))
    control = app.control
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: control.ready, "the bureaus to start")
        await until(pilot, lambda: "inject" in shown(app, "#log"), "the log to fill")
        await until(pilot, lambda: "check 6" in shown(app, "#expectations"), "the 7th check")
        width, height = size
        for name in ("regions", "deadlines", "expectations", "log", "deck"):
            region = app.query_one(f"#{name}-panel").region
            assert region.width >= 10, name  # on screen, wide and tall enough to read
            assert region.height >= 3, name
            assert region.right <= width, name
            assert region.bottom <= height, name
        # every expectation can be reached by scrolling its panel
        panel = app.query_one("#expectations-panel", VerticalScroll)
        panel.scroll_end(animate=False)
        await pilot.pause(0.1)
        assert panel.max_scroll_y >= 0
        assert "check 6" in shown(app, "#expectations")
        # the log's newest line is in view: its panel is scrolled to the end
        log_panel = app.query_one("#log-panel", VerticalScroll)
        assert log_panel.scroll_y == log_panel.max_scroll_y
        await pilot.press("q", "q")
        await until(pilot, lambda: app.return_value is not None, "the app to leave")


async def test_the_facilitator_chooses_which_played_bureau_and_message_to_act_on() -> None:
    # with several played bureaus, a/r/f acted on the first-listed bureau's oldest message
    require_mosquitto()
    app = ExerciseApp(parse_scenario(DRILL.replace("players: [IT]", "players: [IT, DE]")))
    control = app.control
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: control.ready, "the bureaus to start")
        await until(
            pilot,
            lambda: (
                len(control.snapshot().inboxes["IT"]) == 3
                and len(control.snapshot().inboxes["DE"]) == 1
            ),
            "IT's three messages and DE's one",
        )
        order = [b for b, inbox in control.snapshot().inboxes.items() for _ in inbox]
        for _ in range(order.index("DE")):  # move the choice down to DE's message
            await pilot.press("n")
        await pilot.press("a")
        await until(pilot, lambda: not control.snapshot().inboxes["DE"], "DE's answer")
        assert len(control.snapshot().inboxes["IT"]) == 3  # nothing of IT's was touched
        await pilot.press("q", "q")
        await until(pilot, lambda: app.return_value is not None, "the app to leave")
