"""How a bureau's driver talks to a broker: one small interface, two implementations.

A :class:`Transport` is one MQTT connection as the bureaus use it: connect with credentials, a
persistent session and a Last Will (``async with``), subscribe and read the SUBACK codes, publish
at QoS 0 or 1 (returning once the broker has acknowledged), read received messages, go away
without a DISCONNECT (:meth:`Transport.abort`, so the Will is published). Errors are the broker
layer's: :class:`~broker.BrokerAuthError` for refused credentials,
:class:`~broker.BrokerUnreachableError` for anything that ends or prevents the connection.

- :class:`MqttTransport`: aiomqtt over TCP to Mosquitto, amqtt, a NATS cluster or any URL.
- :class:`MemoryTransport`: a client of the in-memory :class:`~broker.memory.MemoryBroker`, for
  simulation runs on a virtual clock.

A third, :class:`~bureaus.gmqtt_transport.GmqttTransport`, speaks MQTT through gmqtt at a fifth of
aiomqtt's CPU per message. A :data:`Connector` (:mod:`bureaus.connectors`) makes a transport for a
bureau; the driver asks it again at each reconnection.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self

import aiomqtt
from paho.mqtt.reasoncodes import ReasonCode

from broker import BrokerError, BrokerTarget, BrokerUnreachableError, client, mqtt_errors
from broker.memory import Delivery, MemoryBroker, Session

__all__ = [
    "Connector",
    "MemoryTransport",
    "MqttTransport",
    "Received",
    "Then",
    "Transport",
]

Then = Callable[[BrokerError | None], None]
"""What to do once a publish is acknowledged (``None``) or failed (the error)."""


@dataclass(frozen=True, slots=True)
class Received:
    """One message as the transport received it."""

    topic: str
    payload: bytes
    retain: bool = False


class Transport(Protocol):
    """One MQTT connection, as a bureau uses it."""

    async def __aenter__(self) -> Self:
        """Connect (credentials, session, Will)."""
        ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Disconnect cleanly (no Will)."""
        ...

    async def subscribe(self, wanted: Sequence[tuple[str, int]]) -> list[int]:
        """Subscribe to topic filters; one SUBACK code per filter (0x80 and up: refused)."""
        ...

    async def unsubscribe(self, topic: str) -> None:
        """Drop one subscription."""
        ...

    async def publish(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> None:
        """Publish; returns once the broker acknowledged (QoS 1) or the bytes left (QoS 0)."""
        ...

    def publish_soon(self, topic: str, payload: bytes, *, retain: bool, then: Then) -> None:
        """Publish at QoS 1 without waiting; ``then`` is called once, later or at once.

        With ``None`` once the broker acknowledged; with the :class:`~broker.BrokerError` when
        it did not (not connected, the connection ended first, no acknowledgement in time).
        """
        ...

    def messages(self) -> AsyncIterator[Received]:
        """Received messages, until the connection ends (then BrokerUnreachableError)."""
        ...

    def abort(self) -> None:
        """End the connection without a DISCONNECT: the broker publishes the Last Will."""
        ...


class Connector(Protocol):
    """Makes a bureau's transport (asked again at every reconnection)."""

    def __call__(
        self,
        client_id: str,
        *,
        username: str | None,
        password: str | None,
        clean_session: bool,
        will: tuple[str, bytes] | None = None,
        target: BrokerTarget | None = None,
    ) -> Transport:
        """A transport for ``client_id``, not yet connected."""
        ...


_DISCONNECT_S = 5.0
"""Seconds a clean disconnect may take before the socket is shut down under it."""


class MqttTransport:
    """A transport over aiomqtt (MQTT 3.1.1, TCP_NODELAY)."""

    def __init__(
        self,
        target: BrokerTarget,
        client_id: str,
        *,
        username: str | None,
        password: str | None,
        clean_session: bool,
        will: tuple[str, bytes] | None = None,
        timeout: float | None = None,
    ) -> None:
        self.target = target
        self._publishing: dict[asyncio.Task[None], Then] = {}
        kwargs = {} if timeout is None else {"timeout": timeout}
        self.client = client(
            target,
            client_id=client_id,
            username=username,
            password=password,
            clean_session=clean_session,
            will=aiomqtt.Will(will[0], will[1], qos=1, retain=True) if will else None,
            **kwargs,  # type: ignore[arg-type]
        )

    async def __aenter__(self) -> Self:
        with mqtt_errors(self.target):
            await self.client.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._end_publishing()
        # aiomqtt waits for the broker to take the DISCONNECT with no time limit; a broker (or a
        # cluster node) that stopped answering would hold the bureau up for ever
        try:
            await asyncio.wait_for(self.client.__aexit__(exc_type, exc, tb), _DISCONNECT_S)
        except (aiomqtt.MqttError, TimeoutError):
            self.abort()

    async def subscribe(self, wanted: Sequence[tuple[str, int]]) -> list[int]:
        """Subscribe; the SUBACK return codes (MQTT 5 reason codes as their values)."""
        with mqtt_errors(self.target):
            granted: Sequence[int | ReasonCode] = await self.client.subscribe(list(wanted))
        return [code if isinstance(code, int) else code.value for code in granted]

    async def unsubscribe(self, topic: str) -> None:
        """Drop one subscription."""
        with mqtt_errors(self.target):
            await self.client.unsubscribe(topic)

    async def publish(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> None:
        """Publish and wait for the PUBACK."""
        with mqtt_errors(self.target):
            await self.client.publish(topic, payload, qos=qos, retain=retain)

    def publish_soon(self, topic: str, payload: bytes, *, retain: bool, then: Then) -> None:
        """Publish at QoS 1 in a task (aiomqtt waits for each PUBACK in the caller's task).

        The connection's end fails what is still waiting at once, rather than at the client's
        timeout.
        """
        task = asyncio.get_running_loop().create_task(self._publish_then(topic, payload, retain))
        self._publishing[task] = then

    async def _publish_then(self, topic: str, payload: bytes, retain: bool) -> None:
        error: BrokerError | None = None
        try:
            await self.publish(topic, payload, qos=1, retain=retain)
        except BrokerError as exc:
            error = exc
        task = asyncio.current_task()
        then = self._publishing.pop(task, None) if task is not None else None
        if then is not None:  # not already failed by the end of the connection
            then(error)

    def _end_publishing(self) -> None:
        publishing, self._publishing = self._publishing, {}
        ended = BrokerUnreachableError(f"{self.target.url}: the connection ended")
        for task, then in publishing.items():
            task.cancel()
            then(ended)

    async def messages(self) -> AsyncIterator[Received]:
        """Received messages until the connection ends."""
        with mqtt_errors(self.target):
            async for message in self.client.messages:
                payload = message.payload
                data = payload if isinstance(payload, bytes) else str(payload).encode()
                yield Received(message.topic.value, data, bool(message.retain))
        raise BrokerUnreachableError(f"{self.target.url}: the connection ended")

    def abort(self) -> None:
        """Shut the socket down under the client: the broker sees the connection drop."""
        self._end_publishing()
        sock = self.client._client.socket()
        if isinstance(sock, socket.socket):
            # shut down, not closed: the client's reader sees the end at once and lets go
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class MemoryTransport:
    """A client of a :class:`~broker.memory.MemoryBroker` (publishes are acknowledged at once)."""

    def __init__(
        self,
        broker: MemoryBroker,
        client_id: str,
        *,
        username: str | None,
        password: str | None,
        clean_session: bool,
        will: tuple[str, bytes] | None = None,
    ) -> None:
        self.broker = broker
        self.client_id = client_id
        self.username = username
        self.password = password
        self.clean_session = clean_session
        self.will = Delivery(will[0], will[1], 1, retain=True) if will else None
        self._session: Session | None = None
        self._ready = asyncio.Event()

    def _live(self) -> Session:
        session = self._session
        if session is None or session.connection is not self:
            raise BrokerUnreachableError("the in-memory broker ended the connection")
        return session

    async def __aenter__(self) -> Self:
        self._session = self.broker.connect(
            self,
            self.client_id,
            username=self.username,
            password=self.password,
            clean_session=self.clean_session,
            will=self.will,
        )
        self._session.wake = self._ready.set
        await asyncio.sleep(0)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self._session
        if session is not None and session.connection is self:
            self.broker.disconnect(session)  # a DISCONNECT: no Will

    async def subscribe(self, wanted: Sequence[tuple[str, int]]) -> list[int]:
        """Subscribe; the SUBACK codes."""
        codes = self.broker.subscribe(self._live(), list(wanted))
        await asyncio.sleep(0)
        return codes

    async def unsubscribe(self, topic: str) -> None:
        """Drop one subscription."""
        self.broker.unsubscribe(self._live(), topic)
        await asyncio.sleep(0)

    async def publish(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> None:
        """Publish: the broker routes and acknowledges it before this returns.

        No turn of the event loop: in a simulation every turn costs, and the wait a real PUBACK
        takes is modelled by the service times.
        """
        self.broker.publish(self._live(), topic, bytes(payload), qos=qos, retain=retain)

    def publish_soon(self, topic: str, payload: bytes, *, retain: bool, then: Then) -> None:
        """Publish now: the broker routes and acknowledges it before ``then`` is called."""
        try:
            self.broker.publish(self._live(), topic, bytes(payload), qos=1, retain=retain)
        except BrokerError as exc:
            then(exc)
        else:
            then(None)

    async def messages(self) -> AsyncIterator[Received]:
        """Received messages until the connection ends."""
        while True:
            session = self._live()
            delivery = session.take()
            if delivery is None:
                self._ready.clear()
                await self._ready.wait()
                continue
            yield Received(delivery.topic, delivery.payload, delivery.retain)

    def abort(self) -> None:
        """Go away without a DISCONNECT: the broker publishes the Will."""
        session = self._session
        if session is not None and session.connection is self:
            self.broker.disconnect(session, abnormal=True)
