"""Exercises: deadlines, contingency injects, caveat enforcement, players and the controller."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from bureaus import Event
from bureaus.events import make
from scenarios.errors import ControlError
from scenarios.exercise.control import ExerciseControl
from scenarios.exercise.deadlines import Deadline, DeadlineBook, pace_label
from scenarios.model import ScenarioError, parse_scenario
from scenarios.reports.metrics import check_expectations, summarise
from scenarios.reports.writer import write_report
from scenarios.runner import RunOptions, run_scenario
from tests.conftest import require_mosquitto


def event(kind: str, bureau: str, message_id: str, t_s: float, **fields: object) -> Event:
    return make(kind, t_ns=0, t_s=t_s, bureau=bureau, message_id=message_id, **fields)  # type: ignore[arg-type]


class Book:
    """A deadline book with its own log and a record of the misses it announced."""

    def __init__(self) -> None:
        self.log: list[Event] = []
        self.missed: list[str] = []
        self.book = DeadlineBook(self.log.append, lambda d: self.missed.append(d.name))

    def add(self, e: Event) -> None:
        self.book.observe(e)


def test_an_acknowledgement_deadline_is_met_when_the_last_recipient_answers() -> None:
    b = Book()
    deadline = Deadline("alert", "acknowledgement", "m1", "FR", {"DE", "IT"}, 0.0, 100.0)
    b.book.open(deadline)
    b.add(event("acknowledged", "FR", "m1", 10.0, peer="DE"))
    assert deadline.state == "open"
    b.add(event("acknowledged", "DE", "m1", 11.0, peer="IT"))  # seen at DE: not FR's answer
    assert deadline.state == "open"
    b.add(event("acknowledged", "FR", "m1", 20.0, peer="IT"))
    assert deadline.state == "met"
    assert deadline.answered_s == 20.0
    assert [e.reason for e in b.log] == ["met"]
    b.book.expire(deadline, 0, 100.0)  # a met deadline cannot be missed afterwards
    assert deadline.state == "met"
    assert b.missed == []


def test_a_missed_deadline_fires_once_and_a_late_answer_is_recorded_as_late() -> None:
    b = Book()
    deadline = Deadline("alert", "acknowledgement", "m1", "FR", {"IT"}, 0.0, 100.0)
    b.book.open(deadline)
    b.book.expire(deadline, 0, 100.0)
    b.book.expire(deadline, 0, 100.5)
    assert b.missed == ["alert"]
    assert deadline.state == "missed"
    assert "no acknowledgement from IT" in (b.log[0].detail or "")
    b.add(event("acknowledged", "FR", "m1", 150.0, peer="IT"))
    assert deadline.state == "late"
    assert [e.reason for e in b.log] == ["missed", "late"]


def test_review_and_answer_deadlines_close_on_their_own_events() -> None:
    b = Book()
    review = Deadline("red", "review", "req", "FR", {"gs"}, 0.0, 86_400.0)
    answer = Deadline("check", "answer", "res", "ES", {"gs"}, 0.0, 60.0)
    b.book.open(review)
    b.book.open(answer)
    b.add(event("lifecycle", "gs", "req", 5.0, transition="request", state="under-review"))
    assert review.state == "open"
    b.add(event("lifecycle", "gs", "req", 7.0, transition="publish", state="published"))
    assert review.state == "met"
    b.add(event("delivered", "FR", "res", 8.0))  # the result seen elsewhere does not count
    assert answer.state == "open"
    b.add(event("delivered", "ES", "res", 9.0))
    assert answer.state == "met"
    assert [d.name for d in b.book.pending()] == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("injects:\n  - {at: 1, when: {breach: true}, search: {from: FR}}", "either at a time"),
        ("injects:\n  - {search: {from: FR}}", "needs a time ('at') or a trigger"),
        ("injects:\n  - {when: {deadline_missed: nope}, search: {from: FR}}", "no inject named"),
        ("injects:\n  - {at: 1, forward: {by: DE, message: nope, to: NL}}", "no inject named"),
        ("deck:\n  - {at: 1, name: c, search: {from: FR}}", "fired by hand"),
        ("deck:\n  - {search: {from: FR}}", "needs a name"),
        ("injects:\n  - {at: soon, search: {from: FR}}", "not a duration"),
        ("deadlines: {urgent: 8x}", "not a duration"),
        ("injects:\n  - {when: {}, search: {from: FR}}", "exactly one of"),
    ],
)
def test_bad_exercise_files_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario("name: x\n" + text)
    assert message in str(caught.value)


def test_durations_read_as_planners_write_them() -> None:
    scenario = parse_scenario(
        "name: x\nduration: 1d 12h\ndeadlines: {urgent: 90m, routine: 3d}\n"
        "injects:\n  - {at: 2h30m, search: {from: FR}}\n  - {at: '45', search: {from: FR}}\n"
    )
    assert scenario.duration == 36 * 3600
    assert scenario.deadlines.urgent == 5400
    assert scenario.deadlines.routine == 3 * 86400
    assert [i.at for i in scenario.injects] == [9000, 45]


CAVEATS = """
name: caveats
roster: [FR, DE, NL, IT]
topology: hub
duration: 2.5
drain: 1
network: {{model: false}}
caveats: {policy}
injects:
  - {{at: 0.2, name: alert, diffusion: {{from: FR, to: [DE], handling_code: H2, tlp: TLP:RED}}}}
  - {{at: 1.0, name: leak, forward: {{by: DE, message: alert, to: [NL]}}}}
  - {{at: 1.2, name: allowed, forward: {{by: DE, message: alert, to: [IT], permission: true}}}}
  - when: {{breach: true, after: 0.3}}
    name: own-up
    case_message: {{from: DE, to: [FR], subject: We passed your alert on}}
