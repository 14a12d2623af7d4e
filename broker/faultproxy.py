"""A fault-injecting TCP proxy in front of the broker, for tests and scenarios.

Theory of operation. :class:`FaultProxy` listens on a free loopback port and, for every client
that connects, opens a connection to the real broker and pumps bytes both ways. Each direction of
each connection is a queue drained by its own task, so a delay never reorders bytes (TCP does not
either). The faults can be changed while connections are open:

- ``latency_ms`` / ``jitter_ms``: every chunk waits this long (plus a seeded random part) before
  it is passed on;
- ``bytes_per_s``: a slow link; each chunk is paced to the rate;
- ``blackhole()`` / ``heal()``: bytes stop flowing in both directions (held, not passed on);
  ``heal`` then aborts every connection that was caught in the black hole, as TCP gives up on a
  path that stayed silent, and new connections flow again;
- ``reset_next_publish()``: the next MQTT PUBLISH packet from a client is cut in half; the first
  half reaches the broker and both sides are then reset, so the publish is left half written;
- ``refuse_subscriptions(n)``: the next ``n`` SUBSCRIBE packets from clients never reach the
  broker; the proxy answers each with a SUBACK that refuses every topic (return code 0x80), as a
  broker does when it cannot set a subscription up (NATS, when it cannot create the JetStream
  consumer behind a QoS 1 subscription in time). The client is left connected and, unless it
  reads its SUBACK, deaf.

Both directions are cut into whole MQTT control packets (fixed header and remaining length), so
a fault acts on packets, never on a random slice of the byte stream.

Counters (``connections``, ``resets``, ``refused``, ``bytes_up``, ``bytes_down``) say what the
proxy did.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from broker.client import BrokerTarget

__all__ = ["FaultProxy"]

_PUBLISH = 0x30
"""MQTT control packet type of PUBLISH, in the high nibble of a packet's first byte."""
_SUBSCRIBE = 0x80
_SUBACK = 0x90
_REFUSED = 0x80
"""The SUBACK return code of a refused subscription (MQTT 3.1.1)."""


