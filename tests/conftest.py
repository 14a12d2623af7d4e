"""Shared fixtures: real brokers on free loopback ports, with bureau credentials from a test PKI."""

from __future__ import annotations

import asyncio
import inspect
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
    find_mosquitto,
    topic_rules,
)
from broker.errors import BrokerError
from broker.memory import MemoryBroker
from bureaus.connectors import MqttClient
from bureaus.gmqtt_transport import GmqttTransport
from bureaus.samples import throwaway_world as world
from bureaus.transport import MemoryTransport, MqttTransport, Received, Transport
from protocol import default_roster

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


BrokerUnderTest = EmbeddedBroker | MemoryBroker
"""A broker the conformance tests run against: a real one, or the simulation's in-memory one."""


_CLIENT: dict[int, MqttClient] = {}
"""The MQTT client a test broker is spoken to through (by the broker's id)."""


@pytest.fixture(
    scope="module",
    params=["mosquitto", "amqtt", "memory", "mosquitto/gmqtt", "amqtt/gmqtt"],
)
def any_broker(
    request: pytest.FixtureRequest, security: BrokerSecurity
) -> Iterator[BrokerUnderTest]:
    """Each embedded broker through each MQTT client, and the in-memory broker, in turn, with
    credentials and ACLs (``mosquitto`` alone: through aiomqtt)."""
    kind, _, client = str(request.param).partition("/")
    if kind == "memory":
        yield MemoryBroker(security)
        return
    for broker in _broker(kind, security):
        _CLIENT[id(broker)] = "gmqtt" if client == "gmqtt" else "aiomqtt"
        yield broker
        _CLIENT.pop(id(broker), None)


def client_of(broker: BrokerUnderTest) -> MqttClient:
    """The MQTT client the tests speak to ``broker`` through."""
    return _CLIENT.get(id(broker), "aiomqtt")


_OWN = object()


@asynccontextmanager
async def connected(
    broker: BrokerUnderTest,
    security: BrokerSecurity,
    bureau: str | None,
    *,
    client_id: str | None = None,
    clean_session: bool = True,
    will: tuple[str, bytes] | None = None,
    password: object = _OWN,
) -> AsyncIterator[Transport]:
    """A connection through the product's transport for that broker (its own password unless
    ``password`` says otherwise)."""
    secret = security.passwords.get(bureau or "") if password is _OWN else password
    assert secret is None or isinstance(secret, str)
    transport: Transport
    if isinstance(broker, MemoryBroker):
        transport = MemoryTransport(
            broker,
            client_id or bureau or "anonymous",
            username=bureau,
            password=secret,
            clean_session=clean_session,
            will=will,
        )
    else:
        client = GmqttTransport if client_of(broker) == "gmqtt" else MqttTransport
        transport = client(
            target_of(broker),
            client_id or bureau or "anonymous",
            username=bureau,
            password=secret,
            clean_session=clean_session,
            will=will,
            timeout=15,  # amqtt on a busy machine: seconds per publish
        )
    async with transport:
        yield transport


async def drain(
    source: Transport | aiomqtt.Client, seconds: float, *, until: int | None = None
) -> list[Received]:
    """Everything that arrives within ``seconds`` (or as soon as ``until`` messages have: a
    bound for a busy machine, where a broker may take seconds to hand over a queue)."""
    received: list[Received] = []
    enough = asyncio.Event()

    async def reader() -> None:
        if isinstance(source, aiomqtt.Client):
            async for message in source.messages:
                payload = message.payload
                data = payload if isinstance(payload, bytes) else str(payload).encode()
                received.append(Received(message.topic.value, data, bool(message.retain)))
                if until is not None and len(received) >= until:
                    enough.set()
        else:
            with suppress(BrokerError):
                async for got in source.messages():
                    received.append(got)
                    if until is not None and len(received) >= until:
                        enough.set()

    task = asyncio.create_task(reader())
    with suppress(TimeoutError):
        await asyncio.wait_for(enough.wait(), seconds)
    if until is not None:
        await asyncio.sleep(0.2)  # anything beyond the count (a duplicate) shows up too
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task
    return received


_BROKER_FIXTURES = frozenset(
    {
        "secured_broker",
        "mosquitto",
        "any_broker",
        "exercise_run",
        "run_dir",
        "own_broker",
        "configured",
    }
)
_BROKER_CALLS = (
    "require_mosquitto(",
    "run_scenario(",
    "EmbeddedBroker",
    "embedded:",
    "Network(",
    "live_network(",
    "through_proxy(",
    "resilient_network(",
    'main(["run"',
    "a_room(",
    "connected(",
    "NatsCluster(",
    "clustered(",
    "workers=",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``broker`` every test that needs a real broker: it uses a broker fixture, or it
    starts one (directly, or by running a scenario live). ``-m "not broker"`` runs the rest,
    which need nothing but Python."""
    for item in items:
        function = getattr(item, "function", None)
        uses = set(getattr(item, "fixturenames", ())) & _BROKER_FIXTURES
        try:
            source = inspect.getsource(function) if function is not None else ""
        except (OSError, TypeError):
            source = ""
        if uses or any(call in source for call in _BROKER_CALLS):
            item.add_marker(pytest.mark.broker)
