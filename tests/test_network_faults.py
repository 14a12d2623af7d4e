"""Faults between a bureau and the broker, injected by our own TCP proxy; nothing may be lost.

Kenya's bureau reaches Mosquitto through :class:`~broker.faultproxy.FaultProxy`; the others
connect directly. Traffic flows both ways across the fault; each test prints its accounting
(sent, acknowledged by the broker, delivered, duplicates, lost, recovery time) for RELIABILITY.md.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

from broker import BrokerTarget, client
from broker.faultproxy import FaultProxy
from bureaus import MQTT_CLIENTS, MqttClient, Network
from bureaus.samples import diffusion
from tests.test_reliability import expected_and_delivered, resilient_network, until_quiet

FAR = "KE"
NEAR = ("FR", "DE", "BR")


@pytest.fixture(params=MQTT_CLIENTS, autouse=True)
def each_client(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every fault, through each MQTT client the bureaus can speak through."""
    global _CLIENT  # noqa: PLW0603 - read by through_proxy, set per parameter
    _CLIENT = request.param
    yield
    _CLIENT = "gmqtt"


_CLIENT: MqttClient = "gmqtt"


@asynccontextmanager
async def through_proxy() -> AsyncIterator[tuple[Network, FaultProxy]]:
    async with resilient_network(client=_CLIENT) as (network, broker):
        proxy = FaultProxy(BrokerTarget(broker.host, broker.port), seed=3)
        await proxy.start()
        await network.stop([FAR])
        network.ctx.targets[FAR] = proxy.target
        await network.start([FAR])
        try:
            yield network, proxy
        finally:
            await proxy.stop()


@dataclass
class Accounting:
    sent: int
    broker_acknowledged: int
    """Transmissions (diffusions and acknowledgements) the broker acknowledged."""
    delivered: int
    duplicates: int
    lost: int
    recovery_s: float

    def show(self, fault: str) -> None:
        print(f"\n{fault}: {self}")  # the figures RELIABILITY.md quotes


async def exchange(network: Network, count: int, gap_s: float) -> None:
    """``count`` diffusions each way between Kenya and the others, ``gap_s`` apart."""
    for n in range(count):
        near = NEAR[n % len(NEAR)]
        network[FAR].submit(diffusion(FAR, (near,), f"out {n}"))
        network[near].submit(diffusion(near, (FAR,), f"in {n}"))
        await asyncio.sleep(gap_s)


async def account(network: Network, since: float) -> Accounting:
    await until_quiet(network, timeout=90)
    expected, delivered = expected_and_delivered(network)
    events = network.ctx.events.events
    diffusions = {
        (e.message_id, e.bureau)
        for e in events
        if e.kind == "delivered" and e.message_kind == "diffusion"
    }
    deliveries = [e for e in events if e.kind == "delivered"]
    last = max((e.t_ns for e in deliveries), default=0) / 1e9
    return Accounting(
        sent=sum(1 for e in events if e.kind == "sent" and e.message_kind == "diffusion"),
        broker_acknowledged=sum(b.counters["transmitted"] for b in network.bureaus.values()),
        delivered=len(diffusions),
        duplicates=len(deliveries)
        - len(delivered)
        + sum(b.counters["rejected:duplicate"] for b in network.bureaus.values()),
        lost=len(expected - delivered),
        recovery_s=round(max(0.0, last - since), 3),
    )


def exactly_once(network: Network) -> None:
    pairs = [(e.message_id, e.bureau) for e in network.ctx.events.events if e.kind == "delivered"]
    assert len(pairs) == len(set(pairs)), "a message reached the application twice"


async def test_latency_and_jitter_on_the_way_to_the_broker() -> None:
    async with through_proxy() as (network, proxy):
        proxy.latency_ms, proxy.jitter_ms = 40.0, 15.0
        await exchange(network, 30, 0.02)
        result = await account(network, time.time())
        slow = [
            e.latency_ms
            for e in network.ctx.events.events
            if e.kind == "delivered" and e.message_kind == "diffusion" and FAR in (e.bureau, e.peer)
        ]
    result.show("latency 40 ms +- 15 ms")
    assert result.lost == 0
    exactly_once(network)
    assert len(slow) == 60
    assert min(v for v in slow if v is not None) >= 25.0  # one pass through the proxy at least


async def test_black_hole_then_heal_loses_nothing() -> None:
    async with through_proxy() as (network, proxy):
        traffic = asyncio.create_task(exchange(network, 40, 0.1))  # four seconds of traffic
        await asyncio.sleep(0.5)
        proxy.blackhole()
        await asyncio.sleep(2.5)
        healed = time.time()
        proxy.heal()
        await traffic
        result = await account(network, healed)
        disconnects = network[FAR].counters["disconnects"]
    result.show("black hole for 2.5 s")
    assert proxy.resets >= 1  # the connection caught in the black hole was torn down
    assert disconnects >= 1  # and Kenya noticed and reconnected
    assert result.lost == 0
    exactly_once(network)


