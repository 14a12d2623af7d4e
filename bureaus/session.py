"""One bureau's broker connection: connect, subscribe (checked), presence, probes, reconnect.

A :class:`Session` keeps one transport connection for its bureau with the documented reconnect
loop (aiomqtt's ``async with`` inside a loop that backs off), a persistent session, a retained
birth and a last-will death on the presence topic. It checks each SUBACK code, and on a
clustered broker it probes its own inbox (:meth:`Session._probe_inbox`). Every message read is
handed to the driver's ``admit``; the driver hands inbox probes back through :meth:`took`, in
the order it serves its inputs, so a probe queued behind a backlog is not taken for deafness.
The driver publishes through :meth:`publish_soon`, without a task or a wait per message; it is
told of each acknowledgement, and of each failure (:class:`~broker.BrokerError`: the connection
down, or lost before the broker acknowledged, or no acknowledgement in time).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import Callable
from uuid import uuid4

from broker import BrokerError, BrokerTarget
from bureaus.context import NetworkContext
from bureaus.transport import Then, Transport
from protocol import topics

__all__ = ["Session"]

_REFUSED = 0x80
"""The lowest SUBACK return code that refuses a subscription (MQTT 3.1.1: 0x80, 5: 0x80 and up)."""
_PROBE = b"bureaunet inbox probe "
"""How an inbox probe starts: a bureau's own check that its inbox subscription delivers (never
an envelope, which is JSON)."""


class Session:
    """The connection of one bureau.

    Args:
        bureau: Whose.
        password: Its broker credential (``None``: none).
        ctx: Where it connects and how.
        counters: Where connection counts go (the bureau's counters).
        admit: Takes each message read (topic, payload, retained).
        online: Told when the connection is up (True) and lost (False).
    """

    def __init__(
        self,
        bureau: str,
        password: str | None,
        ctx: NetworkContext,
        counters: Counter[str],
        *,
        admit: Callable[[str, bytes, bool], None],
        online: Callable[[bool], None],
    ) -> None:
        self.id = bureau
        self.password = password
        self.ctx = ctx
        self.counters = counters
        self._admit = admit
        self._online = online
        self.subscribe_attempts = 6
        """SUBACK refusals tolerated on one connection before reconnecting (see _subscribe)."""
        self.probe_after = 10.0
        """On a cluster: seconds to wait for an inbox probe before subscribing afresh."""
        self.probe_every = 0.0
        """On a cluster: seconds between inbox probes while connected, besides those after
        connecting and after trouble (0: none; see _probe_inbox)."""
        self.connected = asyncio.Event()
        self.ready = asyncio.Event()
        """Set once the first connection is up and subscribed."""
        self.transport: Transport | None = None
        self.broker_node: BrokerTarget | None = None
        """The broker (or cluster node) this bureau last connected to."""
        self.last_error: str | None = None
        self._moves = 0
        self._probe: tuple[bytes, asyncio.Event] | None = None
        self._inbox_seen = 0
        """Messages that came in on the inbox (a probe behind a backlog is not a deaf inbox)."""
        self._spread = random.Random(bureau)  # noqa: S311 - timing spread, not a secret
        self._up = False
        """Whether the current connection got as far as being up."""

    # --- publishing ---------------------------------------------------------------------------

    def publish_soon(self, topic: str, payload: bytes, *, retain: bool, then: Then) -> None:
        """Publish at QoS 1 on the current connection; ``then`` is told how it went.

        ``None`` once the broker acknowledged, else the :class:`~broker.BrokerError`: not
        connected (at once), or the connection ended first, or no acknowledgement in time (the
        transport fails what waits when its connection ends).
        """
        transport = self.transport
        if transport is None or not self.connected.is_set():
            then(BrokerError("not connected"))
            return
        transport.publish_soon(topic, payload, retain=retain, then=then)

    async def publish_raw(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish bytes as they are, once connected (tests of hostile traffic).

        Raises:
            BrokerError: Not connected, or the broker refused.
        """
        await self.connected.wait()
        transport = self.transport
        if transport is None:
            raise BrokerError("not connected")
        await transport.publish(topic, payload, qos=1, retain=retain)

    # --- the connection -----------------------------------------------------------------------

    def _connect(self) -> Transport:
        presence = topics.presence(self.id)
        death = topics.presence_payload(self.id, "death")
        self.broker_node = self.ctx.target_for(self.id, self._moves)
        return self.ctx.connect()(
            self.id,
            username=self.id if self.password else None,
            password=self.password,
            clean_session=False,
            will=(presence, death),
            target=self.broker_node,
        )

    async def run(self) -> None:
        """Keep the connection until cancelled, reconnecting with a backoff."""
        # The documented aiomqtt way: `async with` inside a loop that catches the errors and backs
        # off; the persistent session keeps QoS 1 messages queued at the broker meanwhile.
        backoff = 0.1
        while True:
            self._up = False
            try:
                async with self._connect() as transport:
                    await self._serve(transport)
            except BrokerError as exc:
                self._lost(exc)
            finally:
                self.connected.clear()
                self.transport = None
                self._online(False)
            if self._up:
                backoff = 0.1  # the connection was up: start backing off afresh
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    async def _serve(self, transport: Transport) -> None:
        self.transport = transport
        await self._subscribe(transport)
        birth = topics.presence_payload(self.id, "birth")
        await transport.publish(topics.presence(self.id), birth, qos=1, retain=True)
        self.connected.set()
        self.ready.set()
        self._up = True
        self._online(True)
        probing = None
        if len(self.ctx.cluster) > 1:
            probing = asyncio.create_task(
                self._probe_inbox(transport), name=f"bureau[{self.id}].probe"
            )
        try:
            async for message in transport.messages():
                self._admit(message.topic, message.payload, message.retain)
        finally:
            if probing is not None:
                probing.cancel()

    def _lost(self, exc: BrokerError) -> None:
        self.counters["disconnects"] += 1
        self.last_error = str(exc)
        if len(self.ctx.cluster) > 1:
            self._moves += 1  # try the next node of the cluster
            self.counters["node_moves"] += 1
            self.ctx.cluster_trouble()

    async def _subscribe(self, transport: Transport) -> None:
        """Subscribe to the inbox, the revocation list and the broadcast topic; check each grant.

        (Not the broadcast topic where the network does without it: ``World.broadcast``.)

        A broker may refuse a subscription in its SUBACK (return code 0x80) and keep the
        connection: NATS does when it cannot create the JetStream consumer behind a QoS 1
        subscription in time. The bureau would then be connected but deaf. Each refusal counts;
        the refused topics are asked for again on the same connection after a growing pause
        (reconnecting at once would add to the load that made the broker refuse), and after
        :attr:`subscribe_attempts` refusals the connection ends like any broker error: the bureau
        reconnects, to the next node of a cluster, and subscribes again.
        """
        wanted = topics.subscriptions(self.id, broadcast_all=self.ctx.world.broadcast)
        pause = 0.5
        for _ in range(self.subscribe_attempts):
            granted = await transport.subscribe(wanted)
            wanted = [wish for wish, code in zip(wanted, granted, strict=True) if code >= _REFUSED]
            if not wanted:
                return
            self.counters["subscribe_refused"] += 1
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)
        refused = ", ".join(topic for topic, _ in wanted)
        raise BrokerError(f"the broker refused the subscription to {refused}")

    # --- inbox probes (on a cluster) ----------------------------------------------------------

    def took(self, topic: str, data: bytes, retained: bool) -> bool:
        """Whether a message the driver is about to handle is this session's own inbox probe."""
        if topic != topics.inbox(self.id) or not data:
            return False
        self._inbox_seen += 1
        if self._probe is None or retained or not data.startswith(_PROBE):
            return False  # only bureaus that probe (on a cluster) take these
        expected = self._probe
        if data == expected[0]:
            expected[1].set()
        else:
            self.counters["probe_stray"] += 1  # a late probe from before, or someone's bytes
        return True

    async def _probe_inbox(self, transport: Transport) -> None:
        """Check through the broker that the inbox delivers: now, and after cluster trouble.

        On a cluster the queue behind a subscription may live on another node than the one the
        bureau is connected to, and die with that node (NATS with one consumer replica): the
        bureau stays connected and subscribed as far as it knows, and hears nothing. So a bureau
        on a cluster sends a probe to its own inbox after connecting, and again whenever a bureau
        of its process loses its node (:meth:`NetworkContext.cluster_trouble`): a node's death
        shows there first. If the probe is not back within :attr:`probe_after` s and nothing
        else came in on the inbox meanwhile (a probe queued behind a backlog is not deafness),
        the inbox subscription is dropped and made afresh (a new queue, on a live node) and
        probed again.
        What the dead queue held is lost to the broker; the senders' end-to-end resends deliver
        it. Probing on a period as well (:attr:`probe_every`, off by default) also finds a queue
        that died unseen, for one more message per bureau and period.
        """
        inbox = topics.inbox(self.id)
        while True:
            try:
                await self._probe_once(transport, inbox)
            except TimeoutError:
                self.counters["inbox_deaf"] += 1
                with contextlib.suppress(BrokerError):
                    await transport.unsubscribe(inbox)
                    await self._subscribe(transport)
                continue
            except BrokerError:
                if self.transport is not transport:
                    return  # the connection is gone; the next one probes again
                await asyncio.sleep(self.probe_after)
                continue
            self.counters["inbox_verified"] += 1
            await self._until_next_probe()

    async def _probe_once(self, transport: Transport, inbox: str) -> None:
        """Send a probe and wait for it (raises ``TimeoutError`` when the inbox is deaf)."""
        probe = _PROBE + uuid4().hex.encode()
        back = asyncio.Event()
        self._probe = (probe, back)
        loop = asyncio.get_running_loop()
        seen, window = self._inbox_seen, loop.time() + self.probe_after
        # the PUBACK comes down the same path as the inbox: behind a backlog, it may come
        # after the probe itself, so the window runs from the send, not from the PUBACK
        publishing = asyncio.ensure_future(transport.publish(inbox, probe, qos=1))
        try:
            while not back.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(back.wait(), max(0.0, window - loop.time()))
                done = publishing.done() and not publishing.cancelled()
                failed = publishing.exception() if done else None
                if failed is not None:
                    raise failed
                if not back.is_set() and self._inbox_seen == seen:
                    raise TimeoutError  # nothing at all came in: deaf
                # messages come in: alive, the probe is behind them; wait another window
                seen, window = self._inbox_seen, loop.time() + self.probe_after
        finally:
            if publishing.done() and not publishing.cancelled():
                publishing.exception()  # seen, so never reported as unretrieved
            else:
                publishing.cancel()  # the probe did its work; its PUBACK is not needed

    async def _until_next_probe(self) -> None:
        trouble = asyncio.ensure_future(self.ctx.wait_cluster_trouble())
        try:
            # a period, if any, spread over half to one and a half of it, so that bureaus
            # that connected together do not all probe in the same instant
            period = self.probe_every * (0.5 + self._spread.random()) or None
            await asyncio.wait([trouble], timeout=period)
        finally:
            trouble.cancel()
        if trouble.done() and not trouble.cancelled():
            # not all at once: a bureau of the process reconnecting wakes every probe
            await asyncio.sleep(self.probe_after * self._spread.random())

    # --- ending -------------------------------------------------------------------------------

    async def close(self) -> None:
        """Announce death on the presence topic (the connection itself ends with its task)."""
        transport = self.transport
        if transport is not None and self.connected.is_set():
            death = topics.presence_payload(self.id, "death")
            with contextlib.suppress(BrokerError):
                await transport.publish(topics.presence(self.id), death, qos=1, retain=True)

    def abort(self) -> None:
        """Drop the connection without a DISCONNECT (a crash: the broker sends the Will)."""
        transport = self.transport
        if transport is not None:
            transport.abort()
