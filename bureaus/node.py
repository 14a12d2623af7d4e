"""The driver of one bureau: it feeds a :class:`~bureaus.core.BureauCore` from a transport.

Theory of operation (aioquic's ``asyncio/protocol.py`` to the core's ``connection.py``). A
:class:`Bureau` owns what the core must not touch: the connection, the event loop's timers and
the clock. It runs two named tasks in a ``TaskGroup``:

- ``bureau[ID].connection`` keeps one transport connection (persistent session, retained birth
  and last-will death on its presence topic) with the documented reconnect loop, subscribes and
  checks the SUBACK codes, and hands every received message to the core;
- ``bureau[ID].timers`` wakes the core when :meth:`~bureaus.core.BureauCore.next_timer` says.

Whatever the core returns is applied: events go to the shared log, each transmission is held for
its modelled delay (``bureau[ID].link`` tasks) and published at QoS 1, and the core is told
whether the broker took it. The same driver runs live (wall clock, aiomqtt to a real broker) and
in simulation (virtual clock, the in-memory broker), where a service-time model
(:class:`~bureaus.service.ServiceTimes`) makes the bureau's work take virtual time: inputs wait
while the bureau is busy, and what it sends leaves when its work is done.

On a clustered broker a bureau also probes its own inbox (``bureau[ID].probe``): see
:meth:`Bureau._probe_inbox`.

Why one long module: one driver, whose connection, subscription, probing and transmission
tasks share one connection's state.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import random
from collections import Counter, OrderedDict
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

from broker import BrokerError, BrokerTarget
from bureaus.clock import Clock
from bureaus.connectors import MqttClient, mqtt_connector
from bureaus.core import AckStatus, BureauCore, Now, Outputs, Send, World
from bureaus.events import EventLog, Tracer
from bureaus.fairness import FairQueue, lane_of
from bureaus.ids import MessageIds
from bureaus.links import LinkModel
from bureaus.outbox import Outbox
from bureaus.roles import Databases, ReviewPolicy
from bureaus.service import ServiceTimes
from bureaus.transport import Connector, Transport
from protocol import MessageBase, Roster, topics
from protocol.messages.caveats import Breach, CaveatPolicy
from protocol.messages.lifecycle import NoticeLifecycle
from protocol.network.routing import Topology
from protocol.security.envelope import RUN_ID_SIZE, EnvelopeCodec

__all__ = ["AckStatus", "Bureau", "NetworkContext"]

_CONNECTION_LOST = "connection lost"
"""The cancellation message that hands a waiting publish back to the core."""
_REFUSED = 0x80
"""The lowest SUBACK return code that refuses a subscription (MQTT 3.1.1: 0x80, 5: 0x80 and up)."""
_EPS = 1e-6
_YIELD_EVERY = 8
"""Messages handled before the input loop lets the connection sort new arrivals into lanes."""
"""Timers this close are due (virtual time moves in microseconds)."""
_PROBE = b"bureaunet inbox probe "
"""How an inbox probe starts: a bureau's own check that its inbox subscription delivers (never
an envelope, which is JSON)."""


@dataclass
class NetworkContext:
    """What the bureaus of one process share.

    The world they live in, how they reach the broker, the clock, and what they record.
    """

    roster: Roster
    topology: Topology
    target: BrokerTarget
    links: LinkModel
    events: EventLog = field(default_factory=EventLog)
    tracer: Tracer = field(default_factory=Tracer)
    clock: Clock = field(default_factory=Clock)
    seed: int = 0
    review: ReviewPolicy = field(default_factory=ReviewPolicy)
    databases: Databases = field(default_factory=Databases)
    targets: dict[str, BrokerTarget] = field(default_factory=dict)
    """Bureaus that reach the broker elsewhere than ``target`` (another node of a cluster, or
    through a fault-injecting proxy)."""
    cluster: tuple[BrokerTarget, ...] = ()
    """The nodes of a clustered broker: bureaus are spread across them, and move to the next
    node when theirs cannot be reached."""
    connector: Connector | None = None
    """How bureaus connect (``None``: ``client`` to ``target``; the in-memory broker in
    simulations)."""
    client: MqttClient = "gmqtt"
    """The MQTT client library bureaus speak through when ``connector`` is ``None``."""
    service: ServiceTimes | None = None
    """The service-time model (simulations only: live, the host's CPU is the cost)."""
    run_id: bytes = field(default_factory=lambda: os.urandom(RUN_ID_SIZE))
    """This run's identity, signed into every envelope's header: an envelope of another run
    (captured, then played into this one) is refused as ``other_run``. Fresh for every run, and
    kept out of the event log, so the same seed still gives the same events."""
    _trouble: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)

    @functools.cached_property
    def world(self) -> World:
        """The pure part, shared with every bureau core of the process."""
        return World(
            self.roster,
            self.topology,
            self.links,
            tracer=self.tracer,
            ids=MessageIds(self.seed),
            review=self.review,
            databases=self.databases,
        )

    @property
    def ids(self) -> MessageIds:
        """Where every generated message id comes from."""
        return self.world.ids

    @property
    def in_flight(self) -> int:
        """Deliveries owed: final recipients of messages sent, less deliveries made."""
        return self.world.in_flight

    @property
    def relays(self) -> frozenset[str]:
        """The bureaus that may pass messages on in this topology."""
        return self.world.relays

    def connect(self) -> Connector:
        """The connector bureaus use."""
        return (
            self.connector
            if self.connector is not None
            else mqtt_connector(self.target, self.client)
        )

    def cluster_trouble(self) -> None:
        """A bureau lost its connection to a node of the cluster: wake every inbox probe."""
        news, self._trouble = self._trouble, asyncio.Event()
        news.set()

    async def wait_cluster_trouble(self) -> None:
        """Wait until some bureau of this process next loses its connection to a cluster node."""
        await self._trouble.wait()

    @functools.cached_property
    def _positions(self) -> dict[str, int]:
        return {b.id: n for n, b in enumerate(self.roster)}

    def target_for(self, bureau: str, shift: int = 0) -> BrokerTarget:
        """Where ``bureau`` connects (``shift``: how many nodes of the cluster it moved on)."""
        if bureau in self.targets:
            return self.targets[bureau]
        if self.cluster:
            home = self._positions.get(bureau, 0)
            return self.cluster[(home + shift) % len(self.cluster)]
        return self.target


