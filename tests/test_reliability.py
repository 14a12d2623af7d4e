"""Faults survived with nothing lost: broker crash, hostile floods. Real Mosquitto each time."""

from __future__ import annotations

import asyncio
import random
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from broker import BrokerTarget, EmbeddedBroker
from bureaus import LinkModel, MqttClient, Network, NetworkContext
from bureaus.samples import diffusion
from protocol import default_roster, topics
from tests.conftest import require_mosquitto
from tests.network_fixtures import full_pki

ROSTER = default_roster().subset(["gs", "FR", "DE", "BE", "NL", "KE", "BR", "JP"])
NCBS = ["FR", "DE", "BE", "NL", "KE", "BR", "JP"]


@asynccontextmanager
async def resilient_network(
    max_size: int | None = None,
    *,
    persistence: bool = True,
    client: MqttClient = "gmqtt",
) -> AsyncIterator[tuple[Network, EmbeddedBroker]]:
    require_mosquitto()
    ctx = NetworkContext(
        ROSTER, "mesh", BrokerTarget("127.0.0.1", 0), LinkModel(ROSTER, enabled=False), seed=5
    )
    ctx.client = client
    network = Network(ctx, full_pki())
    for bureau in network.bureaus.values():
        bureau.resend_after = 1.0
        if max_size is not None:
            bureau.codec.max_size = max_size
    broker = EmbeddedBroker(kind="mosquitto", security=network.security(), persistence=persistence)
    with broker:
        ctx.target = BrokerTarget(broker.host, broker.port, kind=broker.kind)
        await network.start()
        try:
            yield network, broker
        finally:
            await network.stop()


def expected_and_delivered(network: Network) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    events = network.ctx.events.events
    expected = {(e.message_id or "", r) for e in events if e.kind == "sent" for r in e.recipients}
    delivered = {(e.message_id or "", e.bureau) for e in events if e.kind == "delivered"}
    return expected, delivered


