"""Signature checks on another core (bureaus.verifier): a head start for the bureaus, never a
verdict. The helper's answers only let a bureau skip the arithmetic for the exact bytes verified
against the certificate it still holds; every other check runs, and whatever the helper did not
verify the bureau verifies and refuses for itself."""

from __future__ import annotations

import asyncio
import copy
import io
import os
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bureaus import Network
from bureaus.samples import NOW, diffusion, sample_messages
from bureaus.samples import throwaway_world as world
from bureaus.verifier import (
    ENTRY,
    OPEN,
    SEAL,
    VERIFY,
    SignatureHelper,
    pack_answers,
    pack_batch,
    unpack_answers,
    unpack_batch,
)
from bureaus.verify_worker import NICE, Sealer, serve
from protocol import topics
from protocol.errors import CertificateError, Reason, Rejection
from protocol.network.roster import default_roster
from protocol.security.envelope import SealOrder, pack_seal_order, unpack_seal_order
from protocol.security.primitives import ed25519_verify_many
from scenarios.cli import LIBRARY
from scenarios.model import load_scenario
from scenarios.results import RunResult
from scenarios.runner import RunOptions, run_scenario
from tests.conftest import require_mosquitto
from tests.network_fixtures import live_network


def sealed_for_fr() -> bytes:
    message = sample_messages()["case-message"].model_copy(update={"created_at": NOW})
    return world().codec("KE").seal_at(message, NOW, to=["FR"])


def flipped(data: bytes, at: int) -> bytes:
    changed = bytearray(data)
    changed[at] ^= 0x01
    return bytes(changed)


# --- the pieces, without processes --------------------------------------------------------------


def test_a_batch_goes_over_the_pipe_and_back_whole() -> None:
    items = [
        (VERIFY, bytes(32), bytes(64), b""),
        (SEAL, b"k" * 32, b"", b"an order" * 100),
        (VERIFY, b"k" * 32, b"s" * 64, b"signed bytes" * 100),
    ]
    packed = pack_batch(items)
    assert unpack_batch(packed[4:]) == items
    for cut in (5, 40, 140, len(packed) - 1):
        with pytest.raises(ValueError, match="truncated"):
            unpack_batch(packed[4:cut])
    with pytest.raises(ValueError, match="after"):
        unpack_batch(packed[4:] + b"x")
    with pytest.raises(ValueError, match="unknown kind"):
        unpack_batch(packed[4:8] + b"X" + packed[9:])
    answers: list[bool | bytes] = [True, b"an envelope", False, b"content"]
    body = pack_answers(answers)[4:]
    assert unpack_answers(body, 4) == answers
    with pytest.raises(ValueError, match="truncated"):
        unpack_answers(body[:-3], 4)
    with pytest.raises(ValueError, match="after"):
        unpack_answers(body + b"\x00", 4)
    with pytest.raises(ValueError, match="unknown"):
        unpack_answers(b"\x07", 1)


def test_the_worker_answers_each_item_in_order_and_stops_at_a_bad_batch() -> None:
    data = sealed_for_fr()
    check = world().codec("FR").prepare_check(data)
    assert check is not None
    key, signature, signed = check.work
    batches = [
        [
            (VERIFY, *check.work),
            (VERIFY, key, flipped(signature, 3), signed),
            (VERIFY, bytes(32), signature, signed),
        ],
        [],
        [(VERIFY, key, signature, signed + b"!")],
    ]
    source = io.BytesIO(b"".join(pack_batch(b) for b in batches) + b"\x00\x00\x00\x09garbage!!")
    sink = io.BytesIO()
    assert serve(source, sink) == 3
    answers = b"\x00\x00\x00\x03\x01\x00\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x01\x00"
    assert sink.getvalue() == answers
    assert ed25519_verify_many([check.work]) == [True]


