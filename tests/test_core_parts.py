"""The bureau core's parts: typed timers and commands, roles chosen once, counters from events."""

from __future__ import annotations

import pickle
from collections import Counter
from datetime import timedelta
from uuid import uuid4

import pytest

import bureaus.core.commands as c
from bureaus import BureauCore
from bureaus.core.outputs import counter_of
from bureaus.core.role import GeneralSecretariat, Member
from bureaus.core.timers import LossTimeout, OutageOver, ResendDue, TimerQueue
from bureaus.errors import NotKept
from bureaus.outbox import Transmission
from bureaus.samples import sample_messages
from bureaus.sandbox import at, cores, note
from protocol.errors import CertificateError
from scenarios.cli import LIBRARY
from scenarios.model import load_scenario
from scenarios.runner import RunOptions, simulate


def _item(mid: str) -> Transmission:
    return Transmission("FR", b"x", mid, "diffusion", "routine", 0)


def test_scenario_timers_come_first_then_link_timers_each_in_time_then_set_order() -> None:
    timers = TimerQueue()
    timers.at(3.0, ResendDue("late"))
    timers.at(1.0, ResendDue("first"))
    timers.at(1.0, LossTimeout(_item("second")))
    timers.at(2.0, OutageOver(_item("scenario")))
    timers.at(9.0, OutageOver(_item("not yet")))
    assert timers.next() == (2.0, 1.0)
    due = list(timers.due(at(3.0)))
    assert [type(t).__name__ for t in due] == [
        "OutageOver",
        "ResendDue",
        "LossTimeout",
        "ResendDue",
    ]
    assert [getattr(t, "message_id", None) for t in due][1::2] == ["first", "late"]
    assert len(timers) == 1
    assert timers.next() == (9.0, None)


def test_a_timer_set_while_due_ones_are_handled_is_handled_too_when_due() -> None:
    timers = TimerQueue()
    timers.at(1.0, ResendDue("a"))
    seen = []
    for timer in timers.due(at(5.0)):
        seen.append(timer)
        if len(seen) == 1:
            timers.at(4.0, ResendDue("set meanwhile"))
            timers.at(6.0, ResendDue("later"))
    assert seen == [ResendDue("a"), ResendDue("set meanwhile")]
    assert timers.next() == (None, 6.0)


def test_the_role_is_chosen_from_the_roster_once() -> None:
    net = cores()
    assert isinstance(net["gs"].role, GeneralSecretariat)
    assert {type(net[b].role) for b in ("FR", "DE", "KE", "rb-nairobi")} == {Member}
    # a member publishes nothing, so there is nothing it can cancel
    out = net["FR"].handle(c.Cancel("DE", uuid4(), uuid4(), "no longer wanted"), at(1))
    assert out.ok is False


def test_every_command_goes_through_the_one_entry_point() -> None:
    net = cores(inbox_limit=10)
    sent = net["FR"].handle(c.Submit(note("FR", "DE", "hello")), at(1))
    assert sent.envelope is not None
    assert [e.kind for e in sent.events] == ["sent"]
    with pytest.raises(NotKept):
        net["DE"].handle(c.Reply("no-such-id", note("DE", "FR", "?")), at(2))
    unknown = note("FR", "DE", "to a bureau with no certificate")
    with pytest.raises(CertificateError, match="no certificate"):
        net["FR"].handle(c.Submit(unknown, to=("IT",), strict=True), at(3))
    failed = net["FR"].handle(c.Submit(unknown, to=("IT",)), at(3))
    assert [(e.kind, e.reason) for e in failed.events] == [("shed", "send_failed")]
    assert net["FR"].handle(c.SetOnline(False), at(4)).sends == []
    assert net["FR"].online is False
    rotated = net["FR"].handle(
        c.Rotate(net["FR"].codec.credentials.current, timedelta(minutes=5)), at(5)
    )
    assert rotated.events == []


def _counted(events: list) -> dict[str, Counter[str]]:  # type: ignore[type-arg]
    by_bureau: dict[str, Counter[str]] = {}
    for event in events:
        key = counter_of(event)
        if key is not None:
            by_bureau.setdefault(event.bureau, Counter())[key] += 1
    return by_bureau


@pytest.mark.parametrize("name", ["red-notice", "missing-child"])
def test_the_counters_are_the_events_counted(name: str) -> None:
    result = simulate(load_scenario(LIBRARY / f"{name}.yaml"), RunOptions(seed=1))
    counted = _counted(result.events)
    assert counted, "the run recorded no counted events"
    for bureau, counts in counted.items():
        kept = {k: v for k, v in result.counters[bureau].items() if k in counts}
        assert kept == dict(counts), bureau
    # and no counter of an event kind exists without its events
    event_keys = {k for counts in counted.values() for k in counts}
    for bureau, counters in result.counters.items():
        for key in counters:
            if key.split(":")[0] in {"sent", "delivered", "rejected", "shed", "breach", "resent"}:
                assert key in event_keys, (bureau, key)


def test_a_core_shares_no_mutable_part_with_another() -> None:
    net = cores()
    fr, de = net["FR"], net["DE"]
    assert isinstance(fr, BureauCore)
    for part in ("emit", "timers", "link", "delivery", "relay", "role", "receiving"):
        assert getattr(fr, part) is not getattr(de, part), part
    assert fr.counters is not de.counters


def test_the_cores_write_nothing_they_share() -> None:
    # a hub, so the GS relays; a notice request, so it reviews and publishes to everyone
    net = cores("hub")
    world = net["FR"].world
    assert all(core.world is world for core in net.values())
    before = pickle.dumps(_written(world))
    request = sample_messages()["notice-request"].model_copy(
        update={"message_id": uuid4(), "created_at": at(0).wall}
    )
    queue = [net["FR"].send(request, at(1)), net["DE"].send(note("DE", "KE", "x"), at(1))]
    delivered = 0
    while queue:
        out = queue.pop(0)
        for send in out.sends:
            if send.item is not None:
                next(c for c in net.values() if send.item.message_id in c.queued_ids()).published(
                    send.item
                )
            bureau = send.topic.rsplit("/", 1)[-1]
            if bureau in net:
                got = net[bureau].receive(send.topic, send.payload, at(2))
                delivered += sum(1 for e in got.events if e.kind == "delivered")
                queue.append(got)
    assert delivered >= 6  # the request, its publication to every member, the note, answers
    assert pickle.dumps(_written(world)) == before


def _written(world: object) -> dict[str, object]:
    """What a core could write of the world (its cached ``relays`` set aside: computed once)."""
    return {k: v for k, v in vars(world).items() if k != "relays"}
