"""A hostile member cannot stop a bureau: every receive path refuses, counts, and keeps serving.

The attacker holds a member's valid keys and broker credential. Unit tests drive a bureau's receive
boundary (``Bureau._on_message``) with the bytes a broker would hand it; the live tests run the same
attacks through a real Mosquitto and check that legitimate traffic still arrives afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker import BrokerTarget
from bureaus import Bureau, LinkModel, Network, NetworkContext
from bureaus.samples import diffusion, sample_messages
from protocol import NoticeCancelled, ToAll, ToBureaus, default_roster, topics
from protocol.errors import Reason
from protocol.network.routing import Topology
from protocol.schemas.strategies import MESSAGES
from protocol.security.envelope import KIND_CODES, Header, RecipientEntry
from tests.forge import crl_with_duplicated_extension, frame, split
from tests.network_fixtures import full_pki, live_network

ROSTER = default_roster().subset(["gs", "FR", "DE", "BE", "KE"])


def offline(topology: Topology) -> Network:
    """The bureaus of ROSTER, built but not connected: their receive paths are driven by hand."""
    ctx = NetworkContext(
        ROSTER, topology, BrokerTarget("127.0.0.1", 0), LinkModel(ROSTER, enabled=False), seed=3
    )
    ctx.run_id = bytes(16)  # the run of the headers forged below
    return Network(ctx, full_pki())


def received(bureau: Bureau, topic: str, payload: bytes) -> None:
    bureau.receive(topic, payload)


def delivers_legitimate_traffic(net: Network, to: str) -> bool:
    legit = diffusion("FR", (to,), "legitimate, after the attack")
    envelope = net["FR"].codec.seal_at(legit, datetime.now(UTC))
    received(net[to], topics.inbox(to), envelope)
    return bool(net.ctx.events.of("delivered", bureau=to, message_id=str(legit.message_id)))


def signed_by_fr(header: Header, ciphertext: bytes) -> bytes:
    """An envelope with any header at all, validly signed with FR's own key."""
    fr = full_pki().identities["FR"]
    return frame(
        Header(
            message_id=header.message_id,
            kind=header.kind,
            priority=header.priority,
            schema_version=header.schema_version,
            created_at_ms=header.created_at_ms,
            expires_at_ms=header.expires_at_ms,
            sender="FR",
            sender_signing_key_id=fr.certificate.signing_key_id,
            sender_encryption_key_id=fr.certificate.encryption_key_id,
            salt=header.salt,
            nonce=header.nonce,
            key_commitment=header.key_commitment,
            content_digest=header.content_digest,
            recipients=header.recipients,
        ),
        ciphertext,
        fr.signing_key,
    )


_ids = st.sampled_from([*sorted(ROSTER.ids), "QQ", "fr", "zz-nowhere", "US"])
_now_ms = int(datetime.now(UTC).timestamp() * 1000)


@st.composite
def hostile_headers(draw: st.DrawFn) -> bytes:
    """Arbitrary headers (recipients, kinds, times, keys) around arbitrary ciphertext."""
    created = _now_ms + draw(st.integers(-(10**9), 10**9))
    header = Header(
        message_id=uuid4(),
        kind=draw(st.sampled_from(sorted(KIND_CODES))),
        priority=draw(st.sampled_from(["routine", "urgent", "flash"])),
        schema_version=(draw(st.integers(0, 3)), draw(st.integers(0, 3))),
        created_at_ms=created,
        expires_at_ms=created + draw(st.integers(-(10**6), 10**8)),
        sender="FR",
        sender_signing_key_id=bytes(8),
        sender_encryption_key_id=bytes(8),
        salt=draw(st.binary(min_size=16, max_size=16)),
        nonce=draw(st.binary(min_size=12, max_size=12)),
        key_commitment=draw(st.binary(min_size=32, max_size=32)),
        content_digest=draw(st.binary(min_size=32, max_size=32)),
        recipients=tuple(
            RecipientEntry(bureau, os.urandom(8), os.urandom(48))
            for bureau in draw(st.lists(_ids, min_size=1, max_size=12, unique=True))
        ),
    )
    return signed_by_fr(header, draw(st.binary(min_size=16, max_size=600)))


@st.composite
def misaddressed_messages(draw: st.DrawFn) -> bytes:
    """Real messages of every kind, sealed by FR, addressed and sealed as it likes."""
    kind = draw(st.sampled_from(sorted(MESSAGES)))
    to = draw(
        st.lists(st.sampled_from(["gs", "DE", "BE", "KE"]), min_size=1, max_size=4, unique=True)
    )
    addressed = draw(st.sampled_from([ToBureaus(bureaus=tuple(to)), ToAll()]))
    message = draw(MESSAGES[kind]).model_copy(
        update={"sender": "FR", "created_at": datetime.now(UTC), "recipients": addressed}
    )
    sealed: bytes = full_pki_codec("FR").seal_at(message, datetime.now(UTC), to=to)
    return sealed