def test_the_worker_opens_only_what_verifies_and_what_its_pair_secret_opens() -> None:
    data = sealed_for_fr()
    fr = world().codec("FR")
    check = fr.prepare_check(data)
    assert check is not None
    assert check.opening is not None
    index, pair = check.opening
    key = check.work[0]
    opening = pair + ENTRY.pack(index)
    items = [
        (OPEN, key, opening, data),
        (OPEN, key, opening, flipped(data, len(data) - 1)),  # a forged signature
        (OPEN, key, flipped(pair, 0) + ENTRY.pack(index), data),  # not the pair secret
        (OPEN, key, pair + ENTRY.pack(index + 1), data),  # no such entry
    ]
    sink = io.BytesIO()
    assert serve(io.BytesIO(pack_batch(items)), sink) == 1
    content, forged, wrong_key, no_entry = unpack_answers(sink.getvalue()[4:], 4)
    assert content == world().codec("FR").open_at(data, NOW).message.model_dump_json().encode()
    assert forged is False
    assert wrong_key is True  # verified, not opened: the bureau decrypts and refuses for itself
    assert no_entry is True


def test_content_opened_ahead_is_taken_only_with_the_check_it_came_with() -> None:
    data = sealed_for_fr()
    fr = world().codec("FR")
    check = fr.prepare_check(data)
    assert check is not None
    fr.vouch(check, b"not what the envelope holds")
    with pytest.raises(Rejection) as refused:
        fr.receive_at(data, NOW)  # the bureau validates what the helper opened
    assert refused.value.reason is Reason.INVALID_PAYLOAD
    assert fr.opened_ahead == 1
    other = world().codec("FR")
    check = other.prepare_check(data)
    assert check is not None
    # against another certificate object: verified and decrypted again, the content ignored
    other.vouch(replace(check, signer=copy.copy(check.signer)), b"ignored")
    _, opened = other.receive_at(data, NOW)
    assert opened is not None
    assert opened.message.model_dump_json().encode() != b"ignored"
    assert other.opened_ahead == 0
    assert other.vouched == 0


def test_content_vouched_for_without_its_entry_is_decrypted_by_the_bureau() -> None:
    data = sealed_for_fr()
    fr = world().codec("FR")
    check = fr.prepare_check(data)
    assert check is not None
    fr.vouch(replace(check, opening=None), b"not what the envelope holds")
    _, opened = fr.receive_at(data, NOW)  # no crash: the content is decrypted here instead
    assert opened is not None
    assert opened.message.model_dump_json().encode() != b"not what the envelope holds"
    assert fr.opened_ahead == 0
    assert fr.vouched == 1


def seal_order_for_fr(text: str = "sealed elsewhere") -> tuple[SealOrder, bytes]:
    """KE's seal order of a diffusion to FR, and KE's signing key as the pipe carries it."""
    ke = world().codec("KE")
    message = diffusion("KE", ("FR",), text, "warning").model_copy(update={"created_at": NOW})
    order = ke.seal_order_at(message, NOW, to=["FR"])
    return order, ke.credentials.current.signing_key.private_bytes_raw()


def test_an_order_sealed_by_the_worker_opens_as_a_seal_made_in_the_bureau_would() -> None:
    order, key = seal_order_for_fr()
    assert unpack_seal_order(pack_seal_order(order)) == order
    source = io.BytesIO(pack_batch([(SEAL, key, b"", pack_seal_order(order))]))
    sink = io.BytesIO()
    assert serve(source, sink) == 1
    (envelope,) = unpack_answers(sink.getvalue()[4:], 1)
    assert isinstance(envelope, bytes)
    opened = world().codec("FR").open_at(envelope, NOW)
    assert opened.message.message_id == order.message_id
    assert opened.message.model_dump_json().encode() == order.plaintext
    assert opened.sender.bureau_id == "KE"