async def test_connection_reset_in_the_middle_of_a_publish() -> None:
    async with through_proxy() as (network, proxy):
        proxy.reset_next_publish()
        cut = time.time()
        await exchange(network, 20, 0.05)
        result = await account(network, cut)
    result.show("reset mid-publish")
    assert proxy.resets == 1
    assert network[FAR].counters["disconnects"] >= 1
    assert result.lost == 0
    exactly_once(network)


async def test_a_publish_cut_with_its_connection_is_published_again() -> None:
    """The driver's own retry (not the end-to-end resend) brings a publish its connection lost.

    Through gmqtt a publish is handed over without a task and followed by a future; the future
    must fail when the connection goes, or the transmission waits for ever.
    """
    async with through_proxy() as (network, proxy):
        for bureau in network.bureaus.values():
            bureau.resend_after = 0  # no end-to-end resends: only the publish's retry can help
        proxy.reset_next_publish()
        network[FAR].submit(diffusion(FAR, ("FR",), "cut in half"))
        await until_quiet(network, timeout=60)
        expected, delivered = expected_and_delivered(network)
    assert proxy.resets == 1
    assert network[FAR].counters["publish_retries"] >= 1
    assert expected
    assert expected <= delivered
    exactly_once(network)


async def test_slow_link_delays_but_delivers_everything() -> None:
    async with through_proxy() as (network, proxy):
        proxy.bytes_per_s = 20_000.0  # each diffusion is about 1.8 KB on the wire
        started = time.time()
        await exchange(network, 25, 0.0)
        result = await account(network, started)
    result.show("slow link, 20 kB/s")
    assert result.lost == 0
    exactly_once(network)
    assert result.recovery_s >= 1.5  # 25 envelopes out of Kenya take over two seconds at that rate


async def forget_session(network: Network, bureau: str) -> None:
    """End ``bureau``'s persistent session at the broker: no subscription survives from before."""
    async with client(
        network.ctx.target,
        client_id=bureau,
        username=bureau,
        password=network[bureau].password,
        clean_session=True,
    ):
        pass


async def test_a_refused_subscription_is_asked_for_again_not_left_deaf() -> None:
    async with through_proxy() as (network, proxy):
        await network.stop([FAR])
        await forget_session(network, FAR)  # only a granted SUBSCRIBE can make Kenya hear now
        proxy.refuse_subscriptions(2)
        started = time.time()
        await network.start([FAR])
        await exchange(network, 20, 0.02)
        result = await account(network, started)
        refusals = network[FAR].counters["subscribe_refused"]
        disconnects = network[FAR].counters["disconnects"]
    result.show("subscription refused twice")
    assert proxy.refused == 2
    assert refusals == 2
    assert disconnects == 0  # asked again on the same connection
    assert result.lost == 0
    exactly_once(network)


async def test_a_subscription_refused_too_often_ends_the_connection() -> None:
    async with through_proxy() as (network, proxy):
        await network.stop([FAR])
        await forget_session(network, FAR)
        network[FAR].session.subscribe_attempts = 2
        proxy.refuse_subscriptions(3)
        started = time.time()
        await network.start([FAR])
        await exchange(network, 20, 0.02)
        result = await account(network, started)
        counters = dict(network[FAR].counters)  # before the proxy closes under Kenya
    result.show("subscription refused three times, two tries per connection")
    assert proxy.refused == 3
    assert counters["subscribe_refused"] == 3
    assert counters["disconnects"] == 1  # refused twice, reconnected, refused once more, granted
    assert proxy.connections >= 2
    assert result.lost == 0
    exactly_once(network)


async def test_an_inbox_probe_behind_a_backlog_is_not_taken_for_deafness() -> None:
    async with through_proxy() as (network, proxy):
        # bureaus probe their inbox only on a cluster: two "nodes" that are the same broker
        network.ctx.cluster = (proxy.target, proxy.target)
        for bureau in network.bureaus.values():
            bureau.resend_after = 60.0  # no resends to swell the backlog
        network[FAR].session.probe_after = 1.0
        await network.stop([FAR])
        await network.start([FAR])  # connected through the proxy, its first probe answered
        for _ in range(50):
            if network[FAR].counters["inbox_verified"]:
                break
            await asyncio.sleep(0.1)
        proxy.bytes_per_s = 25_000.0  # about 1.8 KB a diffusion: 150 take seconds to drain
        started = time.time()
        for n in range(150):
            near = NEAR[n % len(NEAR)]
            network[near].submit(diffusion(near, (FAR,), f"backlog {n}"))
        await asyncio.sleep(0.2)
        network.ctx.cluster_trouble()  # Kenya probes again, behind the backlog
        result = await account(network, started)
        for _ in range(100):
            if network[FAR].counters["inbox_verified"] >= 2:
                break
            await asyncio.sleep(0.1)
        counters = dict(network[FAR].counters)
    result.show("inbox probe queued behind a 150-message backlog")
    assert result.recovery_s > 2.5  # the backlog took longer than the probe may wait
    assert counters.get("inbox_verified", 0) >= 2
    assert counters.get("inbox_deaf", 0) == 0  # messages kept arriving: alive, not deaf
    assert result.lost == 0
    exactly_once(network)