_codecs: dict[str, Any] = {}


def full_pki_codec(bureau: str) -> Any:
    if bureau not in _codecs:
        _codecs[bureau] = offline("mesh")[bureau].codec
    return _codecs[bureau]


@st.composite
def hostile_crls(draw: st.DrawFn) -> bytes:
    genuine = full_pki().authority.revocation_list({1, 2, 3}, 9, datetime.now(UTC))
    choice = draw(st.integers(0, 2))
    if choice == 0:
        return crl_with_duplicated_extension(genuine)
    if choice == 1:
        flipped = bytearray(genuine)
        at = draw(st.integers(0, len(genuine) - 1))
        flipped[at] ^= draw(st.integers(1, 255))
        return bytes(flipped)
    return draw(st.binary(max_size=400))


hostile_inputs = st.one_of(
    st.tuples(st.just("inbox"), hostile_headers()),
    st.tuples(st.just("inbox"), misaddressed_messages()),
    st.tuples(st.just("inbox"), st.binary(max_size=300)),
    st.tuples(st.just("crl"), hostile_crls()),
    st.tuples(st.sampled_from(["presence", "broadcast", "other"]), st.binary(max_size=100)),
)


def _topic(where: str, bureau: str) -> str:
    return {
        "inbox": topics.inbox(bureau),
        "crl": topics.CRL,
        "presence": topics.presence("FR"),
        "broadcast": topics.broadcast("all"),
    }.get(where, "bureaunet/v1/elsewhere")


@pytest.mark.parametrize(("topology", "bureau"), [("mesh", "DE"), ("hub", "gs")])
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(attack=st.lists(hostile_inputs, min_size=1, max_size=6))
async def test_hostile_inputs_on_every_receive_path_never_stop_a_bureau(
    topology: Topology, bureau: str, attack: list[tuple[str, bytes]]
) -> None:
    net = offline(topology)
    target = net[bureau]

    def accounted() -> tuple[int, int, int]:
        # an event (delivered, rejected, relayed), a new CRL, or an empty inbox message counted
        counters = target.counters
        return len(net.ctx.events), counters["crl_applied"], counters["inbox_empty"]

    for where, payload in attack:
        before = accounted()
        received(target, _topic(where, bureau), payload)  # raises nothing
        assert accounted() != before  # nothing silently dropped
    assert target.counters["rejected:internal_error"] == 0  # every refusal had its own reason
    assert delivers_legitimate_traffic(net, bureau)


async def test_unexpected_exception_in_a_receive_path_is_counted_not_fatal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    net = offline("mesh")
    de = net["DE"]

    def broken(data: bytes, now: datetime) -> None:
        raise RuntimeError("a bug nobody foresaw")

    with monkeypatch.context() as patch:
        patch.setattr(de.codec, "receive_at", broken)
        received(de, topics.inbox("DE"), b"anything")
    assert de.counters[f"rejected:{Reason.INTERNAL_ERROR}"] == 1
    [event] = net.ctx.events.of("rejected", bureau="DE", reason="internal_error")
    assert event.detail is not None
    assert "RuntimeError" in event.detail
    assert delivers_legitimate_traffic(net, "DE")


# --- the same attacks live, through Mosquitto -------------------------------------------------


async def test_one_envelope_with_an_unknown_recipient_cannot_stop_the_hub() -> None:
    async with live_network("hub", ROSTER) as net:
        genuine = net["KE"].codec.seal_at(diffusion("KE", ("gs",)), datetime.now(UTC))
        header, ciphertext = split(genuine)
        unknown = RecipientEntry("QQ", bytes(8), bytes(48))  # no such bureau in the roster
        hostile = frame(
            replace(header, recipients=(*header.recipients, unknown)),
            ciphertext,
            full_pki().identities["KE"].signing_key,
        )
        await net["KE"].publish_raw(topics.inbox("gs"), hostile)
        await net.settle()
        assert net["gs"].counters[f"rejected:{Reason.UNAUTHORIZED_SENDER}"] == 1
        # traffic through the hub still flows
        after = diffusion("FR", ("DE",), "through the hub, after the attack")
        net["FR"].submit(after)
        await net.settle()
        assert net.ctx.events.of("delivered", bureau="DE", message_id=str(after.message_id))


