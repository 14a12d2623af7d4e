"""A live network of bureaus on a real broker, for integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import cache

from broker import BrokerTarget, EmbeddedBroker
from bureaus import LinkModel, Network, NetworkContext, Pki, generate_pki
from bureaus.connectors import MqttClient
from protocol import Roster, default_roster
from protocol.network.routing import Topology
from tests.conftest import require_mosquitto


@cache
def full_pki() -> Pki:
    return generate_pki(default_roster(), datetime.now(UTC))


@asynccontextmanager
async def live_network(
    topology: Topology,
    roster: Roster | None = None,
    *,
    links: bool = False,
    kind: str = "mosquitto",
    verify_processes: int = 0,
    client: MqttClient = "gmqtt",
) -> AsyncIterator[Network]:
    """Every bureau of ``roster`` connected to a fresh secured embedded broker through
    ``client``."""
    if kind == "mosquitto":
        require_mosquitto()
    roster = roster or default_roster()
    model = LinkModel(roster, enabled=links)
    ctx = NetworkContext(
        roster,
        topology,
        BrokerTarget("127.0.0.1", 0),
        model,
        seed=7,
        verify_processes=verify_processes,
        client=client,
    )
    network = Network(ctx, full_pki())
    with EmbeddedBroker(kind=kind, security=network.security(), persistence=False) as broker:  # type: ignore[arg-type]
        ctx.target = BrokerTarget(
            broker.host, broker.port, kind=broker.kind, version=broker.version
        )
        await network.start()
        try:
            yield network
        finally:
            await network.stop()