async def until_quiet(network: Network, timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if not any(b.pending for b in network.bureaus.values()):
            break
        await asyncio.sleep(0.2)
    await network.settle(quiet_s=0.3)


async def test_broker_killed_mid_traffic_loses_nothing() -> None:
    rng = random.Random(9)
    async with resilient_network() as (network, broker):
        for n in range(120):
            sender, recipient = rng.sample(NCBS, 2)
            network[sender].submit(diffusion(sender, (recipient,), f"message {n}"))
            if n == 60:
                await asyncio.to_thread(broker.kill)  # SIGKILL, mid-traffic
                await asyncio.sleep(0.3)
                await asyncio.to_thread(broker.restart)
            await asyncio.sleep(0.01)
        await until_quiet(network)
        expected, delivered = expected_and_delivered(network)
        lost = expected - delivered
        counters = {b: dict(n.counters) for b, n in network.bureaus.items()}
    assert len(expected) == 240  # 120 diffusions and their 120 acknowledgements
    assert lost == set(), f"lost {len(lost)}; counters {counters}"
    assert sum(c.get("disconnects", 0) for c in counters.values()) >= len(NCBS)
    assert not any(c.get("shed:unacknowledged") for c in counters.values())


async def test_the_broker_is_not_a_ledger_senders_resend_what_it_lost() -> None:
    # No persistence: messages queued at the broker for an offline bureau die with the broker.
    async with resilient_network(persistence=False) as (network, broker):
        await network.stop(["DE"])
        sent = []
        for n in range(20):
            message = diffusion("FR", ("DE",), f"queued {n}")
            network["FR"].submit(message)
            sent.append(str(message.message_id))
        await network.settle(quiet_s=0.3)
        await asyncio.to_thread(broker.kill)
        await asyncio.to_thread(broker.restart)  # the queue for DE is gone
        await network.start(["DE"])
        await until_quiet(network)
        got = {e.message_id for e in network.ctx.events.of("delivered", bureau="DE")}
        resent = network["FR"].counters["resent"]
    assert set(sent) <= got
    assert resent >= 20  # recovered by the sender, not by the broker


async def test_lost_acknowledgement_is_answered_again_not_acted_on_twice() -> None:
    async with resilient_network() as (network, _broker):
        message = diffusion("FR", ("DE",), "once only", "warning")
        envelope = network["FR"].submit(message)
        await until_quiet(network)
        assert str(message.message_id) not in network["FR"].pending  # acknowledged
        # as if the acknowledgement had been lost: the same envelope arrives at DE again
        await network["FR"].publish_raw(topics.inbox("DE"), envelope)
        await network.settle(quiet_s=0.5)
        delivered = network.ctx.events.of(
            "delivered", bureau="DE", message_id=str(message.message_id)
        )
        acks = network.ctx.events.of(
            "acknowledged", bureau="FR", message_id=str(message.message_id)
        )
    assert len(delivered) == 1  # acted on once
    assert network["DE"].counters["rejected:duplicate"] == 1  # the duplicate, counted
    assert len(acks) == 1  # the second acknowledgement is a duplicate at FR, counted there
    assert network["FR"].counters["rejected:duplicate"] == 1


@pytest.mark.skipif(shutil.which("mosquitto_pub") is None, reason="mosquitto-clients missing")
async def test_hostile_flood_is_counted_and_legitimate_traffic_still_served() -> None:
    async with resilient_network(max_size=64 * 1024) as (network, broker):
        user, password = "BE", network.passwords["BE"]  # a valid credential, misused
        genuine = network["BE"].submit(diffusion("BE", ("FR",), "real"))
        await network.settle()
        rng = random.Random(4)
        hostile: list[bytes] = (
            [rng.randbytes(rng.randrange(1, 200)) for _ in range(20)]  # random bytes
            + [b"\x01\x01" + b"\x00" * (70 * 1024) for _ in range(5)]  # oversized
            + [genuine[: rng.randrange(10, len(genuine) - 1)] for _ in range(10)]  # truncated
            + [genuine for _ in range(10)]  # copied
        )
        for payload in hostile:
            subprocess.run(
                [
                    shutil.which("mosquitto_pub") or "",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(broker.port),
                    "-u",
                    user,
                    "-P",
                    password,
                    "-i",
                    "intruder",
                    "-q",
                    "1",
                    "-t",
                    topics.inbox("FR"),
                    "-s",
                ],
                input=payload,
                check=True,
                timeout=10,
            )
        legit = diffusion("DE", ("FR",), "still served")
        network["DE"].submit(legit)
        await network.settle(quiet_s=0.5)
        fr = network["FR"].counters
        rejected = sum(v for k, v in fr.items() if k.startswith("rejected:"))
        assert rejected == len(hostile)
        assert fr["rejected:duplicate"] == 10  # the same bytes at once: duplicates, not replays
        assert fr["rejected:malformed"] >= 25  # oversized and truncated at least
        assert network.ctx.events.of("delivered", bureau="FR", message_id=str(legit.message_id))


async def test_a_played_bureau_answers_a_resent_copy_only_once_its_player_has() -> None:
    async with resilient_network() as (network, _broker):
        de = network["DE"]
        de.acknowledge = False  # played by a person
        de.inbox_limit = 10
        network["FR"].resend_after = 60.0  # the test resends by hand, when it chooses
        message = diffusion("FR", ("DE",), "for the player", "warning")
        envelope = network["FR"].submit(message)
        await network.settle(quiet_s=0.5)
        mid = str(message.message_id)
        assert mid in de.inbox
        await network["FR"].publish_raw(topics.inbox("DE"), envelope)  # a resend, unanswered
        await network.settle(quiet_s=0.5)
        assert de.counters["rejected:duplicate"] == 1
        assert network.ctx.events.of("acknowledged", bureau="FR", message_id=mid) == []
        de.answer(de.inbox[mid], "actioned")  # the player acknowledges
        await network.settle(quiet_s=0.5)
        assert mid not in network["FR"].pending
        await network["FR"].publish_raw(topics.inbox("DE"), envelope)  # as if that ack was lost
        await network.settle(quiet_s=0.5)
    assert de.counters["rejected:duplicate"] == 2
    assert network["FR"].counters["rejected:duplicate"] == 1  # answered again, same ack id