async def test_one_malformed_revocation_list_cannot_stop_every_bureau() -> None:
    async with live_network("mesh", ROSTER) as net:
        hostile = crl_with_duplicated_extension(
            full_pki().authority.revocation_list({1}, 99, datetime.now(UTC))
        )
        # retained, so every bureau gets it now and again at each reconnection
        await net["gs"].publish_raw(topics.CRL, hostile, retain=True)
        await net.settle()
        for bureau in net.bureaus.values():
            assert bureau.counters[f"rejected:{Reason.MALFORMED}"] >= 1, bureau.id
        after = diffusion("FR", ("DE", "KE", "BE"), "after the bad list")
        net["FR"].submit(after)
        await net.settle()
        got = net.ctx.events.of("delivered", message_id=str(after.message_id))
        assert {e.bureau for e in got} == {"DE", "KE", "BE"}


async def test_ncb_cannot_issue_the_general_secretariats_messages_live() -> None:
    async with live_network("hub", ROSTER) as net:
        cancel = NoticeCancelled(
            message_id=uuid4(),
            sender="FR",
            recipients=ToAll(),
            created_at=datetime.now(UTC),
            entity_id="2026/00001",
            reason="Forged by a member.",
        )
        net["FR"].submit(cancel)
        await net.settle()
        assert net["gs"].counters[f"rejected:{Reason.UNAUTHORIZED_SENDER}"] == 1
        assert net.ctx.events.of("delivered", message_id=str(cancel.message_id)) == []
        assert net.ctx.events.of("hop", bureau="gs", message_id=str(cancel.message_id)) == []


async def test_retained_junk_on_an_inbox_is_refused_and_cleared() -> None:
    async with live_network("mesh", ROSTER) as net:
        await net["FR"].publish_raw(topics.inbox("DE"), b"retained junk", retain=True)
        await net.settle()
        de = net["DE"]
        assert de.counters[f"rejected:{Reason.MALFORMED}"] == 1  # delivered live: refused
        # the next subscription is handed the retained copy: refused again, and cleared
        await net.stop(["DE"], graceful=False)
        await net.start(["DE"])
        await net.settle()
        assert de.counters[f"rejected:{Reason.MALFORMED}"] == 2
        assert de.counters["inbox_cleared"] == 1
        # cleared: the subscription after that is handed nothing
        await net.stop(["DE"], graceful=False)
        await net.start(["DE"])
        after = diffusion("FR", ("DE",), "after the junk")
        net["FR"].submit(after)
        await net.settle()
        assert de.counters[f"rejected:{Reason.MALFORMED}"] == 2
        assert net.ctx.events.of("delivered", bureau="DE", message_id=str(after.message_id))


async def test_a_flood_of_copies_through_the_hub_is_passed_on_once_resends_still_pass() -> None:
    # each copy of a wide envelope relayed would multiply the flood by the fan-out
    net = offline("hub")
    gs = net["gs"]
    gs.core.relay_again_after = 3600.0  # no copy of this test comes that late
    message = diffusion("FR", ("DE", "KE", "BE"), "one envelope, many copies")
    envelope = net["FR"].codec.seal_at(message, datetime.now(UTC))
    for _ in range(20):
        received(gs, topics.inbox("gs"), envelope)
    mid = str(message.message_id)
    assert len(net.ctx.events.of("hop", bureau="gs", message_id=mid)) == 3  # DE, KE, BE once
    assert len(net.ctx.events.of("rejected", bureau="gs", reason="duplicate")) == 19
    gs.core.relay_again_after = 0.0  # as if the sender's resend came after the interval
    received(gs, topics.inbox("gs"), envelope)
    assert len(net.ctx.events.of("hop", bureau="gs", message_id=mid)) == 6


# --- message identity: an id is its sender's -------------------------------------------------


def test_a_members_request_under_anothers_next_id_does_not_take_its_notice() -> None:
    # ids derive from the seed, so KE can predict FR's next request id and send first
    net = offline("hub")
    gs = net["gs"]
    request = sample_messages()["notice-request"].model_copy(
        update={
            "created_at": datetime.now(UTC),
            "sender": "FR",
            "recipients": ToBureaus(bureaus=("gs",)),
            "message_id": net.ctx.ids.inject(0),
        }
    )
    squat = request.model_copy(update={"sender": "KE"})
    now = datetime.now(UTC)
    received(gs, topics.inbox("gs"), net["KE"].codec.seal_at(squat, now))
    received(gs, topics.inbox("gs"), net["FR"].codec.seal_at(request, now))
    assert net.ctx.events.of("rejected", bureau="gs") == []
    requested = net.ctx.events.of("lifecycle", bureau="gs", transition="request")
    assert {e.peer for e in requested} == {"KE", "FR"}
    # each gets its own publication id, derived from its own request
    assert net.ctx.ids.publication(request.message_id, "FR") != net.ctx.ids.publication(
        request.message_id, "KE"
    )


