"""One running bureau: its MQTT connection, inbox, role behaviour, relaying and outbox.

Theory of operation. A :class:`Bureau` runs two named tasks in a ``TaskGroup``:
``bureau[ID].connection`` keeps one aiomqtt connection (persistent session, retained birth and
last-will death on its presence topic, TCP_NODELAY) with the documented reconnect loop, and reads
the inbox; ``bureau[ID].send`` drains the outbox through the simulated link (hold for the modelled
delay, honour outages, retry lost transmissions) and publishes at QoS 1.

Every received envelope is verified before anything else. If this bureau is a recipient it is
opened (every failure is a counted :class:`~protocol.errors.Rejection`, never a crash) and acted
on by role; if the topology puts this bureau on the way to other recipients, the unchanged
envelope is relayed to the next hops (blind relay: the signature is checked, nothing decrypted).

Message ids of generated messages (acknowledgements, publications) are derived from the run seed
and the message they answer, so the same seed gives the same ids, whatever order tasks run in.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import random
import time
from collections import Counter, OrderedDict
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import UUID, uuid4

import aiomqtt
from paho.mqtt.reasoncodes import ReasonCode

from broker import BrokerTarget, client
from bureaus.clock import Clock
from bureaus.events import Event, EventKind, EventLog, Tracer
from bureaus.links import LinkModel
from bureaus.outbox import Outbox, OutboxFull, Transmission
from bureaus.roles import Databases, ReviewPolicy
from protocol import (
    Acknowledgement,
    BureauInfo,
    MessageBase,
    NoticeCancelled,
    NoticePublished,
    NoticeRefused,
    NoticeRequest,
    Roster,
    SearchRequest,
    SearchResult,
    ToAll,
    ToBureaus,
    topics,
)
from protocol.authority import resolve_recipients
from protocol.caveats import Breach, CaveatPolicy, forwarding_breaches
from protocol.envelope import EnvelopeCodec, Header, Opened, peek
from protocol.errors import CertificateError, Reason, Rejection
from protocol.lifecycle import IllegalTransition, NoticeEvent, NoticeLifecycle
from protocol.routing import Topology, next_hops, path, relays
from protocol.versions import written_as

__all__ = ["Bureau", "NetworkContext"]

# Answers are their own acknowledgement: searches get results, results and refusals need no reply.
_NO_ACK = frozenset(
    {"acknowledgement", "presence", "search-request", "search-result", "notice-refused"}
)
AckStatus = Literal["received", "read", "actioned"]
"""What an acknowledgement says of the message it answers."""
_CONNECTION_LOST = "connection lost"
"""The cancellation message that hands a waiting publish back to the outbox."""
_REFUSED = 0x80
"""The lowest SUBACK return code that refuses a subscription (MQTT 3.1.1: 0x80, 5: 0x80 and up)."""
_PROBE = b"bureaunet inbox probe "
"""How an inbox probe starts: a bureau's own check that its inbox subscription delivers (never
an envelope, which is JSON)."""
_ACKS_KEPT = 1_000
"""Acknowledgements a bureau keeps to send again byte for byte (older ones are sealed anew)."""
_NOT_KEPT = frozenset({"acknowledgement", "presence"})
"""Kinds not kept in a bureau's inbox (nothing to read, forward or answer)."""


@dataclass
class NetworkContext:
    """What the bureaus of one process share: the world they live in and what they record."""

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
    in_flight: int = 0
    """Deliveries owed: final recipients of messages sent, less deliveries made (a load gauge)."""
    targets: dict[str, BrokerTarget] = field(default_factory=dict)
    """Bureaus that reach the broker elsewhere than ``target`` (another node of a cluster, or
    through a fault-injecting proxy)."""

    cluster: tuple[BrokerTarget, ...] = ()
    """The nodes of a clustered broker: bureaus are spread across them, and move to the next
    node when theirs cannot be reached."""
    _trouble: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)

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

    @functools.cached_property
    def relays(self) -> frozenset[str]:
        """The bureaus that may pass messages on in this topology (the rest never relay)."""
        return relays(self.topology, self.roster)

    def derive_id(self, *parts: object) -> UUID:
        """A message id derived from the run seed and ``parts`` (reproducible, not secret)."""
        digest = hashlib.sha256("|".join(map(str, (self.seed, *parts))).encode()).digest()
        return UUID(bytes=digest[:16], version=4)


