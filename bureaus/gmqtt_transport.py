"""A transport over gmqtt: the same :class:`~bureaus.transport.Transport`, at a fraction of the CPU.

gmqtt handles MQTT packets with asyncio protocols and ``struct`` rather than paho's threaded
client inside aiomqtt; measured on this kind of machine it spends 96 to 152 µs of client CPU per
delivered QoS 1 message where aiomqtt spends 494 to 512 (``../shared/FIELD-NOTES.md``,
``bench/throughput.py``).

What this module adds on top of gmqtt, so that it behaves exactly like the aiomqtt transport:

- **No reconnection of its own.** gmqtt reconnects by itself; a bureau's driver already does,
  counting each one, so :class:`_Client` turns gmqtt's off. A lost connection ends
  :meth:`GmqttTransport.messages` with :class:`~broker.BrokerUnreachableError`.
- **Acknowledgements.** gmqtt's ``publish`` returns at once; :class:`_Inflight` (its store of
  unacknowledged QoS 1 packets) learns each packet id and calls back on PUBACK, so
  :meth:`GmqttTransport.publish_soon` reports each acknowledgement without a task or a future per
  message, and :meth:`GmqttTransport.publish` returns when the broker has the message, as
  aiomqtt's does. One timer fails what waits longer than the timeout, the oldest first. SUBACK
  and UNSUBACK are awaited by packet id.
- **The broker layer's errors.** Refused credentials are :class:`~broker.BrokerAuthError`;
  anything that prevents or ends the connection is :class:`~broker.BrokerUnreachableError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import Any, Self

import gmqtt
from gmqtt.mqtt.constants import MQTTv311
from gmqtt.mqtt.handler import MQTTConnectError
from gmqtt.storage import PersistentStorage

from broker import BrokerAuthError, BrokerError, BrokerTarget, BrokerUnreachableError
from bureaus.transport import Received, Then

__all__ = ["GmqttTransport"]

_LOGGER = logging.getLogger("bureaunet.gmqtt")
_LOGGER.setLevel(logging.CRITICAL)  # lost connections are the driver's to count, not to log
_DISCONNECT_S = 5.0
"""Seconds a clean disconnect may take before the socket is shut down under it."""
_AUTH_CODES = frozenset({4, 5})
"""CONNACK return codes for bad credentials and not authorised (MQTT 3.1.1)."""


class _Inflight(PersistentStorage):  # type: ignore[misc]
    """gmqtt's store of unacknowledged QoS 1 packets, with what to call on each PUBACK.

    ``waiting`` keeps the packet ids in the order sent, with their deadlines: one timer
    (:meth:`expire`) fails those past theirs, the oldest first.
    """

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout
        self.last_mid: int | None = None
        self.waiting: OrderedDict[int, tuple[float, Then]] = OrderedDict()
        self._timer: asyncio.TimerHandle | None = None
        self.error = "no PUBACK"

    def push_message(self, mid: int, raw_package: bytes) -> None:
        super().push_message(mid, raw_package)
        self.last_mid = mid

    def remove_message_by_mid(self, mid: int) -> None:
        super().remove_message_by_mid(mid)
        waiting = self.waiting.pop(mid, None)
        if waiting is not None:
            waiting[1](None)

    def wait(self, mid: int, then: Then) -> None:
        loop = asyncio.get_running_loop()
        self.waiting[mid] = (loop.time() + self.timeout, then)
        if self._timer is None:
            self._timer = loop.call_later(self.timeout, self.expire)

    def expire(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        while self.waiting:
            mid, (deadline, then) = next(iter(self.waiting.items()))
            if deadline > now:
                self._timer = loop.call_at(deadline, self.expire)
                return
            del self.waiting[mid]
            then(BrokerUnreachableError(f"{self.error} within {self.timeout:g} s"))

    def fail_all(self, error: BrokerError) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        waiting, self.waiting = self.waiting, OrderedDict()
        for _, then in waiting.values():
            then(error)


class _Client(gmqtt.Client):  # type: ignore[misc]
    """A gmqtt client that never reconnects by itself (the bureau's driver does, and counts it)."""

    async def reconnect(self, delay: bool = False) -> None:
        return


class GmqttTransport:
    """A transport over gmqtt (MQTT 3.1.1; asyncio sets TCP_NODELAY on its TCP sockets)."""

    def __init__(
        self,
        target: BrokerTarget,
        client_id: str,
        *,
        username: str | None,
        password: str | None,
        clean_session: bool,
        will: tuple[str, bytes] | None = None,
        timeout: float = 10.0,
        keepalive: int = 30,
    ) -> None:
        self.target = target
        self.timeout = timeout
        self.keepalive = keepalive
        self._inflight = _Inflight(timeout)
        self._inflight.error = f"{target.url}: no PUBACK"
        self._acks: dict[int, asyncio.Future[list[int]]] = {}
        self._received: asyncio.Queue[Received | None] = asyncio.Queue()
        self._lost = False
        self.client = _Client(
            client_id,
            clean_session=clean_session,
            will_message=gmqtt.Message(will[0], will[1], qos=1, retain=True) if will else None,
            persistent_storage=self._inflight,
            logger=_LOGGER,
        )
        if username is not None:
            self.client.set_auth_credentials(username, password)
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.on_unsubscribe = self._on_unsubscribe
        self.client.on_disconnect = self._on_disconnect

    # gmqtt's callbacks ---------------------------------------------------------------------

    def _on_message(self, _client: Any, topic: str, payload: bytes, _qos: int, props: Any) -> int:
        self._received.put_nowait(Received(topic, bytes(payload), bool(props.get("retain"))))
        return 0

    def _on_subscribe(self, _client: Any, mid: int, codes: Sequence[int], _props: Any) -> None:
        future = self._acks.pop(mid, None)
        if future is not None and not future.done():
            future.set_result(list(codes))

    def _on_unsubscribe(self, _client: Any, mid: int, codes: Sequence[int]) -> None:
        future = self._acks.pop(mid, None)
        if future is not None and not future.done():
            future.set_result(list(codes))

    def _on_disconnect(self, _client: Any, _packet: Any, _exc: Any = None) -> None:
        if self._lost:
            return
        self._lost = True
        error = self._ended()
        self._inflight.fail_all(error)
        for future in self._acks.values():
            if not future.done():
                future.set_exception(error)
        self._acks.clear()
        self._received.put_nowait(None)

    # the Transport interface ---------------------------------------------------------------

    async def __aenter__(self) -> Self:
        tls: ssl.SSLContext | bool = False
        if self.target.tls:
            ca = str(self.target.ca_file) if self.target.ca_file else None
            tls = ssl.create_default_context(cafile=ca)
        try:
            await asyncio.wait_for(
                self.client.connect(
                    self.target.host,
                    self.target.port,
                    ssl=tls,
                    keepalive=self.keepalive,
                    version=MQTTv311,
                ),
                self.timeout,
            )
        except MQTTConnectError as exc:
            self.abort()
            if getattr(exc, "_code", None) in _AUTH_CODES:
                raise BrokerAuthError(
                    f"{self.target.url} refused the credentials ({exc})"
                ) from None
            raise BrokerUnreachableError(f"{self.target.url}: {exc}") from None
        except (OSError, TimeoutError) as exc:
            self.abort()
            raise BrokerUnreachableError(
                f"cannot reach the broker at {self.target.url}: {exc or 'no answer'}"
            ) from None
        if self._lost:
            raise BrokerUnreachableError(f"{self.target.url}: the connection ended at once")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._lost:
            self.abort()
            return
        self._lost = True  # our own DISCONNECT: nothing to report to the reader
        self._inflight.fail_all(self._ended())
        try:
            await asyncio.wait_for(self.client.disconnect(), _DISCONNECT_S)
        except (OSError, TimeoutError):
            self.abort()
        self._received.put_nowait(None)

    def _ended(self) -> BrokerUnreachableError:
        return BrokerUnreachableError(f"{self.target.url}: the connection ended")

    def _live(self) -> None:
        if self._lost:
            raise BrokerUnreachableError(f"{self.target.url}: not connected")

    async def _acknowledged(self, mid: int) -> list[int]:
        future: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        self._acks[mid] = future
        try:
            return await asyncio.wait_for(future, self.timeout)
        except TimeoutError:
            self._acks.pop(mid, None)
            raise BrokerUnreachableError(
                f"{self.target.url}: no acknowledgement within {self.timeout:g} s"
            ) from None

    async def subscribe(self, wanted: Sequence[tuple[str, int]]) -> list[int]:
        """Subscribe; the SUBACK return codes (0x80: refused)."""
        self._live()
        mid = self.client.subscribe([gmqtt.Subscription(topic, qos=qos) for topic, qos in wanted])
        return await self._acknowledged(mid)

    async def unsubscribe(self, topic: str) -> None:
        """Drop one subscription."""
        self._live()
        await self._acknowledged(self.client.unsubscribe(topic))

    async def publish(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> None:
        """Publish; at QoS 1, return once the broker's PUBACK arrived."""
        if qos == 0:
            self._live()
            self._send(topic, payload, 0, retain)
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def then(error: BrokerError | None) -> None:
            if future.done():
                return
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)

        self.publish_soon(topic, payload, retain=retain, then=then)
        await future

    def publish_soon(self, topic: str, payload: bytes, *, retain: bool, then: Then) -> None:
        """Publish at QoS 1 now; ``then`` is called on the PUBACK, at the timeout, or at the end.

        The end: of the connection (see :class:`~bureaus.transport.Transport`).
        """
        try:
            self._live()
            self._send(topic, payload, 1, retain)
        except BrokerError as exc:
            then(exc)
            return
        mid = self._inflight.last_mid
        if mid is None or mid not in self._inflight._messages:
            then(None)  # acknowledged before we looked (cannot happen without a yield)
            return
        self._inflight.wait(mid, then)

    def _send(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        try:
            self.client.publish(topic, payload, qos=qos, retain=retain)
        except (OSError, AttributeError) as exc:  # the connection went away under the call
            raise BrokerUnreachableError(f"{self.target.url}: {exc}") from None

    async def messages(self) -> AsyncIterator[Received]:
        """Received messages until the connection ends."""
        while True:
            got = await self._received.get()
            if got is None:
                break
            yield got
        raise BrokerUnreachableError(f"{self.target.url}: the connection ended")

    def abort(self) -> None:
        """Drop the connection without a DISCONNECT: the broker publishes the Last Will."""
        self._inflight.fail_all(self._ended())
        connection = self.client._connection
        transport = getattr(connection, "_transport", None)
        if transport is not None:
            with contextlib.suppress(OSError, RuntimeError):
                transport.abort()