def test_a_relay_passes_on_a_genuine_message_after_a_squatted_copy_of_its_id() -> None:
    net = offline("hub")
    gs = net["gs"]
    gs.core.relay_again_after = 3600.0
    genuine = diffusion("FR", ("DE",), "genuine")
    squat = genuine.model_copy(update={"sender": "KE", "text": "squatted"})
    now = datetime.now(UTC)
    received(gs, topics.inbox("gs"), net["KE"].codec.seal_at(squat, now))
    received(gs, topics.inbox("gs"), net["FR"].codec.seal_at(genuine, now))
    hops = net.ctx.events.of("hop", bureau="gs", message_id=str(genuine.message_id))
    assert len(hops) == 2  # one for each sender's message, neither taken for the other's copy
    assert net.ctx.events.of("rejected", bureau="gs") == []


def test_acknowledgement_ids_are_the_answered_senders_own() -> None:
    ids = offline("mesh").ctx.ids
    mid = uuid4()
    assert ids.acknowledgement(mid, "DE", "FR") != ids.acknowledgement(mid, "DE", "KE")
    assert ids.search_result(mid, "FR") != ids.search_result(mid, "KE")
    assert ids.refusal(mid, "FR") != ids.refusal(mid, "KE")


def test_a_members_envelope_on_the_broadcast_topic_is_refused_by_the_core() -> None:
    # the broker's ACL stops this today; the core does not rely on it
    net = offline("hub")
    de = net["DE"]
    message = diffusion("KE", ("DE",), "on the broadcast topic")
    received(de, topics.broadcast("all"), net["KE"].codec.seal_at(message, datetime.now(UTC)))
    assert net.ctx.events.of("delivered", bureau="DE") == []
    [refused] = net.ctx.events.of("rejected", bureau="DE")
    assert refused.reason == Reason.UNAUTHORIZED_SENDER
    assert refused.peer == "KE"
    assert delivers_legitimate_traffic(net, "DE")


# --- one member's flood does not hold up the others ------------------------------------------


async def _handle_all(bureau: Bureau) -> None:
    task = asyncio.create_task(bureau._input_loop())
    try:
        while len(bureau.inputs):
            await asyncio.sleep(0)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.mark.parametrize("fair", [True, False])
async def test_a_flood_through_the_hub_does_not_hold_up_another_pair(fair: bool) -> None:
    # KE floods the hub with valid envelopes for DE; FR's one message for BE arrives after them
    net = offline("hub")
    gs = net["gs"]
    gs.inputs.fair = fair
    now = datetime.now(UTC)
    flood = [
        net["KE"].codec.seal_at(diffusion("KE", ("DE",), f"flood {n}"), now) for n in range(300)
    ]
    genuine = diffusion("FR", ("BE",), "the other pair's message")
    for envelope in flood:
        gs._admit(topics.inbox("gs"), envelope, False)
    gs._admit(topics.inbox("gs"), net["FR"].codec.seal_at(genuine, now), False)
    await _handle_all(gs)
    hops = [e.message_id for e in net.ctx.events.of("hop", bureau="gs")]
    assert len(hops) == 301  # everything passed on, in the end
    position = hops.index(str(genuine.message_id))
    if fair:
        assert position <= 1  # behind at most one of KE's: the lanes are served in turn
    else:
        assert position == 300  # in arrival order it waited for the whole flood


async def test_a_senders_lane_is_bounded_and_what_it_refuses_is_counted() -> None:
    net = offline("hub")
    gs = net["gs"]
    gs.inputs.lane_limit = 50
    now = datetime.now(UTC)
    for n in range(80):
        envelope = net["KE"].codec.seal_at(diffusion("KE", ("DE",), f"flood {n}"), now)
        gs._admit(topics.inbox("gs"), envelope, False)
    gs._admit(topics.inbox("gs"), b"junk from nobody", False)  # a lane of its own (its topic)
    assert len(gs.inputs) == 51
    refused = net.ctx.events.of("rejected", bureau="gs", reason="fair_share")
    assert len(refused) == 30
    assert {e.peer for e in refused} == {"KE"}
    assert gs.counters["rejected:fair_share"] == 30
    await _handle_all(gs)
    assert len(net.ctx.events.of("hop", bureau="gs")) == 50


async def test_a_revocation_takes_effect_in_the_process_at_once_whatever_the_load() -> None:
    # under load the published list reached a bureau a second late, and it accepted what the
    # revoked member sent meanwhile; every bureau of the process now applies it as it is made
    net = offline("mesh")
    ke = net.pki.identities["KE"].certificate
    await net.revoke_bureaus(["KE"])  # nothing is delivered by any broker here
    for bureau in net.bureaus.values():
        assert bureau.codec.trust.is_revoked(ke), bureau.id
    late = net["KE"].codec.seal_at(
        diffusion("KE", ("DE",), "after my revocation"), datetime.now(UTC)
    )
    received(net["DE"], topics.inbox("DE"), late)
    assert [e.reason for e in net.ctx.events.of("rejected", bureau="DE")] == [Reason.REVOKED]