class Bureau:
    """A bureau node: a core, one connection, its timers."""

    lane_limit: int = 2_000
    """What one sender may have waiting at this bureau before more of it is refused."""
    fair_share: bool = True
    """Serve the senders' lanes in turn (``False``: in arrival order, for comparisons)."""

    def __init__(self, core: BureauCore, password: str | None, ctx: NetworkContext) -> None:
        """Drive ``core`` (made with ``ctx.world``) with ``password`` as its broker credential."""
        self.core = core
        self.info = core.info
        self.id = core.id
        self.password = password
        self.ctx = ctx
        self.subscribe_attempts = 6
        """SUBACK refusals tolerated on one connection before reconnecting (see _subscribe)."""
        self.probe_after = 10.0
        """On a cluster: seconds to wait for an inbox probe before subscribing afresh."""
        self.probe_every = 0.0
        """On a cluster: seconds between inbox probes while connected, besides those after
        connecting and after trouble (0: none; see _probe_inbox)."""
        self._probe: tuple[bytes, asyncio.Event] | None = None
        self._inbox_seen = 0
        """Messages that came in on the inbox (a probe behind a backlog is not a deaf inbox)."""
        self._spread = random.Random(self.id)  # noqa: S311 - timing spread, not a secret
        self.connected = asyncio.Event()
        self.ready = asyncio.Event()
        self._transport: Transport | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._publishing: set[asyncio.Task[Any]] = set()
        self._poke = asyncio.Event()
        self.inputs: FairQueue[tuple[str, bytes, bool]] = FairQueue(
            self.lane_limit, fair=self.fair_share
        )
        """What the connection read and the core has not handled yet: a lane per sender,
        served in turn (:mod:`bureaus.fairness`)."""
        self._input_ready = asyncio.Event()
        self._timer_for: tuple[float | None, float | None] = (None, None)
        """The core's next timer as the timer loop last saw it."""
        self._busy_until = 0.0
        """Simulation: link time at which the bureau's current work is done."""
        self.in_transit = 0
        """Transmissions held for their modelled delay or waiting for the broker."""
        self._moves = 0
        self.broker_node: BrokerTarget | None = None
        """The broker (or cluster node) this bureau last connected to."""
        self.last_error: str | None = None

    # --- the core's state, for callers that look ----------------------------------------------

    @property
    def codec(self) -> EnvelopeCodec:
        """The core's envelope codec."""
        return self.core.codec

    @property
    def counters(self) -> Counter[str]:
        """What the bureau counted."""
        return self.core.counters

    @property
    def outbox(self) -> Outbox:
        """Transmissions waiting to leave."""
        return self.core.outbox

    @property
    def pending(self) -> dict[str, Any]:
        """Sent messages not yet acknowledged by every recipient."""
        return self.core.pending

    @property
    def inbox(self) -> OrderedDict[str, MessageBase]:
        """The latest delivered messages, by id."""
        return self.core.inbox

    @property
    def published(self) -> dict[tuple[str, UUID], str]:
        """Notice requests this bureau (the GS) published: (requester, request id) to entity."""
        return self.core.published_notices

    @property
    def notices(self) -> dict[tuple[str, UUID], NoticeLifecycle]:
        """The lifecycle of every notice this bureau (the GS) was asked for."""
        return self.core.notices

    @property
    def acknowledge(self) -> bool:
        """Whether deliveries are acknowledged automatically (``False``: a person plays it)."""
        return self.core.acknowledge

    @acknowledge.setter
    def acknowledge(self, value: bool) -> None:
        self.core.acknowledge = value

    @property
    def inbox_limit(self) -> int:
        """Delivered messages kept for forwarding and players."""
        return self.core.inbox_limit

    @inbox_limit.setter
    def inbox_limit(self, value: int) -> None:
        self.core.inbox_limit = value

    @property
    def caveats(self) -> CaveatPolicy:
        """``enforce`` or ``flag`` forwards that break their caveats."""
        return self.core.caveats

    @caveats.setter
    def caveats(self, value: CaveatPolicy) -> None:
        self.core.caveats = value

    @property
    def resend_after(self) -> float:
        """Link seconds before an unacknowledged message is sent again."""
        return self.core.resend_after

    @resend_after.setter
    def resend_after(self, value: float) -> None:
        self.core.resend_after = value

    @property
    def max_attempts(self) -> int:
        """Resends before giving up."""
        return self.core.max_attempts

    @max_attempts.setter
    def max_attempts(self, value: int) -> None:
        self.core.max_attempts = value

    @property
    def relay_again_after(self) -> float:
        """Link seconds before a relay passes another copy of the same message on."""
        return self.core.relay_again_after

    @relay_again_after.setter
    def relay_again_after(self, value: float) -> None:
        self.core.relay_again_after = value

    def queued_ids(self) -> list[str]:
        """Messages with a transmission the broker has not acknowledged yet."""
        return self.core.queued_ids()

    def recipients_of(self, message: MessageBase) -> tuple[str, ...]:
        """The final recipients of a message, expanded against the roster."""
        return self.core.recipients_of(message)

    # --- applying what the core says ----------------------------------------------------------

    def _now(self) -> Now:
        return self.ctx.clock.now()

    def _apply(self, out: Outputs, *, received: int = 0) -> Outputs:
        """Record the events, and send what the core asks (after its work, in a simulation)."""
        for event in out.events:
            self.ctx.events.add(event)
        extra = 0.0
        service = self.ctx.service
        if service is not None:
            now_t = self.ctx.clock.link_s()
            start = max(now_t, self._busy_until)
            self._busy_until = start + service.cost_s(out.work, len(out.sends), received)
            extra = self._busy_until - now_t
        for send in out.sends:
            self.in_transit += 1
            self._spawn(self._transmit(send, extra), "link")
        if self.core.next_timer() != self._timer_for:
            self._poke.set()  # the core set a nearer timer (or none is left): look again
        return out

    async def _wait_until_free(self) -> None:
        """Simulation: wait while the bureau is busy with earlier work (queueing)."""
        if self.ctx.service is not None:
            wait = self._busy_until - self.ctx.clock.link_s()
            if wait > 0:
                await asyncio.sleep(wait)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=f"bureau[{self.id}].{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _transmit(self, send: Send, extra_s: float) -> None:
        try:
            hold = send.delay_s + extra_s
            if hold > 0:
                await asyncio.sleep(hold)
            transport = self._transport
            task = asyncio.current_task()
            assert task is not None
            try:
                if transport is None or not self.connected.is_set():
                    raise BrokerError("not connected")
                self._publishing.add(task)
                await transport.publish(send.topic, send.payload, qos=1, retain=send.retain)
            except BrokerError:
                self._failed(send)
                return
            except asyncio.CancelledError as exc:
                if exc.args != (_CONNECTION_LOST,):
                    raise  # the bureau is stopping
                task.uncancel()
                self._failed(send)
                return
            finally:
                self._publishing.discard(task)
            if send.item is not None:
                self.core.published(send.item)
        finally:
            self.in_transit -= 1

    def _failed(self, send: Send) -> None:
        if send.item is not None:
            self._apply(self.core.publish_failed(send.item, self._now()))
        else:
            self.counters["publish_failed"] += 1  # a presence or clearing: the next one will do

    # --- commands -----------------------------------------------------------------------------

    def submit(self, message: MessageBase, to: Sequence[str] | None = None) -> bytes:
        """Seal a message for its recipients and queue it for the first hops.

        Returns:
            The sealed envelope.

        Raises:
            CertificateError: A recipient has no valid certificate.
            OutboxFull: The outbox is full of urgent and flash traffic.
        """
        out = self._apply(self.core.submit(message, self._now(), to))
        assert out.envelope is not None
        return out.envelope

    def send(self, message: MessageBase, to: Sequence[str] | None = None) -> bytes | None:
        """Submit; a failure is recorded as ``shed: send_failed`` instead of raised."""
        return self._apply(self.core.send(message, self._now(), to)).envelope

    def answer(self, message: MessageBase, status: AckStatus = "received") -> None:
        """Acknowledge a delivered message (for the person playing the bureau)."""
        self._apply(self.core.answer(message, self._now(), status))

    def reply(self, message_id: str, reply: MessageBase) -> None:
        """Reply to a delivered message (see :meth:`BureauCore.reply`).

        Raises:
            NotKept: No such message in this bureau's inbox.
        """
        self._apply(self.core.reply(message_id, reply, self._now()))

    def forward(
        self,
        message_id: str,
        to: Sequence[str],
        new_id: UUID,
        *,
        permission: bool = False,
        originator: str | None = None,
    ) -> list[Breach]:
        """Pass a delivered message on under its caveats (see :meth:`BureauCore.forward`).

        Raises:
            NotKept: No such message in this bureau's inbox.
        """
        out = self.core.forward(
            message_id, to, new_id, self._now(), permission=permission, originator=originator
        )
        return self._apply(out).breaches

    def cancel_notice(
        self, requester: str, request_id: UUID, message_id: UUID, reason: str
    ) -> bool:
        """Cancel a notice this bureau (the GS) published, if its lifecycle allows it."""
        out = self.core.cancel_notice(requester, request_id, message_id, reason, self._now())
        return self._apply(out).ok

    def publish_revocations(self, crl_der: bytes) -> None:
        """Publish a revocation list (retained)."""
        self._apply(self.core.publish_revocations(crl_der, self._now()))

    async def publish_raw(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish bytes as they are (tests of hostile traffic).

        Raises:
            BrokerError: Not connected, or the broker refused.
        """
        await self.connected.wait()
        transport = self._transport
        if transport is None:
            raise BrokerError("not connected")
        await transport.publish(topic, payload, qos=1, retain=retain)

    def receive(self, topic: str, data: bytes, *, retained: bool = False) -> Outputs:
        """Hand one received message to the core now (the connection does this; so can tests)."""
        return self._apply(
            self.core.receive(topic, data, self._now(), retained=retained), received=1
        )

    # --- running ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Run until cancelled."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._connection_loop(), name=f"bureau[{self.id}].connection")
            group.create_task(self._input_loop(), name=f"bureau[{self.id}].inputs")
            group.create_task(self._timer_loop(), name=f"bureau[{self.id}].timers")

    def _admit(self, topic: str, data: bytes, retained: bool) -> None:
        """Queue what the connection read in its sender's lane, or refuse it when that is full."""
        lane = lane_of(topic, data)
        if self.inputs.put(lane, (topic, data, retained)):
            self._input_ready.set()
            return
        self._apply(self.core.over_share(lane, len(data), self.inputs.lane_limit, self._now()))

    async def _input_loop(self) -> None:
        """Hand what was read to the core, the senders' lanes in turn.

        Every few messages the loop yields, so that the connection can sort what has arrived
        meanwhile into its lanes: a message from a quiet sender waits behind a few of a busy
        one's, not behind all of them.
        """
        served = 0
        while True:
            item = self.inputs.pop()
            if item is None:
                self._input_ready.clear()
                await self._input_ready.wait()
                continue
            await self._wait_until_free()
            self._on_message(*item)
            served += 1
            if served % _YIELD_EVERY == 0:
                await asyncio.sleep(0)

    async def _timer_loop(self) -> None:
        """Wake the core when its next timer is due.

        :meth:`_apply` pokes the loop when the core's next timer differs from the one waited for.
        The wait is one event and one timer handle on the loop (not a task per wait): in a
        simulation this loop turns once or more for every message.
        """
        clock = self.ctx.clock
        loop = asyncio.get_running_loop()
        while True:
            at_s, at_t = self._timer_for = self.core.next_timer()
            waits = []
            if at_s is not None:
                # scenario time may stand still (paused) or change speed: look again often
                wait_s = clock.real_s(at_s - clock.scenario_s())
                waits.append(min(wait_s, 0.5) if not clock.virtual else wait_s)
            if at_t is not None:
                waits.append(at_t - clock.link_s())
            self._poke.clear()
            if waits and min(waits) <= _EPS:
                await self._wait_until_free()
                self._apply(self.core.handle_timer(self._now()))
                await asyncio.sleep(0)
                continue
            wake = loop.call_later(min(waits), self._poke.set) if waits else None
            try:
                await self._poke.wait()
            finally:
                if wake is not None:
                    wake.cancel()

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

    async def _connection_loop(self) -> None:
        # The documented aiomqtt way: `async with` inside a loop that catches the errors and backs
        # off; the persistent session keeps QoS 1 messages queued at the broker meanwhile.
        backoff = 0.1
        while True:
            try:
                async with self._connect() as transport:
                    self._transport = transport
                    await self._subscribe(transport)
                    birth = topics.presence_payload(self.id, "birth")
                    await transport.publish(topics.presence(self.id), birth, qos=1, retain=True)
                    self.connected.set()
                    self.ready.set()
                    self._apply(self.core.set_online(True, self._now()))
                    backoff = 0.1
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
            except BrokerError as exc:
                self.counters["disconnects"] += 1
                self.last_error = str(exc)
                if len(self.ctx.cluster) > 1:
                    self._moves += 1  # try the next node of the cluster
                    self.counters["node_moves"] += 1
                    self.ctx.cluster_trouble()
            finally:
                self.connected.clear()
                self._transport = None
                self.core.set_online(False, self._now())
                # publishes still waiting for their PUBACK on the lost connection would wait for
                # the client's timeout; hand them back to the core now instead
                for task in list(self._publishing):
                    task.cancel(_CONNECTION_LOST)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    def _on_message(self, topic: str, data: bytes, retained: bool = False) -> None:
        """One received message: probes stay here, everything else goes to the core."""
        if topic == topics.inbox(self.id) and data:
            self._inbox_seen += 1
            if self._probe is not None and data.startswith(_PROBE) and not retained:
                self._on_probe(data)  # only bureaus that probe (on a cluster) take these
                return
        self.receive(topic, data, retained=retained)

    async def _subscribe(self, transport: Transport) -> None:
        """Subscribe to the inbox, the revocation list and the broadcast topic; check each grant.

        (Not the broadcast topic where the network does without it: :attr:`World.broadcast`.)

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
            except TimeoutError:
                self.counters["inbox_deaf"] += 1
                with contextlib.suppress(BrokerError):
                    await transport.unsubscribe(inbox)
                    await self._subscribe(transport)
                continue
            except BrokerError:
                if self._transport is not transport:
                    return  # the connection is gone; the next one probes again
                await asyncio.sleep(self.probe_after)
                continue
            finally:
                if publishing.done() and not publishing.cancelled():
                    publishing.exception()  # seen, so never reported as unretrieved
                else:
                    publishing.cancel()  # the probe did its work; its PUBACK is not needed
            self.counters["inbox_verified"] += 1
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

    def _on_probe(self, data: bytes) -> None:
        expected = self._probe
        if expected is not None and data == expected[0]:
            expected[1].set()
        else:
            self.counters["probe_stray"] += 1  # a late probe from before, or someone's bytes

    async def close(self) -> None:
        """Announce death on the presence topic and stop (call before cancelling)."""
        transport = self._transport
        if transport is not None and self.connected.is_set():
            death = topics.presence_payload(self.id, "death")
            with contextlib.suppress(BrokerError):
                await transport.publish(topics.presence(self.id), death, qos=1, retain=True)
        for task in list(self._tasks):
            task.cancel()

    def abort(self) -> None:
        """Drop the connection without a DISCONNECT (a crash: the broker sends the Will)."""
        transport = self._transport
        if transport is not None:
            transport.abort()