@dataclass(slots=True)
class _Pending:
    """A message this bureau sent and keeps until every recipient has acknowledged it."""

    envelope: bytes
    kind: str
    priority: str
    remaining: set[str]
    due: float
    attempts: int = 0


class Bureau:
    """A bureau node: one MQTT connection, an inbox, a role, an outbox."""

    relay_again_after: float = 1.0
    """Seconds before a relay passes another copy of the same message on: resends (5 s and more
    apart) get through, a flood of copies costs at most one fan-out a second."""

    def __init__(
        self,
        info: BureauInfo,
        codec: EnvelopeCodec,
        password: str | None,
        ctx: NetworkContext,
        *,
        outbox_limit: int = 10_000,
        acknowledge: bool = True,
        resend_after: float = 5.0,
        max_attempts: int = 8,
        inbox_limit: int = 0,
        caveats: CaveatPolicy = "enforce",
    ) -> None:
        self.info = info
        self.id = info.id
        self.codec = codec
        self.password = password
        self.ctx = ctx
        self.acknowledge = acknowledge
        self.resend_after = resend_after
        """Real seconds to wait for acknowledgements before sending again (doubling each time)."""
        self.max_attempts = max_attempts
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
        self.pending: dict[str, _Pending] = {}
        """Sent messages not yet acknowledged by every recipient: the end-to-end guarantee."""
        self._queued: Counter[str] = Counter()
        self.outbox = Outbox(outbox_limit)
        self.counters: Counter[str] = Counter()
        self.connected = asyncio.Event()
        self.ready = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._relayed: OrderedDict[str, int] = OrderedDict()  # message id: last passed on (ns)

        self._publishing: set[asyncio.Task[Any]] = set()
        self._moves = 0
        self.broker_node: BrokerTarget | None = None
        """The broker (or cluster node) this bureau last connected to."""
        """Transmissions waiting for the broker's PUBACK on the current connection."""
        # the latest acknowledgements sent, by the message they answer: sent again as they are
        # when that message comes again (bounded)
        self._acks: OrderedDict[UUID, bytes] = OrderedDict()
        self._answered: OrderedDict[str, None] = OrderedDict()
        """Messages a person playing this bureau acknowledged (automatic bureaus answer all)."""
        self._entity_seq = 0
        self.published: dict[UUID, str] = {}
        """Notice requests this bureau (the GS) published: request id to entity id."""
        self.notices: dict[UUID, NoticeLifecycle] = {}
        """The lifecycle of every notice this bureau (the GS) was asked for, by request id."""
        self.last_error: str | None = None
        self.inbox_limit = inbox_limit
        """How many delivered messages to keep for forwarding and players (0: none)."""
        self.inbox: OrderedDict[str, MessageBase] = OrderedDict()
        """The latest delivered messages, by id (acknowledgements and presence left out)."""
        self.caveats: CaveatPolicy = caveats
        """Whether a forward that breaks its caveats is refused (``enforce``) or only flagged."""

    # --- running ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Run until cancelled."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._connection_loop(), name=f"bureau[{self.id}].connection")
            group.create_task(self._send_loop(), name=f"bureau[{self.id}].send")
            group.create_task(self._resend_loop(), name=f"bureau[{self.id}].resend")

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=f"bureau[{self.id}].{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _client_for(self) -> aiomqtt.Client:
        presence = topics.presence(self.id)
        death = json.dumps({"bureau": self.id, "status": "death"}).encode()
        self.broker_node = self.ctx.target_for(self.id, self._moves)
        return client(
            self.broker_node,
            client_id=self.id,
            username=self.id if self.password else None,
            password=self.password,
            clean_session=False,
            will=aiomqtt.Will(presence, death, qos=1, retain=True),
        )

    async def _connection_loop(self) -> None:
        # The documented aiomqtt way: `async with` inside a loop that catches MqttError and backs
        # off; the persistent session keeps QoS 1 messages queued at the broker meanwhile.
        backoff = 0.1
        while True:
            mqtt = self._client_for()
            try:
                async with mqtt:
                    self._client = mqtt
                    await self._subscribe(mqtt)
                    birth = json.dumps({"bureau": self.id, "status": "birth"}).encode()
                    await mqtt.publish(topics.presence(self.id), birth, qos=1, retain=True)
                    self.connected.set()
                    self.ready.set()
                    backoff = 0.1
                    probing = None
                    if len(self.ctx.cluster) > 1:
                        probing = asyncio.create_task(
                            self._probe_inbox(mqtt), name=f"bureau[{self.id}].probe"
                        )
                    try:
                        async for message in mqtt.messages:
                            self._on_message(message)
                    finally:
                        if probing is not None:
                            probing.cancel()
            except aiomqtt.MqttError as exc:
                self.counters["disconnects"] += 1
                self.last_error = str(exc)
                if len(self.ctx.cluster) > 1:
                    self._moves += 1  # try the next node of the cluster
                    self.counters["node_moves"] += 1
                    self.ctx.cluster_trouble()
            finally:
                self.connected.clear()
                self._client = None
                # publishes still waiting for their PUBACK on the lost connection would wait for
                # the client's timeout; hand them back to the outbox now instead
                for task in list(self._publishing):
                    task.cancel(_CONNECTION_LOST)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    async def _subscribe(self, mqtt: aiomqtt.Client) -> None:
        """Subscribe to the inbox and the revocation list, and check that the broker granted both.

        A broker may refuse a subscription in its SUBACK (return code 0x80) and keep the
        connection: NATS does when it cannot create the JetStream consumer behind a QoS 1
        subscription in time. The bureau would then be connected but deaf. Each refusal counts;
        the refused topics are asked for again on the same connection after a growing pause
        (reconnecting at once would add to the load that made the broker refuse), and after
        :attr:`subscribe_attempts` refusals the connection ends like any broker error: the bureau
        reconnects, to the next node of a cluster, and subscribes again.
        """
        wanted = [(topics.inbox(self.id), 1), (topics.CRL, 1)]
        pause = 0.5
        for _ in range(self.subscribe_attempts):
            granted: Sequence[int | ReasonCode] = await mqtt.subscribe(wanted)
            wanted = [
                wish
                for wish, code in zip(wanted, granted, strict=True)
                if (code if isinstance(code, int) else code.value) >= _REFUSED
            ]
            if not wanted:
                return
            self.counters["subscribe_refused"] += 1
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)
        refused = ", ".join(topic for topic, _ in wanted)
        raise aiomqtt.MqttError(f"the broker refused the subscription to {refused}")

    async def _probe_inbox(self, mqtt: aiomqtt.Client) -> None:
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
            publishing = asyncio.ensure_future(mqtt.publish(inbox, probe, qos=1))
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
                with contextlib.suppress(aiomqtt.MqttError):
                    await mqtt.unsubscribe(inbox)
                    await self._subscribe(mqtt)
                continue
            except aiomqtt.MqttError:
                if self._client is not mqtt:
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
        mqtt = self._client
        if mqtt is not None and self.connected.is_set():
            death = json.dumps({"bureau": self.id, "status": "death"}).encode()
            with contextlib.suppress(aiomqtt.MqttError):
                await mqtt.publish(topics.presence(self.id), death, qos=1, retain=True)
        for task in list(self._tasks):
            task.cancel()

    async def publish_raw(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish bytes as they are (revocation lists; tests of hostile traffic).

        Raises:
            aiomqtt.MqttError: Not connected, or the broker refused.
        """
        await self.connected.wait()
        mqtt = self._client
        if mqtt is None:
            raise aiomqtt.MqttError("not connected")
        await mqtt.publish(topic, payload, qos=1, retain=retain)

    def _record(self, kind: EventKind, **fields: Any) -> None:
        ctx = self.ctx
        ctx.events.add(
            Event(
                kind=kind,
                t_ns=ctx.clock.now_ns(),
                t_s=round(ctx.clock.scenario_s(), 6),
                bureau=self.id,
                **fields,
            )
        )

    # --- sending ------------------------------------------------------------------------------

    def recipients_of(self, message: MessageBase) -> tuple[str, ...]:
        """The final recipients of a message, expanded against the roster (this bureau left out)."""
        return resolve_recipients(message.recipients, self.id, self.ctx.roster)

    def submit(self, message: MessageBase, to: Sequence[str] | None = None) -> bytes:
        """Seal a message for its recipients and queue it for the first hops.

        Raises:
            CertificateError: A recipient has no valid certificate.
            OutboxFull: The outbox is full of urgent and flash traffic.
        """
        finals = tuple(to) if to is not None else self.recipients_of(message)
        message = written_as(message, self.codec.schema_version)
        envelope = self.codec.seal_at(message, self.ctx.clock.wall(), to=finals)
        mid = str(message.message_id)
        now = self.ctx.clock.now_ns()
        self.ctx.tracer.sent(mid, now)
        self.ctx.in_flight += len(finals)
        self.counters["sent"] += 1
        self._record(
            "sent",
            message_id=mid,
            message_kind=message.kind,
            size=len(envelope),
            recipients=finals,
        )
        if message.kind not in _NO_ACK and self.resend_after > 0:
            self.pending[mid] = _Pending(
                envelope,
                message.kind,
                message.priority,
                set(finals),
                time.monotonic() + self.resend_after,
            )
        hops = next_hops(self.ctx.topology, self.ctx.roster, self.id, finals, self.id)
        for hop in hops:
            self._queue(Transmission(hop, envelope, mid, message.kind, message.priority, now))
        return envelope

    async def _resend_loop(self) -> None:
        # The broker is not a ledger (a crash or a full queue can drop what it acknowledged), so
        # the sender keeps every message that needs an acknowledgement and sends it again, to the
        # recipients still missing, until they answer or the attempts run out (loudly).
        if self.resend_after <= 0:
            return  # resending switched off (nothing is kept pending either)
        while True:
            await asyncio.sleep(min(1.0, self.resend_after / 2))
            now = time.monotonic()
            for mid, item in list(self.pending.items()):
                if item.due > now or self._queued[mid]:
                    continue  # not yet due, or a copy is still waiting in the outbox
                if item.attempts >= self.max_attempts:
                    del self.pending[mid]
                    self.counters["shed:unacknowledged"] += 1
                    self._record(
                        "shed",
                        message_id=mid,
                        message_kind=item.kind,
                        reason="unacknowledged",
                        detail=f"no acknowledgement from {', '.join(sorted(item.remaining))} "
                        f"after {item.attempts} resends",
                    )
                    continue
                item.attempts += 1
                item.due = now + self.resend_after * 2 ** min(item.attempts, 4)
                self.counters["resent"] += 1
                hops = next_hops(
                    self.ctx.topology, self.ctx.roster, self.id, sorted(item.remaining), self.id
                )
                self._record(
                    "hop",
                    message_id=mid,
                    message_kind=item.kind,
                    detail=f"resent (attempt {item.attempts}) to "
                    f"{', '.join(sorted(item.remaining))}",
                )
                for hop in hops:
                    with contextlib.suppress(OutboxFull):
                        self._queue(
                            Transmission(
                                hop,
                                item.envelope,
                                mid,
                                item.kind,
                                item.priority,
                                self.ctx.clock.now_ns(),
                            )
                        )

    def _queue(self, item: Transmission, *, front: bool = False, again: bool = False) -> None:
        # _queued counts each message's transmissions from queueing until published or shed;
        # a transmission put back after a failure (again=True) is already counted
        if not again:
            self._queued[item.message_id] += 1
        try:
            shed = self.outbox.put(item, front=front)
        except OutboxFull as exc:
            self.counters["shed:outbox_full"] += 1
            self._record(
                "shed",
                message_id=item.message_id,
                message_kind=item.kind,
                peer=item.next_hop,
                reason="outbox_full",
                detail=str(exc),
            )
            self._dequeued(item.message_id)
            raise
        if shed is not None:
            self._dequeued(shed.message_id)
            self.counters["shed:outbox_full"] += 1
            self._record(
                "shed",
                message_id=shed.message_id,
                message_kind=shed.kind,
                peer=shed.next_hop,
                reason="outbox_full",
                detail="oldest routine transmission shed for newer traffic",
            )

    async def _send_loop(self) -> None:
        links, clock = self.ctx.links, self.ctx.clock
        while True:
            item = await self.outbox.get()
            await self.connected.wait()  # store and forward while the broker is out of reach
            back_at = links.down_until(self.id, item.next_hop, clock.scenario_s())
            if back_at is not None:
                self._spawn(self._hold_until(item, back_at), "outage")
                continue
            delay = links.delay_ms(self.id, item.next_hop, item.message_id, item.attempt)
            self._spawn(self._transmit(item, delay), "link")

    async def _hold_until(self, item: Transmission, back_at_s: float) -> None:
        self.counters["held:outage"] += 1
        await self.ctx.clock.sleep_until(back_at_s)
        self._queue(item, front=True, again=True)

    async def _transmit(self, item: Transmission, delay_ms: float) -> None:
        links, tracer = self.ctx.links, self.ctx.tracer
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000)
        tracer.hold(item.message_id, self.id, item.next_hop, delay_ms)
        if links.lost(self.id, item.next_hop, item.message_id, item.attempt):
            # the modelled link lost this attempt: resend after a timeout, as a transport would
            self.counters["link_losses"] += 1
            item.attempt += 1
            timeout_ms = max(200.0, 3 * delay_ms)
            await asyncio.sleep(timeout_ms / 1000)
            tracer.hold(item.message_id, self.id, item.next_hop, timeout_ms)
            self._queue(item, front=True, again=True)
            return
        mqtt = self._client
        if mqtt is None:
            self._queue(item, front=True, again=True)
            return
        task = asyncio.current_task()
        assert task is not None
        self._publishing.add(task)
        try:
            await mqtt.publish(topics.inbox(item.next_hop), item.envelope, qos=1)
        except aiomqtt.MqttError:
            self.counters["publish_retries"] += 1
            self._queue(item, front=True, again=True)
            return
        except asyncio.CancelledError as exc:
            if exc.args != (_CONNECTION_LOST,):
                raise  # the bureau is stopping
            task.uncancel()
            self.counters["publish_retries"] += 1
            self._queue(item, front=True, again=True)
            return
        finally:
            self._publishing.discard(task)
        self._dequeued(item.message_id)
        self.counters["transmitted"] += 1

    def queued_ids(self) -> list[str]:
        """Messages with a transmission the broker has not acknowledged yet (PUBACK)."""
        return list(self._queued)

    def _dequeued(self, message_id: str) -> None:
        self._queued[message_id] -= 1
        if self._queued[message_id] <= 0:
            del self._queued[message_id]

    # --- receiving ----------------------------------------------------------------------------

    def _on_message(self, message: aiomqtt.Message) -> None:
        """Hand one received message to its path; nothing received can stop the bureau.

        This is the one boundary of every receive path (inbox, revocation list, probes, and any
        other topic a broker delivers): the paths refuse what they expect to refuse with a typed
        reason; anything else they raise is caught here, counted as ``internal_error`` with the
        exception's type, recorded, and the connection goes on serving.
        """
        topic = message.topic.value
        payload = message.payload
        data = payload if isinstance(payload, bytes) else str(payload).encode()
        try:
            if topic == topics.CRL:
                self._on_crl(data)
            elif topic == topics.inbox(self.id) and message.retain:
                # nothing is ever retained on an inbox: junk that would come back at every
                # subscription; refused, and cleared from the broker
                self._refuse(
                    Reason.MALFORMED,
                    "a retained message on this bureau's inbox (cleared)",
                    size=len(data),
                )
                if data:
                    self._spawn(self._clear_retained(topic), "clear-retained")
            elif topic == topics.inbox(self.id) and not data:
                # the echo of clearing a retained message (nothing else sends empty messages;
                # counted, never taken for an envelope)
                self.counters["inbox_empty"] += 1
            elif topic == topics.inbox(self.id):
                self._inbox_seen += 1
                if self._probe is not None and data.startswith(_PROBE):
                    self._on_probe(data)  # only bureaus that probe (on a cluster) take these
                else:
                    self._on_envelope(data)
            else:
                self._refuse(
                    Reason.MALFORMED, f"a message on {topic!r}, which this bureau reads nothing on"
                )
        except Exception as exc:  # the boundary: refuse, count, keep serving
            self._refuse(
                Reason.INTERNAL_ERROR,
                f"{type(exc).__name__} while handling a message on {topic}: {exc}"[:500],
                size=len(data),
            )

    async def _clear_retained(self, topic: str) -> None:
        mqtt = self._client
        if mqtt is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await mqtt.publish(topic, b"", qos=1, retain=True)  # empty: deletes it
                self.counters["inbox_cleared"] += 1

    def _refuse(self, reason: Reason, detail: str, **fields: Any) -> None:
        """Count and record a refused input."""
        self.counters[f"rejected:{reason}"] += 1
        self._record("rejected", reason=str(reason), detail=detail, **fields)

    def _on_crl(self, data: bytes) -> None:
        try:
            if self.codec.trust.apply_revocation_list(data):
                self.counters["crl_applied"] += 1
        except CertificateError as exc:
            self._refuse(exc.reason, "revocation list: " + exc.detail, size=len(data))

    def _on_envelope(self, data: bytes) -> None:
        t_ns = self.ctx.clock.now_ns()
        now = self.ctx.clock.wall()
        try:
            header, opened = self.codec.receive_at(data, now)
            if opened is not None:
                self._deliver(opened, t_ns)
            others = [r for r in header.recipient_ids if r != self.id]
            relayed = self.id in self.ctx.relays and others and self._relay(header, others, data)
            if opened is None and not relayed:
                # verified, but neither for this bureau nor on its way through it
                raise Rejection(
                    Reason.NOT_A_RECIPIENT,
                    f"addressed to {', '.join(others[:5])}, and {self.id} relays none of it",
                    sender=header.sender,
                    message_id=str(header.message_id),
                )
        except Rejection as exc:
            if exc.reason is Reason.DUPLICATE:
                self._acknowledge_again(data)
            self.counters[f"rejected:{exc.reason}"] += 1
            self._record(
                "rejected",
                reason=str(exc.reason),
                peer=exc.sender,
                message_id=exc.message_id,
                size=len(data),
                detail=exc.detail,
            )

    def _acknowledge_again(self, data: bytes) -> None:
        # A verified envelope this bureau already accepted came again: the sender did not get the
        # acknowledgement (or a relay duplicated it). Acknowledge again, with the same id, so the
        # sender can stop; an acknowledgement that did arrive is a harmless duplicate there.
        # The very same acknowledgement bytes go again where they are still kept, so the
        # sender sees a duplicate, not a second seal of an id it accepted (a replay).
        header = peek(data, self.codec.max_size)
        answered = self.acknowledge or str(header.message_id) in self._answered
        if not answered or header.kind in _NO_ACK or self.id not in header.recipient_ids:
            return
        kept = self._acks.get(header.message_id)
        if kept is None:
            self._acknowledge(header.message_id, header.sender, "received")
            return
        ack_id = str(self.ctx.derive_id("ack", header.message_id, self.id))
        hops = next_hops(self.ctx.topology, self.ctx.roster, self.id, (header.sender,), self.id)
        for hop in hops:
            with contextlib.suppress(OutboxFull):  # shed and counted by _queue
                self._queue(
                    Transmission(
                        hop,
                        kept,
                        ack_id,
                        "acknowledgement",
                        header.priority,
                        self.ctx.clock.now_ns(),
                    )
                )

    def _relay(self, header: Header, finals: list[str], data: bytes) -> bool:
        """Pass a verified envelope on towards ``finals``; False when none is reached through here.

        A second copy is usually the sender's resend to recipients that have not acknowledged,
        which must get through: it is passed on again once :attr:`relay_again_after` has passed
        since the last (the recipients tell duplicates apart). Copies closer together are a
        broker's redelivery or a flood; passing each on would multiply it by the fan-out.

        Raises:
            Rejection: ``duplicate``: a copy of this message was passed on moments ago.
        """
        sender, mid = header.sender, str(header.message_id)
        kind, priority = header.kind, header.priority
        hops = next_hops(self.ctx.topology, self.ctx.roster, sender, finals, self.id)
        if not hops:
            return False
        now = self.ctx.clock.now_ns()
        last = self._relayed.get(mid)
        again = last is not None
        if last is not None:
            since_s = (now - last) / 1e9
            if since_s < self.relay_again_after:
                raise Rejection(
                    Reason.DUPLICATE,
                    f"a copy was passed on {since_s * 1000:.0f} ms ago: passed on again only "
                    f"after {self.relay_again_after:g} s",
                    sender=sender,
                    message_id=mid,
                )
            self.counters["relayed_again"] += 1
        self._relayed[mid] = now
        self._relayed.move_to_end(mid)
        if len(self._relayed) > 100_000:
            self._relayed.popitem(last=False)
        for hop, reached in hops.items():
            self.counters["relayed"] += 1
            self._record(
                "hop",
                message_id=mid,
                message_kind=kind,
                peer=hop,
                size=len(data),
                detail=("blind relay, again, " if again else "blind relay ")
                + f"towards {len(reached)} bureaus",
            )
            self._queue(Transmission(hop, data, mid, kind, priority, now))
        return True

    def _deliver(self, opened: Opened, t_ns: int) -> None:
        message = opened.message
        mid = str(message.message_id)
        route = path(self.ctx.topology, self.ctx.roster, message.sender, self.id)
        sent = self.ctx.tracer.sent_ns.get(mid)
        latency = (t_ns - sent) / 1e6 if sent is not None else None
        modelled = self.ctx.tracer.modelled_ms(mid, route)
        self.counters["delivered"] += 1
        self.ctx.in_flight = max(0, self.ctx.in_flight - 1)
        self._record(
            "delivered",
            message_id=mid,
            message_kind=message.kind,
            peer=message.sender,
            route=route,
            latency_ms=latency,
            modelled_ms=modelled,
            size=opened.size,
            detail=f"outcome: {message.outcome}" if isinstance(message, SearchResult) else None,
        )
        if self.inbox_limit and message.kind not in _NOT_KEPT:
            self.inbox[mid] = message
            if len(self.inbox) > self.inbox_limit:
                self.inbox.popitem(last=False)
        self._react(message)

    def _react(self, message: MessageBase) -> None:
        if isinstance(message, Acknowledgement):
            pending = self.pending.get(str(message.refers_to))
            if pending is not None:
                pending.remaining.discard(message.sender)
                if not pending.remaining:
                    del self.pending[str(message.refers_to)]
            self.counters["acknowledged"] += 1
            self._record(
                "acknowledged",
                message_id=str(message.refers_to),
                peer=message.sender,
                detail=message.status,
            )
            return
        if isinstance(message, NoticeRequest) and self.info.role == "general-secretariat":
            if self._lifecycle(message.message_id, "request"):
                self._spawn(self._review(message), "review")
        elif isinstance(message, SearchRequest):
            self._answer(message)
        if self.acknowledge and message.kind not in _NO_ACK:
            self.answer(message)

    def answer(self, message: MessageBase, status: AckStatus = "received") -> None:
        """Acknowledge a delivered message (automatically, or for the person playing the bureau)."""
        if not self.acknowledge:
            self._answered[str(message.message_id)] = None  # so a resent copy is answered again
            if len(self._answered) > 100_000:
                self._answered.popitem(last=False)
        self._acknowledge(message.message_id, message.sender, status)

    def _acknowledge(self, refers_to: UUID, to: str, status: AckStatus) -> None:
        envelope = self._send_generated(
            Acknowledgement(
                message_id=self.ctx.derive_id("ack", refers_to, self.id),
                sender=self.id,
                recipients=ToBureaus(bureaus=(to,)),
                created_at=self.ctx.clock.wall(),
                refers_to=refers_to,
                status=status,
            )
        )
        if envelope is not None:
            self._acks[refers_to] = envelope
            if len(self._acks) > _ACKS_KEPT:
                self._acks.popitem(last=False)

    def forward(
        self,
        message_id: str,
        to: Sequence[str],
        new_id: UUID,
        *,
        permission: bool = False,
        originator: str | None = None,
    ) -> list[Breach]:
        """Pass a delivered message on to other bureaus, under its caveats.

        The copy keeps the original's kind, content and caveats, and is sent (and signed) by this
        bureau under a new id. Every caveat it breaks is recorded as a ``breach`` event; under the
        ``enforce`` policy such a copy is not sent at all.

        Returns:
            The breaches (empty when the forward was allowed).

        Raises:
            KeyError: No such message in this bureau's inbox.
        """
        original = self.inbox[message_id]
        entitled = self.recipients_of(original)
        breaches = forwarding_breaches(
            original,
            self.id,
            tuple(to),
            originator=originator,
            entitled=entitled,
            permission=permission,
        )
        blocked = bool(breaches) and self.caveats == "enforce"
        for breach in breaches:
            self.counters[f"breach:{breach.rule}"] += 1
            self._record(
                "breach",
                message_id=message_id,
                message_kind=original.kind,
                peer=breach.originator,
                recipients=breach.to,
                reason=breach.rule,
                detail=("blocked: " if blocked else "flagged: ") + breach.detail,
            )
        if blocked:
            return breaches
        copy = original.model_copy(
            update={
                "message_id": new_id,
                "sender": self.id,
                "recipients": ToBureaus(bureaus=tuple(to)),
                "created_at": self.ctx.clock.wall(),
            }
        )
        self._record(
            "hop",
            message_id=str(new_id),
            message_kind=original.kind,
            peer=original.sender,
            detail=f"forwarded copy of {message_id}",
        )
        self._send_generated(copy)
        return breaches

    def _send_generated(
        self, message: MessageBase, to: Sequence[str] | None = None
    ) -> bytes | None:
        try:
            return self.submit(message, to)
        except (CertificateError, OutboxFull, ValueError) as exc:
            self.counters["send_failed"] += 1
            self._record(
                "shed",
                message_id=str(message.message_id),
                message_kind=message.kind,
                reason="send_failed",
                detail=str(exc),
            )
            return None

    async def _review(self, request: NoticeRequest) -> None:
        policy = self.ctx.review
        if policy.delay_s > 0:
            await self.ctx.clock.sleep(policy.delay_s)
        refusal = policy.review(request)
        now = self.ctx.clock.wall()
        if not self._lifecycle(request.message_id, "refuse" if refusal else "publish"):
            return
        if refusal is not None:
            self._send_generated(
                NoticeRefused(
                    message_id=self.ctx.derive_id("refused", request.message_id),
                    sender=self.id,
                    recipients=ToBureaus(bureaus=(request.sender,)),
                    created_at=now,
                    request_id=request.message_id,
                    reason=refusal.reason,
                    detail=refusal.detail,
                )
            )
            return
        self._entity_seq += 1
        entity_id = f"{now.year:04d}/{self._entity_seq:05d}"
        self.published[request.message_id] = entity_id
        notice = request.notice.model_copy(update={"entity_id": entity_id})
        self._send_generated(
            NoticePublished(
                message_id=self.ctx.derive_id("published", request.message_id),
                sender=self.id,
                recipients=ToAll(),
                created_at=now,
                notice=notice,
                request_id=request.message_id,
                priority=request.priority,
                handling_code=request.handling_code,
                tlp=request.tlp,
            )
        )

    def _lifecycle(self, request_id: UUID, event: NoticeEvent) -> bool:
        """Move a notice through its lifecycle table; an illegal move is refused and counted."""
        notice = self.notices.setdefault(request_id, NoticeLifecycle())
        try:
            state = notice.apply(event, round(self.ctx.clock.scenario_s(), 6))
        except IllegalTransition as exc:
            self.counters["rejected:illegal_transition"] += 1
            self._record(
                "rejected", message_id=str(request_id), reason="illegal_transition", detail=str(exc)
            )
            return False
        self._record("lifecycle", message_id=str(request_id), detail=f"{event} -> {state}")
        return True

    def cancel_notice(self, request_id: UUID, message_id: UUID, reason: str) -> bool:
        """Cancel a notice this bureau (the GS) published, if its lifecycle allows it."""
        entity = self.published.get(request_id)
        if entity is None or not self._lifecycle(request_id, "cancel"):
            return False
        self._send_generated(
            NoticeCancelled(
                message_id=message_id,
                sender=self.id,
                recipients=ToAll(),
                created_at=self.ctx.clock.wall(),
                entity_id=entity,
                reason=reason,
            )
        )
        return True

    def _answer(self, request: SearchRequest) -> None:
        hits = (
            self.ctx.databases.search(request.query)
            if self.info.role == "general-secretariat"
            else ()
        )
        self._send_generated(
            SearchResult(
                message_id=self.ctx.derive_id("result", request.message_id),
                sender=self.id,
                recipients=ToBureaus(bureaus=(request.sender,)),
                created_at=self.ctx.clock.wall(),
                request_id=request.message_id,
                outcome="hit" if hits else "no-hit",
                hits=hits,
                priority=request.priority,
            )
        )