"""


@pytest.mark.parametrize("policy", ["enforce", "flag"])
async def test_a_forward_that_breaks_its_caveats_is_blocked_or_flagged(policy: str) -> None:
    require_mosquitto()
    result = await run_scenario(parse_scenario(CAVEATS.format(policy=policy)))
    breaches = [e for e in result.events if e.kind == "breach"]
    assert sorted(e.reason or "" for e in breaches) == ["H2", "TLP:RED"]
    assert all(e.bureau == "DE" and e.recipients == ("NL",) for e in breaches)
    assert all(
        (e.detail or "").startswith("blocked" if policy == "enforce" else "flagged")
        for e in breaches
    )
    at_nl = [e for e in result.events if e.kind == "delivered" and e.bureau == "NL"]
    assert len(at_nl) == (0 if policy == "enforce" else 1)
    # the permitted forward goes through either way, as a copy signed by DE
    allowed = result.inject_ids["allowed"]
    got = [e for e in result.events if e.kind == "delivered" and e.message_id == allowed]
    assert [(e.bureau, e.peer) for e in got] == [("IT", "DE")]
    # the contingency inject fired once, on the first breach
    fired = [e for e in result.events if e.kind == "inject" and "own-up" in (e.detail or "")]
    assert len(fired) == 1
    assert "contingency: caveat breach at DE" in (fired[0].detail or "")
    assert result.inject_times["own-up"] >= breaches[0].t_s + 0.3


PLAYED = """
name: played
roster: [FR, IT]
topology: hub
duration: 3
drain: 1
network: {model: false}
players: [IT]
injects:
  - {at: 0.2, name: ignored, deadline: 1, diffusion: {from: FR, to: [IT], text: First}}
  - {at: 0.3, name: answered, deadline: 2.5, diffusion: {from: FR, to: [IT], text: Second}}
  - when: {deadline_missed: ignored}
    name: reminder
    case_message: {from: FR, to: [IT], subject: Reminder}
expect:
  - {deadline: {message: ignored, met: false}}
  - {deadline: {message: answered, met: true}}
