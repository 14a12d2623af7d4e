"""The bureau core without any broker: plain values in, outputs out, the time passed in.

A tiny exchange in the test moves each :class:`~bureaus.core.Send` to the core whose inbox it
names, at the time it says; dropping some of them models a lost transmission.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID, uuid4

import pytest

from bureaus import BureauCore, Outputs, Send
from bureaus.core.commands import Restart
from bureaus.events import Acknowledged, Breach, Delivered, Hop, Lifecycle, Rejected, Shed
from bureaus.outbox import Transmission
from bureaus.samples import sample_messages
from bureaus.sandbox import EPOCH, at, cores, note
from protocol import NoticeRequest, topics


def exchange(
    net: dict[str, BureauCore],
    out: Outputs,
    t: float,
    *,
    drop: Callable[[Send], bool] = lambda _send: False,
) -> list[Outputs]:
    """Deliver every send (and what it causes) at once; ``drop`` loses some on the way.

    The broker takes every transmission (the sender is told), lost or not: a lost one is lost
    after the broker, where only the end-to-end acknowledgement notices.
    """
    seen = [out]
    prefix = topics.inbox("gs").removesuffix("gs")
    queue = list(out.sends)
    while queue:
        send = queue.pop(0)
        if send.item is not None:
            owners = [c for c in net.values() if send.item.message_id in c.queued_ids()]
            if owners:  # (a copy sent again by the test itself is nobody's)
                owners[0].published(send.item)
        if drop(send) or not send.topic.startswith(prefix):
            continue  # lost, or a retained clearing or revocation list: nobody's inbox
        bureau = send.topic.removeprefix(prefix)
        result = net[bureau].receive(send.topic, send.payload, at(t))
        seen.append(result)
        queue += result.sends
    return seen


def events(outputs: list[Outputs], cls: type) -> list:  # type: ignore[type-arg]
    return [e for out in outputs for e in out.events if isinstance(e, cls)]


def request(text: str = "Organised fraud, 2024-2026.") -> NoticeRequest:
    base = sample_messages()["notice-request"]
    assert isinstance(base, NoticeRequest)
    return base.model_copy(
        update={"message_id": uuid4(), "created_at": EPOCH, "summary_of_facts": text}
    )


def test_the_general_secretariat_reviews_and_publishes_to_every_ncb() -> None:
    net = cores("hub")
    sent = net["FR"].submit(request(), at(1))
    seen = exchange(net, sent, 1)
    steps = [(e.transition, e.state) for e in events(seen, Lifecycle)]
    assert steps == [("request", "under-review"), ("publish", "published")]
    published = {e.bureau for e in events(seen, Delivered) if e.message_kind == "notice-published"}
    assert published == {"FR", "DE", "KE"}
    assert net["gs"].published_notices  # the entity id is kept for a later cancellation


def test_a_request_that_breaks_article_3_is_refused_to_its_sender_only() -> None:
    net = cores("hub")
    seen = exchange(net, net["FR"].submit(request("A political opponent."), at(1)), 1)
    assert [(e.transition, e.state) for e in events(seen, Lifecycle)][-1] == ("refuse", "refused")
    refused = [e for e in events(seen, Delivered) if e.message_kind == "notice-refused"]
    assert [e.bureau for e in refused] == ["FR"]
    assert not [e for e in events(seen, Delivered) if e.message_kind == "notice-published"]


def test_a_review_delay_is_a_timer_in_scenario_time() -> None:
    net = cores("hub")
    net["gs"].world.review.delay_s = 600
    exchange(net, net["FR"].submit(request(), at(1)), 1)
    at_s, _ = net["gs"].next_timer()
    assert at_s == pytest.approx(601)
    assert not net["gs"].published_notices
    seen = exchange(net, net["gs"].handle_timer(at(601)), 601)
    assert net["gs"].published_notices
    assert {e.bureau for e in events(seen, Delivered)} >= {"DE", "KE"}


def test_a_regional_bureau_relays_blind_and_a_second_copy_only_after_a_while() -> None:
    net = cores("regional")
    message = note("FR", "KE", "Passing through Nairobi.")
    out = net["FR"].submit(message, at(1))
    seen = exchange(net, out, 1)
    relays = [e for e in events(seen, Hop) if e.via == "relay"]
    assert relays
    assert all(e.bureau in ("gs", "rb-nairobi") for e in relays)
    assert [e.bureau for e in events(seen, Delivered) if e.message_kind == "diffusion"] == ["KE"]
    # the same bytes again at once: a flood, refused by the relay as a duplicate
    again = exchange(net, out, 1.2)
    assert any(e.reason == "duplicate" for e in events(again, Rejected))


def test_lost_acknowledgements_are_resent_for_until_one_arrives() -> None:
    net = cores("mesh", resend_after=5.0)
    message = note("FR", "DE", "Acknowledge, please.")
    lose_acks: Callable[[Send], bool] = lambda send: send.topic == topics.inbox("FR")  # noqa: E731
    exchange(net, net["FR"].submit(message, at(0)), 0, drop=lose_acks)
    assert str(message.message_id) in net["FR"].pending
    _, at_t = net["FR"].next_timer()
    assert at_t == pytest.approx(5.0)
    # the resend reaches DE, which sees a duplicate and acknowledges again; that one is lost too
    seen = exchange(net, net["FR"].handle_timer(at(5)), 5, drop=lose_acks)
    assert [e.attempt for e in events(seen, Hop) if e.via == "resend"] == [1]
    assert any(e.reason == "duplicate" for e in events(seen, Rejected))
    assert str(message.message_id) in net["FR"].pending
    # the next resend's acknowledgement arrives: the sender stops
    _, at_t = net["FR"].next_timer()
    assert at_t is not None
    seen = exchange(net, net["FR"].handle_timer(at(at_t)), at_t)
    assert [e.peer for e in events(seen, Acknowledged)] == ["DE"]
    assert str(message.message_id) not in net["FR"].pending


def test_a_message_never_acknowledged_is_given_up_loudly() -> None:
    net = cores("mesh", resend_after=1.0, max_attempts=2)
    message = note("FR", "DE", "Into the void.")
    exchange(net, net["FR"].submit(message, at(0)), 0, drop=lambda _send: True)
    shed: list[Shed] = []
    t = 0.0
    for _ in range(10):
        _, at_t = net["FR"].next_timer()
        if at_t is None:
            break
        t = at_t
        out = net["FR"].handle_timer(at(t))
        exchange(net, out, t, drop=lambda _send: True)  # the broker took it; nobody answers
        shed += [e for e in out.events if isinstance(e, Shed)]
    assert [(e.reason, e.recipients) for e in shed] == [("unacknowledged", ("DE",))]


def test_a_forward_that_breaks_its_caveats_is_blocked_under_enforce() -> None:
    net = cores("mesh", inbox_limit=10)
    message = note("FR", "DE", "For Germany only.", handling_code="H2")
    exchange(net, net["FR"].submit(message, at(0)), 0)
    out = net["DE"].forward(str(message.message_id), ["KE"], uuid4(), at(1))
    assert not out.ok
    assert out.sends == []
    breaches = [e for e in out.events if isinstance(e, Breach)]
    assert breaches
    assert all(e.blocked for e in breaches)


def test_a_full_outbox_sheds_the_oldest_routine_transmission_and_says_so() -> None:
    net = cores("mesh", outbox_limit=2)
    core = net["FR"]
    core.set_online(False, at(0))  # nothing drains: store and forward
    sent = [
        core.submit(
            note("FR", "DE", f"number {n}", message_id=UUID(int=n + 1)),
            at(n),
        )
        for n in range(3)
    ]
    shed = [e for out in sent for e in out.events if isinstance(e, Shed)]
    assert [(e.reason, e.message_id) for e in shed] == [("outbox_full", str(UUID(int=1)))]
    assert len(core.outbox) == 2
    back = core.set_online(True, at(3))
    assert [s.item.message_id for s in back.sends if s.item] == [str(UUID(int=2)), str(UUID(int=3))]


def test_hostile_bytes_are_refused_with_a_reason_and_never_raise() -> None:
    net = cores("mesh")
    for data in (b"", b"\x00" * 40, b"{not json", bytes(range(256)) * 4):
        out = net["DE"].receive(topics.inbox("DE"), data, at(1))
        assert out.sends == [] or all(s.retain for s in out.sends)
    refused = net["DE"].counters
    assert sum(n for k, n in refused.items() if k.startswith("rejected:")) == 3
    assert refused["inbox_empty"] == 1


def test_a_transmission_the_broker_did_not_take_goes_back_first() -> None:
    net = cores("mesh")
    out = net["FR"].submit(
        note("FR", "DE", "Retry me."),
        at(0),
    )
    item = out.sends[0].item
    assert isinstance(item, Transmission)
    again = net["FR"].publish_failed(item, at(0.5))
    assert [s.item for s in again.sends] == [item]
    assert net["FR"].counters["publish_retries"] == 1


def test_a_restart_from_the_journal_resends_what_went_with_the_process() -> None:
    """A transmission handed to the connection and never acknowledged by the broker goes with
    the process; the journal still holds the message, so its resend brings it."""
    net = cores("mesh")
    sent = net["FR"].submit(note("FR", "DE", "Lost in the crash."), at(0))
    assert len(sent.sends) == 1  # handed to the driver, never published: the process dies
    net["FR"].set_online(False, at(1))
    net["FR"].handle(Restart(journal=True), at(1))
    net["FR"].set_online(True, at(2))
    resent = net["FR"].handle_timer(at(6))  # the first resend falls due at 5 s
    assert [e.via for e in resent.events if isinstance(e, Hop)] == ["resend"]
    seen = exchange(net, resent, 6)
    assert [e.bureau for e in events(seen, Delivered) if e.message_kind == "diffusion"] == ["DE"]
    assert net["FR"].counters["restarts"] == 1


def test_a_restart_without_a_journal_forgets_what_was_sent_and_what_was_seen() -> None:
    """Without a journal the sender no longer resends, and the recipient takes a copy of what
    it already handled for a new message: what the journal is for."""
    for journal in (True, False):
        net = cores("mesh")
        sent = net["FR"].submit(note("FR", "DE", "Twice?"), at(0))
        envelope = sent.sends[0].payload
        exchange(net, sent, 0, drop=lambda s: s.topic == topics.inbox("FR"))  # the ack is lost
        for bureau in ("FR", "DE"):
            net[bureau].handle(Restart(journal=journal), at(1))
        again = net["DE"].receive(topics.inbox("DE"), envelope, at(2))
        delivered = [e for e in again.events if isinstance(e, Delivered)]
        resent = net["FR"].handle_timer(at(6))
        resends = [e for e in resent.events if isinstance(e, Hop) and e.via == "resend"]
        if journal:
            assert delivered == []  # a duplicate, answered again
            assert len(resends) == 1  # the ack never came: the journal still knows to resend
        else:
            assert [e.bureau for e in delivered] == ["DE"]  # acted on twice
            assert resends == []  # and the sender forgot it ever sent
            assert net["FR"].counters["restarts_without_journal"] == 1