def test_the_worker_seals_nothing_with_a_key_that_is_not_the_order_s() -> None:
    order, _ = seal_order_for_fr()
    de_key = world().codec("DE").credentials.current.signing_key.private_bytes_raw()
    sealer = Sealer()
    forged = sealer.seal(de_key, pack_seal_order(order))
    with pytest.raises(Rejection) as refused:
        world().codec("FR").open_at(forged, NOW)  # sealed, but the signature is not KE's
    assert refused.value.reason is Reason.BAD_SIGNATURE
    assert sealer.seal(b"short", pack_seal_order(order)) == b""
    assert sealer.seal(de_key, pack_seal_order(order)[:-1]) == b""


def test_a_vouched_envelope_opens_without_verifying_and_still_passes_every_other_check() -> None:
    data = sealed_for_fr()
    fr = world().codec("FR")
    check = fr.prepare_check(data)
    assert check is not None
    fr.vouch(check)
    header, opened = fr.receive_at(data, NOW)
    assert opened is not None
    assert fr.vouched == 1
    # the replay window still runs: the same bytes again are a duplicate, and verified anew
    fr.vouch(check)
    with pytest.raises(Rejection) as refused:
        fr.receive_at(data, NOW)
    assert refused.value.reason is Reason.DUPLICATE
    assert header.sender == "KE"


def test_a_vouch_covers_only_its_exact_bytes_and_the_certificate_it_was_checked_against() -> None:
    data = sealed_for_fr()
    fr = world().codec("FR")
    check = fr.prepare_check(data)
    assert check is not None
    forged = flipped(data, len(data) - 1)  # the signature's last byte
    forged_check = fr.prepare_check(forged)
    assert forged_check is not None
    # a check of other bytes, or against another certificate object, is verified again
    fr.vouch(replace(forged_check, signer=copy.copy(forged_check.signer)))
    with pytest.raises(Rejection) as refused:
        fr.receive_at(forged, NOW)
    assert refused.value.reason is Reason.BAD_SIGNATURE
    fr.vouch(check)
    with pytest.raises(Rejection) as refused:
        fr.receive_at(forged, NOW)  # not the vouched bytes
    assert refused.value.reason is Reason.BAD_SIGNATURE
    assert fr.vouched == 0


def test_nothing_to_check_ahead_for_garbage_or_an_unknown_sender() -> None:
    fr = world().codec("FR")
    assert fr.prepare_check(b"\x02\x01garbage") is None
    assert fr.prepare_check(b"") is None


# --- helpers beside a live network ----------------------------------------------------------


async def until(check: Callable[[], bool], seconds: float = 4.0) -> None:
    """Wait (a little at a time) until ``check()`` holds, or ``seconds`` have passed."""
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)


@asynccontextmanager
async def stopped_fr_beside_a_helper() -> AsyncIterator[tuple[Network, SignatureHelper]]:
    """A live network with a signature helper, FR stopped: a test hands FR's driver reads."""
    roster = default_roster().subset(["gs", "FR", "DE"])
    async with live_network("mesh", roster, verify_processes=1) as net:
        helper = net.ctx.verifier
        assert helper is not None
        await net.stop(["FR"], graceful=False)
        yield net, helper


async def killed_helper(net: Network) -> SignatureHelper:
    """The network's helper, once its process is killed and the loss is seen."""
    helper = net.ctx.verifier
    assert helper is not None
    (pid,) = helper.pids()
    os.kill(pid, signal.SIGKILL)
    await until(lambda: helper.counts["helper_lost"] > 0)
    return helper


async def test_a_lost_helper_leaves_the_bureaus_verifying_and_stop_ends_the_helpers() -> None:
    roster = default_roster().subset(["gs", "FR", "DE"])
    async with live_network("mesh", roster, verify_processes=1) as net:
        helper = await killed_helper(net)
        assert helper.counts["helper_lost"] == 1
        message = diffusion("DE", ("FR",), "after the helper", "warning")
        net["DE"].submit(message)
        await net.settle()
        assert net.ctx.events.of("delivered", bureau="FR", message_id=str(message.message_id))
        assert net["FR"].codec.vouched == 0
    assert net.ctx.verifier is None