"""


async def test_a_played_bureau_answers_only_when_its_player_does(tmp_path: Path) -> None:
    require_mosquitto()
    control = ExerciseControl()
    answered: list[str] = []

    async def person_at_the_keyboard() -> None:
        while not control.ready:
            await asyncio.sleep(0.02)
        while not answered:
            inbox = control.snapshot(expectations=False).inboxes["IT"]
            second = [mid for mid, _kind, sender in inbox if sender == "FR"][1:]
            if second:
                control.answer("IT", second[0])
                answered.append(second[0])
            await asyncio.sleep(0.05)

    player = asyncio.create_task(person_at_the_keyboard())
    result = await run_scenario(parse_scenario(PLAYED), RunOptions(control=control))
    if player.done():
        player.result()  # a failure of the player's loop is the test's failure
    player.cancel()
    assert answered == [result.inject_ids["answered"]]
    states = {d.name: d.state for d in result.deadlines}
    assert states == {"ignored": "missed", "answered": "met", "reminder": "open"}
    assert [v.passed for v in check_expectations(result)] == [True, True]
    # nobody acknowledged the first message: the sender still holds it, and says so
    acks = [e.message_id for e in result.events if e.kind == "acknowledged"]
    assert acks == [result.inject_ids["answered"]]
    control_lines = [e.detail for e in result.events if e.kind == "control"]
    assert control_lines == ["IT (played) answered diffusion from FR: actioned"]
    # what cannot be done is a ControlError with the reason, and records nothing
    for action in (
        lambda: control.fire("no-such-card"),
        lambda: control.answer("IT", "no-such-message"),
        lambda: control.reply("IT", "no-such-message", "text"),
        lambda: control.forward("IT", result.inject_ids["answered"], ["QQ"], permission=False),
        lambda: control.forward("IT", "no-such-message", ["FR"], permission=False),
    ):
        with pytest.raises(ControlError):
            action()
    assert [e.detail for e in result.events if e.kind == "control"] == control_lines
    write_report(result, summarise(result), check_expectations(result), tmp_path)
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "| ignored | acknowledgement | IT |" in report
    assert "MISSED" in report
    assert "OPEN (no answer from IT)" in report


@pytest.mark.parametrize(
    ("speed", "said"),
    [
        (1, "real time"),
        (30, "2 min per scenario hour"),
        (3840, "22 s per scenario day"),
        (0.5, "2.0 h per scenario hour"),
    ],
)
def test_the_pace_is_said_as_people_say_it(speed: float, said: str) -> None:
    # the status line said "speed 3840x"
    assert pace_label(speed) == said


async def test_an_exercise_reports_latency_in_scenario_time(tmp_path: Path) -> None:
    # before: a paced exercise reported real milliseconds: IT, away for ten scenario minutes,
    # got its copy "after 1,000 ms" where the players lived through ten minutes
    scenario = parse_scenario(
        "name: paced\nroster: [FR, DE, IT]\nduration: 30m\nspeed: 600\ndrain: 1\n"
        "network: {model: false}\n"
        "injects:\n  - {at: 2m, name: alert, diffusion: {from: FR, to: [DE, IT]}}\n"
        "faults:\n  - offline: {bureau: IT, from: 1m, to: 12m}\n"
    )
    result = await run_scenario(scenario, RunOptions())
    summary = summarise(result)
    lived = summary["latency_scenario_s"]["by_kind"]["diffusion"]
    assert lived["count"] == 2
    assert 540 <= lived["max"] <= 900  # IT's copy waited out its absence: about ten minutes
    assert summary["latency_ms"]["overall"]["max"] < 60_000  # real time went sixty times slower
    write_report(result, summary, check_expectations(result), tmp_path)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<h2>Latency in scenario time</h2>" in page
    assert re.search(r"<td>diffusion</td><td>2</td>.*?<td>(9|1[0-5]) min</td></tr>", page)