@dataclass(eq=False)
class _Link:
    """One client connection and its upstream connection."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    downward: asyncio.Queue[tuple[float, bytes] | None] | None = None
    """Packets waiting to go to the client (the proxy adds its own answers here)."""
    held: bool = False
    """Whether it carried (or waited for) traffic during a black hole."""

    def abort(self) -> None:
        for writer in (self.client, self.upstream):
            writer.transport.abort()
        for task in self.tasks:
            task.cancel()


class FaultProxy:
    """A TCP proxy to ``upstream`` with faults that can be switched on and off."""

    def __init__(self, upstream: BrokerTarget, *, seed: int = 0) -> None:
        self.upstream = upstream
        self.latency_ms = 0.0
        self.jitter_ms = 0.0
        self.bytes_per_s: float | None = None
        self.connections = 0
        self.resets = 0
        self.refused = 0
        self.bytes_up = 0
        self.bytes_down = 0
        self._rng = random.Random(seed)  # noqa: S311 - jitter, not secrets
        self._server: asyncio.Server | None = None
        self._links: set[_Link] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        """Every pumping task, also of links already dropped from ``_links``."""
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._reset_publish = False
        self._refuse = 0
        self.port = 0

    @property
    def target(self) -> BrokerTarget:
        """Where clients connect to go through the proxy."""
        return BrokerTarget("127.0.0.1", self.port, kind=self.upstream.kind)

    async def start(self) -> BrokerTarget:
        """Listen on a free loopback port; returns the proxy's target."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.target

    async def stop(self) -> None:
        """Close the listener and every connection."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for link in list(self._links):
            link.abort()
        self._links.clear()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    async def __aenter__(self) -> FaultProxy:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    # faults ---------------------------------------------------------------------------------

    def blackhole(self) -> None:
        """Stop every byte, both ways, on every connection (new ones included)."""
        self._flowing.clear()
        for link in self._links:
            link.held = True

    def heal(self) -> None:
        """End a black hole: the connections it caught are aborted, new ones flow."""
        caught = [link for link in self._links if link.held]
        for link in caught:
            self._links.discard(link)
            link.abort()
            self.resets += 1
        self._flowing.set()

    def reset_next_publish(self) -> None:
        """Cut the next PUBLISH from a client in half, then reset both sides."""
        self._reset_publish = True

    def refuse_subscriptions(self, count: int) -> None:
        """Keep the next ``count`` SUBSCRIBE packets from the broker and refuse them ourselves."""
        self._refuse = count

    def reset_all(self) -> None:
        """Reset every open connection now."""
        for link in list(self._links):
            self._links.discard(link)
            link.abort()
            self.resets += 1

    # pumping --------------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(
                self.upstream.host, self.upstream.port
            )
        except OSError:
            writer.transport.abort()
            return
        if self._server is None or not self._server.is_serving():
            writer.transport.abort()  # the proxy stopped while this connection was being made
            up_writer.transport.abort()
            return
        link = _Link(writer, up_writer, held=not self._flowing.is_set())
        self._links.add(link)
        link.tasks = [
            self._task(self._pump(link, reader, up_writer, upward=True)),
            self._task(self._pump(link, up_reader, writer, upward=False)),
        ]

    def _task(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _pump(
        self,
        link: _Link,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        upward: bool,
    ) -> None:
        # the reader stamps each chunk with the time it may leave; the writer waits for that
        # time, so a latency delays every chunk without holding up the ones behind it
        queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
        writing = self._task(self._write(link, queue, writer, upward=upward))
        link.tasks.append(writing)
        due = 0.0
        if not upward:
            link.downward = queue
        try:
            while True:
                data = await _read_packet(reader)
                if not data:
                    break
                delay = self.latency_ms + self._rng.uniform(-self.jitter_ms, self.jitter_ms)
                due = max(due, time.monotonic() + max(0.0, delay) / 1000)
                queue.put_nowait((due, data))
        except (ConnectionError, OSError, asyncio.IncompleteReadError, ValueError):
            pass  # the stream ended, mid-packet or not, or was not MQTT
        finally:
            queue.put_nowait(None)

    async def _write(
        self,
        link: _Link,
        queue: asyncio.Queue[tuple[float, bytes] | None],
        writer: asyncio.StreamWriter,
        *,
        upward: bool,
    ) -> None:
        try:
            while (item := await queue.get()) is not None:
                due, data = item
                if not self._flowing.is_set():
                    link.held = True
                    await self._flowing.wait()  # held; heal() aborts this link
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                if upward and self._refuse and data[0] & 0xF0 == _SUBSCRIBE:
                    self._refuse -= 1
                    self.refused += 1
                    if link.downward is not None:
                        link.downward.put_nowait((0.0, _refusal(data)))
                    continue
                if upward and self._reset_publish and data[0] & 0xF0 == _PUBLISH:
                    self._reset_publish = False
                    writer.write(data[: max(1, len(data) // 2)])
                    with contextlib.suppress(ConnectionError):
                        await writer.drain()
                    self._links.discard(link)
                    self.resets += 1
                    link.abort()
                    return
                writer.write(data)
                await writer.drain()
                if upward:
                    self.bytes_up += len(data)
                else:
                    self.bytes_down += len(data)
                if self.bytes_per_s:
                    await asyncio.sleep(len(data) / self.bytes_per_s)
        except (ConnectionError, OSError):
            pass
        finally:
            self._links.discard(link)
            with contextlib.suppress(Exception):  # the other side may be gone already
                writer.close()


async def _read_packet(reader: asyncio.StreamReader) -> bytes:
    """One whole MQTT control packet, fixed header included; ``b""`` at the end of the stream.

    Raises:
        asyncio.IncompleteReadError: The stream ended inside a packet.
        ValueError: The remaining length runs over four bytes (not MQTT).
    """
    first = await reader.read(1)
    if not first:
        return b""
    header = bytearray(first)
    length = 0
    for shift in (0, 7, 14, 21):
        byte = (await reader.readexactly(1))[0]
        header.append(byte)
        length |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return bytes(header) + await reader.readexactly(length)
    raise ValueError("an MQTT remaining length has at most four bytes")


def _refusal(subscribe: bytes) -> bytes:
    """The SUBACK refusing every topic of an MQTT 3.1.1 SUBSCRIBE packet."""
    at = 1
    while subscribe[at] & 0x80:  # skip the remaining length
        at += 1
    at += 1
    packet_id, at = subscribe[at : at + 2], at + 2
    topics = 0
    while at < len(subscribe):
        at += 2 + int.from_bytes(subscribe[at : at + 2], "big") + 1  # length, filter, QoS
        topics += 1
    return bytes([_SUBACK, 2 + topics]) + packet_id + bytes([_REFUSED] * topics)