async def test_stopping_the_network_stops_its_helpers() -> None:
    roster = default_roster().subset(["gs", "FR", "DE"])
    async with live_network("mesh", roster, verify_processes=2) as net:
        helper = net.ctx.verifier
        assert helper is not None
        pids = helper.pids()
        assert len(pids) == 2
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


async def test_a_helper_that_never_answers_is_left_out() -> None:
    async def quiet() -> SignatureHelper:
        return await SignatureHelper.start(1, timeout=0.0)

    helper = await quiet()
    assert helper.counts["helper_lost"] == 1
    assert helper.pids() == []
    codec = world().codec("FR")
    data = sealed_for_fr()
    queued: list[bytes] = []
    helper.submit(codec, data, lambda ahead: queued.append(data) if not ahead else None)
    assert queued == [data]  # no helper: queued at once, verified by the bureau
    await helper.close()


async def test_an_envelope_with_the_helper_when_its_bureau_crashes_goes_with_the_process() -> None:
    async with stopped_fr_beside_a_helper() as (net, helper):
        envelope = net["DE"].codec.seal_at(
            diffusion("DE", ("FR",), "read, then the crash", "warning"),
            datetime.now(UTC),
            to=["FR"],
        )
        fr = net["FR"]
        fr._admit(topics.inbox("FR"), envelope, False)  # as the connection reads it
        fr.crash(journal=True)  # before the helper answers
        await until(lambda: helper.counts["verified"] > 0)
        assert helper.counts["verified"] == 1
        assert fr.counters["lost_in_crash"] == 1
        assert fr.inputs.pop() is None


async def test_a_live_scenario_run_with_helpers_delivers_what_it_did_without() -> None:
    require_mosquitto()
    scenario = load_scenario(LIBRARY / "red-notice.yaml")
    runs = {}
    for verifiers in (0, 1):
        options = RunOptions(broker="embedded:mosquitto", seed=3, verifiers=verifiers)
        runs[verifiers] = await run_scenario(scenario, options)
    ahead = {
        verifiers: sum(c.get("signature_verified_ahead", 0) for c in result.counters.values())
        for verifiers, result in runs.items()
    }
    assert ahead[0] == 0
    assert ahead[1] > 0

    def deliveries(result: RunResult) -> list[tuple[str, str]]:
        delivered = [e for e in result.events if e.kind == "delivered"]
        return sorted((e.bureau, e.message_kind or "") for e in delivered)

    assert deliveries(runs[1]) == deliveries(runs[0])


async def test_a_flood_is_refused_at_the_lane_before_the_helper_verifies_it() -> None:
    async with stopped_fr_beside_a_helper() as (net, helper):
        fr = net["FR"]
        fr.inputs.lane_limit = 5
        now = datetime.now(UTC)
        flood = [
            net["DE"].codec.seal_at(
                diffusion("DE", ("FR",), f"flood {n}", "warning"), now, to=["FR"]
            )
            for n in range(12)
        ]
        for envelope in flood:
            fr._admit(topics.inbox("FR"), envelope, False)  # as the connection reads them
        # what waits with the helper counts against DE's lane: the rest is refused unverified
        assert helper.counts["submitted"] == 5
        assert fr.counters["rejected:fair_share"] == 7
        await until(lambda: helper.counts["verified"] == 5)
        assert len(fr.inputs) == 5
        fr._admit(topics.inbox("FR"), flood[0], False)  # the lane is still full
        assert fr.counters["rejected:fair_share"] == 8
        assert helper.counts["submitted"] == 5


