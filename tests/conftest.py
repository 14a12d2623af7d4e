"""Shared fixtures: real brokers on free loopback ports, with bureau credentials from a test PKI."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, suppress

import aiomqtt
import pytest

from broker import (
    BrokerSecurity,
    BrokerTarget,
    EmbeddedBroker,
    bureau_password,
    client,
    find_mosquitto,
    topic_rules,
)
from protocol import default_roster
from tests.pki_world import world

BROKER_ROSTER = default_roster().subset(["gs", "FR", "DE", "KE", "BR", "rb-nairobi"])


def require_mosquitto() -> None:
    """Skip without Mosquitto on a developer machine; fail in CI, which installs it."""
    if find_mosquitto() is None:
        if os.environ.get("CI"):
            pytest.fail("mosquitto is not installed (.ci/run installs it)")
        pytest.skip("mosquitto is not installed (apt-get install mosquitto mosquitto-clients)")


@pytest.fixture(scope="session")
def security() -> BrokerSecurity:
    identities = world().identities
    return BrokerSecurity(
        passwords={b.id: bureau_password(identities[b.id]) for b in BROKER_ROSTER},
        rules=topic_rules(BROKER_ROSTER),
    )


def _broker(kind: str, security: BrokerSecurity | None) -> Iterator[EmbeddedBroker]:
    if kind == "mosquitto":
        require_mosquitto()
    broker = EmbeddedBroker(kind=kind, security=security)  # type: ignore[arg-type]
    with broker:
        yield broker


@pytest.fixture(scope="module", params=["mosquitto", "amqtt"])
def secured_broker(
    request: pytest.FixtureRequest, security: BrokerSecurity
) -> Iterator[EmbeddedBroker]:
    """Each embedded broker, in turn, with bureau credentials and ACLs."""
    yield from _broker(request.param, security)


@pytest.fixture(scope="module")
def mosquitto(security: BrokerSecurity) -> Iterator[EmbeddedBroker]:
    """A secured Mosquitto."""
    yield from _broker("mosquitto", security)


def target_of(broker: EmbeddedBroker) -> BrokerTarget:
    return BrokerTarget(broker.host, broker.port, kind=broker.kind, version=broker.version)


@asynccontextmanager
async def connected(
    broker: EmbeddedBroker,
    security: BrokerSecurity,
    bureau: str,
    *,
    client_id: str | None = None,
    clean_session: bool = True,
    will: aiomqtt.Will | None = None,
) -> AsyncIterator[aiomqtt.Client]:
    mqtt = client(
        target_of(broker),
        client_id=client_id or bureau,
        username=bureau,
        password=security.passwords[bureau],
        clean_session=clean_session,
        will=will,
    )
    async with mqtt:
        yield mqtt


async def drain(mqtt: aiomqtt.Client, seconds: float) -> list[aiomqtt.Message]:
    """Everything that arrives within ``seconds``."""
    received: list[aiomqtt.Message] = []

    async def reader() -> None:
        async for message in mqtt.messages:
            received.append(message)

    task = asyncio.create_task(reader())
    await asyncio.sleep(seconds)
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task
    return received
