"""Starting or reaching the broker a live run names (``--broker``), and pointing a network at it."""

from __future__ import annotations

import asyncio
import contextlib

from broker import BrokerError, BrokerTarget, EmbeddedBroker, parse_broker_url
from broker.cluster import NatsCluster
from broker.embedded import BrokerKind
from bureaus.network import Network
from scenarios.results import ScenarioRunError

__all__ = ["start_broker"]


async def start_broker(
    broker: str, network: Network, stack: contextlib.AsyncExitStack
) -> EmbeddedBroker | None:
    """Start or reach the broker ``--broker`` names; set the network's targets.

    Returns:
        The embedded single broker, when there is one (faults can kill and restart it).
    """
    ctx = network.ctx
    if broker in ("embedded:nats", "embedded:nats-r1"):
        cluster = NatsCluster(
            3,
            consumer_replicas=1 if broker.endswith("-r1") else None,
            security=network.security(),
        )
        try:
            await asyncio.to_thread(cluster.start)
        except BrokerError as exc:
            raise ScenarioRunError(f"the embedded NATS cluster did not start: {exc}") from exc
        stack.callback(cluster.stop)
        ctx.cluster = tuple(
            BrokerTarget(t.host, t.port, kind="nats", version=cluster.version)
            for t in cluster.targets
        )
        ctx.target = ctx.cluster[0]
        return None
    if broker.startswith("embedded"):
        kind = broker.partition(":")[2] or "auto"
        if kind not in ("auto", "mosquitto", "amqtt"):
            raise ScenarioRunError(f"unknown embedded broker {kind!r}")
        kind_t: BrokerKind = kind  # type: ignore[assignment]
        embedded = EmbeddedBroker(kind=kind_t, security=network.security(), persistence=True)
        await asyncio.to_thread(embedded.start)
        stack.callback(embedded.stop)
        ctx.target = BrokerTarget(
            embedded.host, embedded.port, kind=embedded.kind, version=embedded.version
        )
        return embedded
    urls = [u.strip() for u in broker.split(",") if u.strip()]
    targets = [parse_broker_url(u) for u in urls]
    for target in targets:
        await _probe(target)
    if len(targets) > 1:
        ctx.cluster = tuple(targets)  # several nodes of one clustered broker
    ctx.target = targets[0]
    return None


async def _probe(target: BrokerTarget) -> None:
    """Fail fast, with one line, when an external broker does not even accept TCP."""
    try:
        _reader, writer = await asyncio.wait_for(
            asyncio.open_connection(target.host, target.port), timeout=5
        )
    except (OSError, TimeoutError) as exc:
        raise ScenarioRunError(f"cannot reach the broker at {target.url}: {exc}") from None
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