async def test_a_flood_through_the_broker_is_delivered_or_refused_never_lost() -> None:
    # the same flood as a member would send it, through the real client and broker: however the
    # reads fall into loop turns, every envelope is delivered or refused for its lane
    roster = default_roster().subset(["gs", "FR", "DE"])
    async with live_network("mesh", roster, verify_processes=1) as net:
        fr, de = net["FR"], net["DE"]
        fr.inputs.lane_limit = 5
        now = datetime.now(UTC)
        flood = [
            de.codec.seal_at(diffusion("DE", ("FR",), f"flood {n}", "warning"), now, to=["FR"])
            for n in range(200)
        ]
        await asyncio.gather(*(de.publish_raw(topics.inbox("FR"), e) for e in flood))

        def delivered() -> int:
            return len(net.ctx.events.of("delivered", bureau="FR"))

        await until(lambda: delivered() + fr.counters["rejected:fair_share"] == 200, 30.0)
        assert delivered() + fr.counters["rejected:fair_share"] == 200
        assert delivered() == fr.counters["signature_verified_ahead"]


async def test_posted_messages_are_sealed_by_the_helper_and_sent_in_the_order_posted() -> None:
    roster = default_roster().subset(["gs", "FR", "DE"])
    async with live_network("mesh", roster, verify_processes=1) as net:
        helper = net.ctx.verifier
        assert helper is not None
        posted = [diffusion("DE", ("FR",), f"posted {n}", "warning") for n in range(30)]
        for message in posted:
            net["DE"].post(message)
        assert net["DE"].sealing == 30  # with the helper: nothing sent yet
        assert not net.ctx.events.of("sent", bureau="DE")
        await net.settle()
        assert helper.counts["sealed"] == 30
        sent = [e.message_id for e in net.ctx.events.of("sent", bureau="DE")]
        assert sent == [str(m.message_id) for m in posted]
        delivered = {e.message_id for e in net.ctx.events.of("delivered", bureau="FR")}
        assert delivered == set(sent)
        assert net["DE"].sealing == 0
        assert net["FR"].codec.opened_ahead == 30  # decrypted by the helper too


async def test_without_its_helper_a_bureau_seals_what_it_posts_itself() -> None:
    roster = default_roster().subset(["gs", "FR", "DE"])
    async with live_network("mesh", roster, verify_processes=1) as net:
        helper = await killed_helper(net)
        message = diffusion("DE", ("FR",), "posted after the helper", "warning")
        net["DE"].post(message)
        await net.settle()
        assert net.ctx.events.of("delivered", bureau="FR", message_id=str(message.message_id))
        assert helper.counts["sealed"] == 0
        assert helper.counts["not_sealed"] == 1


async def test_a_post_is_checked_when_posted_and_lost_with_a_crash_before_its_seal() -> None:
    async with stopped_fr_beside_a_helper() as (net, helper):
        de = net["DE"]
        await net.revoke_bureaus(["FR"])
        with pytest.raises(CertificateError):
            de.post(diffusion("DE", ("FR",), "to a revoked bureau", "warning"))
        assert de.sealing == 0
        await net.stop(["DE"], graceful=False)
        de.post(diffusion("DE", ("gs",), "posted, then the crash", "warning"))
        de.crash(journal=True)  # at once: before the helper can answer
        await until(lambda: helper.counts["sealed"] > 0)
        assert helper.counts["sealed"] == 1
        assert de.counters["lost_in_crash"] == 1
        assert not net.ctx.events.of("sent", bureau="DE")
        assert de.sealing == 0


async def test_helpers_run_at_a_lower_priority_than_their_bureaus() -> None:
    helper = await SignatureHelper.start(1)
    try:
        (pid,) = helper.pids()
        own = os.getpriority(os.PRIO_PROCESS, 0)
        for _ in range(100):  # the helper lowers its own priority as it starts
            if os.getpriority(os.PRIO_PROCESS, pid) > own:
                break
            await asyncio.sleep(0.02)
        assert os.getpriority(os.PRIO_PROCESS, pid) == min(own + NICE, 19)
    finally:
        await helper.close()
