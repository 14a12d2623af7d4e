"""A bureau's behaviour without I/O: inputs with the time passed in, outputs returned.

Theory of operation (the aioquic pattern). A :class:`BureauCore` never awaits, never reads a
clock and never touches a socket. A driver hands it

- received bytes: :meth:`BureauCore.receive` (topic, payload, retained flag),
- commands: :meth:`~BureauCore.submit` / :meth:`~BureauCore.send`, :meth:`~BureauCore.forward`,
  :meth:`~BureauCore.answer`, :meth:`~BureauCore.cancel_notice`, :meth:`~BureauCore.rotate`,
  :meth:`~BureauCore.publish_revocations`, :meth:`~BureauCore.set_online`,
- timer expiries: :meth:`~BureauCore.handle_timer`, when :meth:`~BureauCore.next_timer` says,
- the fate of what it asked to send: :meth:`~BureauCore.published` /
  :meth:`~BureauCore.publish_failed`,

each with a :class:`Now`, and gets back :class:`Outputs`: transmissions to publish (topic, bytes,
modelled delay to hold them for), typed events, and the work done (what a simulation's service-
time model charges for). Everything a bureau does lives here or in the pure helpers it calls:
roles (the General Secretariat's review and publication through the lifecycle table, search
answers, acknowledgements, blind relaying, bureaus played by a person), end-to-end
acknowledgement and resend, forwarding under caveats, the outbox with its shedding, and the link
model (delay, loss, outages).

Two time bases are passed in. ``Now.s`` is scenario time: reviews and link outages are planned
on it. ``Now.t`` is link time: modelled delays, loss timeouts and resends run on it. In a live run
scenario time may run faster than real time (or stand still while a controller pauses it) while
link time is real seconds; in a simulation both are the same virtual clock.

Why one long module: the core is one state machine (one object, its timers and its outbox);
splitting it would spread one bureau's state over several files that all reach into it.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, Literal
from uuid import UUID

from bureaus.errors import NotKept
from bureaus.events import (
    Acknowledged,
    Breach,
    Delivered,
    Event,
    Hop,
    Lifecycle,
    Rejected,
    Sent,
    Shed,
    Tracer,
    trace_key,
)
from bureaus.ids import MessageIds
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
from protocol.errors import CertificateError, Reason, Rejection
from protocol.messages.authority import resolve_recipients
from protocol.messages.caveats import Breach as CaveatBreach
from protocol.messages.caveats import CaveatPolicy, forwarding_breaches
from protocol.messages.lifecycle import IllegalTransition, NoticeEvent, NoticeLifecycle
from protocol.network.routing import Topology, next_hops, path, relays
from protocol.schemas.versions import written_as
from protocol.security.envelope import EnvelopeCodec, Header, Opened, peek
from protocol.security.pki import BureauIdentity

__all__ = ["AckStatus", "BureauCore", "Now", "Outputs", "Send", "Work", "World"]

# Answers are their own acknowledgement: searches get results, results and refusals need no reply.
_NO_ACK = frozenset(
    {"acknowledgement", "presence", "search-request", "search-result", "notice-refused"}
)
AckStatus = Literal["received", "read", "actioned"]
"""What an acknowledgement says of the message it answers."""
_ACKS_KEPT = 1_000
"""Acknowledgements a bureau keeps to send again byte for byte (older ones are sealed anew)."""
_NOT_KEPT = frozenset({"acknowledgement", "presence"})
"""Kinds not kept in a bureau's inbox (nothing to read, forward or answer)."""
_RELAYED_KEPT = 100_000
BROADCAST = "*"
"""The next hop of a transmission published once on the broadcast topic for all its recipients."""
BROADCAST_MIN = 8
"""The fewest direct recipients for which the General Secretariat broadcasts."""
_EPS = 1e-6
"""Timers this close to now are due (virtual time moves in whole microseconds)."""
_BACKOFF_DOUBLINGS = 7
"""How many times the wait between resends doubles: from 10 s to 640 s (with the default
``resend_after`` of 5 s), then every 640 s."""


def resend_span(resend_after: float = 5.0, max_attempts: int = 10) -> float:
    """Link seconds from a first send to the last resend, if no acknowledgement ever comes."""
    return float(
        sum(resend_after * 2 ** min(n, _BACKOFF_DOUBLINGS) for n in range(1, max_attempts + 1))
    )


RESEND_SPAN_S = resend_span()
"""The default resend schedule's span (3,190 s): shorter than a recipient's resend window
(:attr:`protocol.security.replay.ReplayGuard.resend_window`), so every resend is a duplicate."""
_REARM_S = 1.0
"""Link seconds before a resend that found a copy still in the outbox looks again."""


@dataclass(frozen=True, slots=True)
class Now:
    """The time, as the driver's clock tells it.

    Attributes:
        s: Scenario seconds since the start of the run.
        t: Link seconds (monotonic): real seconds live, virtual seconds in a simulation.
        ns: Nanoseconds since the epoch (for events and latencies).
        wall: The UTC date and time (for certificates and message timestamps).
    """

    s: float
    t: float
    ns: int
    wall: datetime


@dataclass
class World:
    """What the bureaus of one process share, without I/O.

    The roster, the topology's routing, the link model, the GS's rules and databases, message
    ids, and per-message timing.
    """

    roster: Roster
    topology: Topology
    links: LinkModel
    tracer: Tracer = field(default_factory=Tracer)
    ids: MessageIds = field(default_factory=MessageIds)
    review: ReviewPolicy = field(default_factory=ReviewPolicy)
    databases: Databases = field(default_factory=Databases)
    in_flight: int = 0
    """Deliveries owed: final recipients of messages sent, less deliveries made (a load gauge)."""
    broadcast: bool = True
    """Whether the General Secretariat publishes a message for many NCBs once, on the broadcast
    topic every bureau reads, instead of once per inbox (see :meth:`BureauCore.broadcasts`).
    The driver subscribes to that topic when this is true."""

    @cached_property
    def relays(self) -> frozenset[str]:
        """The bureaus that may pass messages on in this topology (the rest never relay)."""
        return relays(self.topology, self.roster)


@dataclass(frozen=True, slots=True)
class Send:
    """Bytes to publish on a topic, after holding them for the modelled delay.

    Attributes:
        topic: Where.
        payload: What.
        delay_s: Link seconds to hold the bytes first (the modelled WAN delay).
        retain: Publish as retained (revocation lists, clearing a retained message).
        item: The outbox transmission this is (tell the core whether it was published).
    """

    topic: str
    payload: bytes
    delay_s: float = 0.0
    retain: bool = False
    item: Transmission | None = None


@dataclass(slots=True)
class Work:
    """What handling one input cost, in units a service-time model charges for."""

    verified: int = 0
    """Envelopes whose signature and certificate were checked."""
    opened: int = 0
    """Envelopes decrypted and validated."""
    sealed: int = 0
    """Envelopes signed."""
    wrapped: int = 0
    """Recipient key wraps (one per final recipient of each sealed envelope)."""
    relayed: int = 0
    """Transmissions passed on unchanged."""


@dataclass(slots=True)
class Outputs:
    """What one input produced.

    Attributes:
        sends: Bytes to publish, in order.
        events: What happened, in order.
        work: What it cost.
        envelope: For a submit, the sealed envelope.
        breaches: For a forward, the caveats it breaks.
        ok: For a command that can be refused (cancel), whether it was done.
    """

    sends: list[Send] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    work: Work = field(default_factory=Work)
    envelope: bytes | None = None
    breaches: list[CaveatBreach] = field(default_factory=list)
    ok: bool = True


@dataclass(slots=True)
class _Pending:
    """A message this bureau sent and keeps until every recipient has acknowledged it."""

    envelope: bytes
    kind: str
    priority: str
    remaining: set[str]
    due_t: float
    attempts: int = 0


_TimerS = tuple[Literal["review"], NoticeRequest] | tuple[Literal["outage"], Transmission]
_TimerT = tuple[Literal["resend"], str] | tuple[Literal["lost"], Transmission]


class BureauCore:
    """One bureau's behaviour: a plain object driven with inputs and the time.

    Args:
        info: Who the bureau is (id, role, region).
        codec: Its envelope codec (credentials, trust store, replay memory).
        world: What it shares with the other bureaus of the process.
        outbox_limit: Transmissions its outbox holds before shedding.
        acknowledge: Acknowledge deliveries automatically (``False``: a person plays it).
        resend_after: Link seconds before an unacknowledged message is sent again (doubling
            each time, seven times at most; 0: no end-to-end resends).
        max_attempts: Resends before giving up (loudly). The default's resends span about 54
            minutes (:data:`RESEND_SPAN_S`), within the recipients' resend window: a sender
            keeps trying through an outage the broker forgets, and every copy it sends is still
            taken for a duplicate, answered again.
        inbox_limit: Delivered messages kept for forwarding and players (0: none).
        caveats: ``enforce`` (a forward that breaks its caveats is not sent) or ``flag``.
    """

    relay_again_after: float = 1.0
    """Link seconds before a relay passes another copy of the same message on: resends (5 s and
    more apart) get through, a flood of copies costs at most one fan-out a second."""

    def __init__(
        self,
        info: BureauInfo,
        codec: EnvelopeCodec,
        world: World,
        *,
        outbox_limit: int = 10_000,
        acknowledge: bool = True,
        resend_after: float = 5.0,
        max_attempts: int = 10,
        inbox_limit: int = 0,
        caveats: CaveatPolicy = "enforce",
    ) -> None:
        self.info = info
        self.id = info.id
        self.codec = codec
        self.world = world
        self.acknowledge = acknowledge
        self.resend_after = resend_after
        self.max_attempts = max_attempts
        self.inbox_limit = inbox_limit
        self.caveats: CaveatPolicy = caveats
        self.counters: Counter[str] = Counter()
        self.outbox = Outbox(outbox_limit)
        self.online = False
        """Whether the driver can publish now (the outbox drains only then)."""
        self.pending: dict[str, _Pending] = {}
        """Sent messages not yet acknowledged by every recipient: the end-to-end guarantee."""
        self.inbox: OrderedDict[str, MessageBase] = OrderedDict()
        """The latest delivered messages, by id (acknowledgements and presence left out)."""
        self.published_notices: dict[tuple[str, UUID], str] = {}
        """Notice requests this bureau (the GS) published: (requester, request id) to entity id."""
        self.notices: dict[tuple[str, UUID], NoticeLifecycle] = {}
        """The lifecycle of every notice this bureau (the GS) was asked for, by (requester,
        request id): an id is its sender's, so another member's request under the same id is
        another notice."""
        self._queued: Counter[str] = Counter()
        # (sender, message id): last passed on (t); every table below names a message by its
        # sender and id, since ids are reproducible and another member can seal under one
        self._relayed: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._acks: OrderedDict[tuple[str, UUID], bytes] = OrderedDict()
        self._answered: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._entity_seq = 0
        self._seq = itertools.count()
        self._timers_s: list[tuple[float, int, _TimerS]] = []
        self._timers_t: list[tuple[float, int, _TimerT]] = []
        self._out = Outputs()

    # --- outputs ------------------------------------------------------------------------------

    def _take(self) -> Outputs:
        out, self._out = self._out, Outputs()
        return out

    def _record(self, cls: type[Event], now: Now, **fields: Any) -> None:
        self._out.events.append(cls(t_ns=now.ns, t_s=round(now.s, 6), bureau=self.id, **fields))

    def _refuse(self, now: Now, reason: Reason | str, detail: str, **fields: Any) -> None:
        self.counters[f"rejected:{reason}"] += 1
        self._record(Rejected, now, reason=str(reason), detail=detail, **fields)

    # --- timers -------------------------------------------------------------------------------

    def next_timer(self) -> tuple[float | None, float | None]:
        """When the core next needs waking: (scenario seconds, link seconds), ``None`` for none."""
        at_s = self._timers_s[0][0] if self._timers_s else None
        at_t = self._timers_t[0][0] if self._timers_t else None
        return at_s, at_t

    def handle_timer(self, now: Now) -> Outputs:
        """Do what is due by ``now``: reviews, outage ends, lost transmissions, resends."""
        while self._timers_s and self._timers_s[0][0] <= now.s + _EPS:
            _, _, what = heapq.heappop(self._timers_s)
            if what[0] == "review":
                self._review(what[1], now)
            else:
                self._queue(what[1], now, front=True, again=True)
        while self._timers_t and self._timers_t[0][0] <= now.t + _EPS:
            _, _, due = heapq.heappop(self._timers_t)
            if due[0] == "resend":
                self._resend(due[1], now)
            else:
                self._queue(due[1], now, front=True, again=True)
        self._drain(now)
        return self._take()

    def _at_s(self, at: float, what: _TimerS) -> None:
        heapq.heappush(self._timers_s, (at, next(self._seq), what))

    def _at_t(self, at: float, what: _TimerT) -> None:
        heapq.heappush(self._timers_t, (at, next(self._seq), what))

    # --- the link and the outbox ---------------------------------------------------------------

    def set_online(self, online: bool, now: Now) -> Outputs:
        """The driver's connection came up (the outbox drains) or went down (it holds)."""
        self.online = online
        self._drain(now)
        return self._take()

    def _drain(self, now: Now) -> None:
        links = self.world.links
        while self.online:
            item = self.outbox.pop()
            if item is None:
                return
            if item.next_hop == BROADCAST:
                self._out.sends.append(Send(topics.broadcast("all"), item.envelope, item=item))
                continue
            back_at = links.down_until(self.id, item.next_hop, now.s)
            if back_at is not None:
                self.counters["held:outage"] += 1
                self._at_s(back_at, ("outage", item))
                continue
            delay = links.delay_ms(self.id, item.next_hop, item.message_id, item.attempt)
            key = trace_key(item.origin or self.id, item.message_id)
            self.world.tracer.hold(key, self.id, item.next_hop, delay)
            if links.lost(self.id, item.next_hop, item.message_id, item.attempt):
                # the modelled link lost this attempt: try again after a timeout, as a transport
                self.counters["link_losses"] += 1
                item.attempt += 1
                timeout = max(200.0, 3 * delay)
                self.world.tracer.hold(key, self.id, item.next_hop, timeout)
                self._at_t(now.t + (delay + timeout) / 1000, ("lost", item))
                continue
            self._out.sends.append(
                Send(topics.inbox(item.next_hop), item.envelope, delay / 1000, item=item)
            )

    def published(self, item: Transmission) -> None:
        """The broker acknowledged a transmission (PUBACK)."""
        self._dequeued(item.message_id)
        self.counters["transmitted"] += 1

    def publish_failed(self, item: Transmission, now: Now) -> Outputs:
        """A transmission did not reach the broker: it goes back to the front of the outbox."""
        self.counters["publish_retries"] += 1
        self._queue(item, now, front=True, again=True)
        self._drain(now)
        return self._take()

    def queued_ids(self) -> list[str]:
        """Messages with a transmission the broker has not acknowledged yet."""
        return list(self._queued)

    def _queue(
        self, item: Transmission, now: Now, *, front: bool = False, again: bool = False
    ) -> None:
        # _queued counts each message's transmissions from queueing until published or shed;
        # a transmission put back after a failure (again=True) is already counted
        if not again:
            self._queued[item.message_id] += 1
        try:
            shed = self.outbox.put(item, front=front)
        except OutboxFull as exc:
            self._shed(item, now, str(exc))
            raise
        if shed is not None:
            self._shed(shed, now, "oldest routine transmission shed for newer traffic")

    def _shed(self, item: Transmission, now: Now, detail: str) -> None:
        self._dequeued(item.message_id)
        self.counters["shed:outbox_full"] += 1
        self._record(
            Shed,
            now,
            message_id=item.message_id,
            message_kind=item.kind,
            peer=item.next_hop,
            reason="outbox_full",
            detail=detail,
        )

    def _dequeued(self, message_id: str) -> None:
        self._queued[message_id] -= 1
        if self._queued[message_id] <= 0:
            del self._queued[message_id]

    # --- sending ------------------------------------------------------------------------------

    def recipients_of(self, message: MessageBase) -> tuple[str, ...]:
        """The final recipients of a message, expanded against the roster (this bureau left out)."""
        return resolve_recipients(message.recipients, self.id, self.world.roster)

    def submit(self, message: MessageBase, now: Now, to: Sequence[str] | None = None) -> Outputs:
        """Seal a message for its recipients and queue it for the first hops.

        Raises:
            CertificateError: A recipient has no valid certificate.
            OutboxFull: The outbox is full of urgent and flash traffic.
            ValueError: The message cannot be sealed (no recipients, too large).
        """
        self._submit(message, now, to)
        self._drain(now)
        return self._take()

    def send(self, message: MessageBase, now: Now, to: Sequence[str] | None = None) -> Outputs:
        """Submit, and record a failure to send as a ``shed: send_failed`` event, never raising."""
        self._send_generated(message, now, to)
        self._drain(now)
        return self._take()

    def _submit(self, message: MessageBase, now: Now, to: Sequence[str] | None = None) -> bytes:
        world = self.world
        finals = tuple(to) if to is not None else self.recipients_of(message)
        message = written_as(message, self.codec.schema_version)
        envelope = self.codec.seal_at(message, now.wall, to=finals)
        self._out.work.sealed += 1
        self._out.work.wrapped += len(finals)
        mid = str(message.message_id)
        world.tracer.sent(trace_key(self.id, mid), now.ns)
        world.in_flight += len(finals)
        self.counters["sent"] += 1
        self._record(
            Sent,
            now,
            message_id=mid,
            message_kind=message.kind,
            size=len(envelope),
            recipients=finals,
        )
        if message.kind not in _NO_ACK and self.resend_after > 0:
            due = now.t + self.resend_after
            self.pending[mid] = _Pending(envelope, message.kind, message.priority, set(finals), due)
            self._at_t(due, ("resend", mid))
        hops = next_hops(world.topology, world.roster, self.id, finals, self.id)
        for hop in (BROADCAST,) if self.broadcasts(hops, finals) else hops:
            self._queue(
                Transmission(
                    hop, envelope, mid, message.kind, message.priority, now.ns, origin=self.id
                ),
                now,
            )
        self._out.envelope = envelope
        return envelope

    def broadcasts(self, hops: Iterable[str], finals: Sequence[str]) -> bool:
        """Whether a message goes out once on the broadcast topic rather than once per hop.

        The General Secretariat (the only writer of that topic) does so for a message with at
        least :data:`BROADCAST_MIN` recipients that it reaches directly, when every link is the
        same: the link model off and no outage scripted (a modelled delay, loss or outage is per
        link, so those messages go inbox by inbox). Every recipient still verifies and opens its
        own entry of the one envelope; the others skip it after reading its header.
        """
        world = self.world
        return (
            world.broadcast
            and self.info.role == "general-secretariat"
            and len(finals) >= BROADCAST_MIN
            and not world.links.enabled
            and not world.links.outages
            and set(hops) == set(finals)
        )

    def _send_generated(
        self, message: MessageBase, now: Now, to: Sequence[str] | None = None
    ) -> bytes | None:
        try:
            return self._submit(message, now, to)
        except (CertificateError, OutboxFull, ValueError) as exc:
            self.counters["send_failed"] += 1
            self._record(
                Shed,
                now,
                message_id=str(message.message_id),
                message_kind=message.kind,
                reason="send_failed",
                detail=str(exc),
            )
            return None

    def _resend(self, mid: str, now: Now) -> None:
        # The broker is not a ledger (a crash or a full queue can drop what it acknowledged), so
        # the sender keeps every message that needs an acknowledgement and sends it again, to the
        # recipients still missing, until they answer or the attempts run out (loudly).
        item = self.pending.get(mid)
        if item is None or item.due_t > now.t + _EPS:
            return  # acknowledged meanwhile, or re-armed later
        if self._queued[mid]:
            self._at_t(now.t + _REARM_S, ("resend", mid))  # a copy still waits in the outbox
            return
        if item.attempts >= self.max_attempts:
            del self.pending[mid]
            self.counters["shed:unacknowledged"] += 1
            self._record(
                Shed,
                now,
                message_id=mid,
                message_kind=item.kind,
                reason="unacknowledged",
                recipients=tuple(sorted(item.remaining)),
                detail=f"no acknowledgement from {', '.join(sorted(item.remaining))} "
                f"after {item.attempts} resends",
            )
            return
        item.attempts += 1
        item.due_t = now.t + self.resend_after * 2 ** min(item.attempts, _BACKOFF_DOUBLINGS)
        self._at_t(item.due_t, ("resend", mid))
        self.counters["resent"] += 1
        missing = sorted(item.remaining)
        self._record(
            Hop,
            now,
            message_id=mid,
            message_kind=item.kind,
            via="resend",
            attempt=item.attempts,
            recipients=tuple(missing),
            detail=f"resent (attempt {item.attempts}) to {', '.join(missing)}",
        )
        world = self.world
        for hop in next_hops(world.topology, world.roster, self.id, missing, self.id):
            with contextlib.suppress(OutboxFull):  # shed and counted by _queue
                self._queue(
                    Transmission(
                        hop, item.envelope, mid, item.kind, item.priority, now.ns, origin=self.id
                    ),
                    now,
                )

    # --- receiving ----------------------------------------------------------------------------

    def receive(self, topic: str, data: bytes, now: Now, *, retained: bool = False) -> Outputs:
        """Handle one received message; nothing received can raise out of here.

        This is the one boundary of every receive path (inbox, revocation list, and any other
        topic a broker delivers): the paths refuse what they expect to refuse with a typed
        reason; anything else they raise is caught here, counted as ``internal_error`` with the
        exception's type, and recorded.
        """
        inbox = topics.inbox(self.id)
        try:
            if topic == topics.CRL:
                self._on_crl(data, now)
            elif topic == inbox and retained:
                # nothing is ever retained on an inbox: junk that would come back at every
                # subscription; refused, and cleared from the broker
                self._refuse(
                    now,
                    Reason.MALFORMED,
                    "a retained message on this bureau's inbox (cleared)",
                    size=len(data),
                )
                if data:
                    self.counters["inbox_cleared"] += 1
                    self._out.sends.append(Send(topic, b"", retain=True))  # empty: deletes it
            elif topic == inbox and not data:
                # the echo of clearing a retained message (nothing else sends empty messages;
                # counted, never taken for an envelope)
                self.counters["inbox_empty"] += 1
            elif topic == inbox:
                self._on_envelope(data, now)
            elif topic == topics.broadcast("all") and data and not retained:
                self._on_broadcast(data, now)
            else:
                self._refuse(
                    now,
                    Reason.MALFORMED,
                    f"a message on {topic!r}, which this bureau reads nothing on",
                )
            self._drain(now)
        except Exception as exc:  # the boundary: refuse, count, keep serving
            self._refuse(
                now,
                Reason.INTERNAL_ERROR,
                f"{type(exc).__name__} while handling a message on {topic}: {exc}"[:500],
                size=len(data),
            )
        return self._take()

    def _on_crl(self, data: bytes, now: Now) -> None:
        try:
            if self.codec.trust.apply_revocation_list(data):
                self.counters["crl_applied"] += 1
        except CertificateError as exc:
            self._refuse(now, exc.reason, "revocation list: " + exc.detail, size=len(data))

    def _on_broadcast(self, data: bytes, now: Now) -> None:
        """An envelope on the broadcast topic, opened if this bureau is among its recipients.

        Otherwise it is counted and left alone: its header says so before any verification.
        """
        try:
            header = peek(data, self.codec.max_size)
        except Rejection as exc:
            self._refuse(now, exc.reason, "broadcast: " + exc.detail, size=len(data))
            return
        roster = self.world.roster
        if header.sender not in roster or roster.get(header.sender).role != "general-secretariat":
            # only the General Secretariat writes the broadcast topic: whatever a broker's ACL
            # lets through, a member's envelope there is refused, not delivered
            self._refuse(
                now,
                Reason.UNAUTHORIZED_SENDER,
                f"an envelope from {header.sender} on {topics.broadcast('all')}, which only the "
                "General Secretariat writes",
                peer=header.sender,
                message_id=str(header.message_id),
                size=len(data),
            )
            return
        if self.id not in header.recipient_ids:
            self.counters["broadcast_not_mine"] += 1
            return
        self._on_envelope(data, now, relay=False)

    def _on_envelope(self, data: bytes, now: Now, *, relay: bool = True) -> None:
        self._out.work.verified += 1
        try:
            header, opened = self.codec.receive_at(data, now.wall)
            if opened is not None:
                self._out.work.opened += 1
                self._deliver(opened, now)
            others = [r for r in header.recipient_ids if r != self.id]
            relayed = (
                relay
                and self.id in self.world.relays
                and others
                and self._relay(header, others, data, now)
            )
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
                self._acknowledge_again(data, now)
            self._refuse(
                now,
                exc.reason,
                exc.detail,
                peer=exc.sender,
                message_id=exc.message_id,
                size=len(data),
            )

    def _acknowledge_again(self, data: bytes, now: Now) -> None:
        # A verified envelope this bureau already accepted came again: the sender did not get the
        # acknowledgement (or a relay duplicated it). Acknowledge again, with the same id, so the
        # sender can stop. The very same acknowledgement bytes go again where they are still
        # kept, so the sender sees a duplicate, not a second seal of an id it accepted (a replay).
        header = peek(data, self.codec.max_size)
        key = (header.sender, str(header.message_id))
        answered = self.acknowledge or key in self._answered
        if not answered or header.kind in _NO_ACK or self.id not in header.recipient_ids:
            return
        kept = self._acks.get((header.sender, header.message_id))
        if kept is None:
            self._acknowledge(header.message_id, header.sender, "received", now)
            return
        world = self.world
        ack_id = str(world.ids.acknowledgement(header.message_id, self.id, header.sender))
        for hop in next_hops(world.topology, world.roster, self.id, (header.sender,), self.id):
            with contextlib.suppress(OutboxFull):  # shed and counted by _queue
                self._queue(
                    Transmission(
                        hop,
                        kept,
                        ack_id,
                        "acknowledgement",
                        header.priority,
                        now.ns,
                        origin=self.id,
                    ),
                    now,
                )

    def _relay(self, header: Header, finals: list[str], data: bytes, now: Now) -> bool:
        """Pass a verified envelope on towards ``finals``; False when none is reached through here.

        A second copy is usually the sender's resend to recipients that have not acknowledged,
        which must get through: it is passed on again once :attr:`relay_again_after` has passed
        since the last (the recipients tell duplicates apart). Copies closer together are a
        broker's redelivery or a flood; passing each on would multiply it by the fan-out.

        Raises:
            Rejection: ``duplicate``: a copy of this message was passed on moments ago.
        """
        world = self.world
        sender, mid = header.sender, str(header.message_id)
        hops = next_hops(world.topology, world.roster, sender, finals, self.id)
        if not hops:
            return False
        key = (sender, mid)
        last = self._relayed.get(key)
        again = last is not None
        if last is not None:
            since_s = now.t - last
            if since_s < self.relay_again_after:
                raise Rejection(
                    Reason.DUPLICATE,
                    f"a copy was passed on {since_s * 1000:.0f} ms ago: passed on again only "
                    f"after {self.relay_again_after:g} s",
                    sender=sender,
                    message_id=mid,
                )
            self.counters["relayed_again"] += 1
        self._relayed[key] = now.t
        self._relayed.move_to_end(key)
        if len(self._relayed) > _RELAYED_KEPT:
            self._relayed.popitem(last=False)
        for hop, reached in hops.items():
            self.counters["relayed"] += 1
            self._out.work.relayed += 1
            self._record(
                Hop,
                now,
                message_id=mid,
                message_kind=header.kind,
                peer=hop,
                size=len(data),
                via="relay-again" if again else "relay",
                reached=len(reached),
                detail=("blind relay, again, " if again else "blind relay ")
                + f"towards {len(reached)} bureaus",
            )
            self._queue(
                Transmission(hop, data, mid, header.kind, header.priority, now.ns, origin=sender),
                now,
            )
        return True

    def _deliver(self, opened: Opened, now: Now) -> None:
        world = self.world
        message = opened.message
        mid = str(message.message_id)
        route = path(world.topology, world.roster, message.sender, self.id)
        key = trace_key(message.sender, mid)
        sent = world.tracer.sent_ns.get(key)
        latency = (now.ns - sent) / 1e6 if sent is not None else None
        self.counters["delivered"] += 1
        world.in_flight = max(0, world.in_flight - 1)
        self._record(
            Delivered,
            now,
            message_id=mid,
            message_kind=message.kind,
            peer=message.sender,
            route=route,
            latency_ms=latency,
            modelled_ms=world.tracer.modelled_ms(key, route),
            size=opened.size,
            outcome=message.outcome if isinstance(message, SearchResult) else None,
            detail=f"outcome: {message.outcome}" if isinstance(message, SearchResult) else None,
        )
        if self.inbox_limit and message.kind not in _NOT_KEPT:
            self.inbox[mid] = message
            if len(self.inbox) > self.inbox_limit:
                self.inbox.popitem(last=False)
        self._react(message, now)

    def _react(self, message: MessageBase, now: Now) -> None:
        if isinstance(message, Acknowledgement):
            pending = self.pending.get(str(message.refers_to))
            if pending is not None:
                pending.remaining.discard(message.sender)
                if not pending.remaining:
                    del self.pending[str(message.refers_to)]
            self.counters["acknowledged"] += 1
            self._record(
                Acknowledged,
                now,
                message_id=str(message.refers_to),
                peer=message.sender,
                status=message.status,
                detail=message.status,
            )
            return
        if isinstance(message, NoticeRequest) and self.info.role == "general-secretariat":
            if self._lifecycle((message.sender, message.message_id), "request", now):
                delay = self.world.review.delay_s
                if delay > 0:
                    self._at_s(now.s + delay, ("review", message))
                else:
                    self._review(message, now)
        elif isinstance(message, SearchRequest):
            self._answer_search(message, now)
        if self.acknowledge and message.kind not in _NO_ACK:
            self._answer(message, "received", now)

    # --- commands -----------------------------------------------------------------------------

    def answer(self, message: MessageBase, now: Now, status: AckStatus = "received") -> Outputs:
        """Acknowledge a delivered message (for the person playing this bureau)."""
        self._answer(message, status, now)
        self._drain(now)
        return self._take()

    def _answer(self, message: MessageBase, status: AckStatus, now: Now) -> None:
        if not self.acknowledge:
            # so a resent copy is answered again
            self._answered[(message.sender, str(message.message_id))] = None
            if len(self._answered) > _RELAYED_KEPT:
                self._answered.popitem(last=False)
        self._acknowledge(message.message_id, message.sender, status, now)

    def _acknowledge(self, refers_to: UUID, to: str, status: AckStatus, now: Now) -> None:
        envelope = self._send_generated(
            Acknowledgement(
                message_id=self.world.ids.acknowledgement(refers_to, self.id, to),
                sender=self.id,
                recipients=ToBureaus(bureaus=(to,)),
                created_at=now.wall,
                refers_to=refers_to,
                status=status,
            ),
            now,
        )
        if envelope is not None:
            self._acks[(to, refers_to)] = envelope
            if len(self._acks) > _ACKS_KEPT:
                self._acks.popitem(last=False)

    def forward(
        self,
        message_id: str,
        to: Sequence[str],
        new_id: UUID,
        now: Now,
        *,
        permission: bool = False,
        originator: str | None = None,
    ) -> Outputs:
        """Pass a delivered message on to other bureaus, under its caveats.

        The copy keeps the original's kind, content and caveats, and is sent (and signed) by this
        bureau under a new id. Every caveat it breaks is recorded as a ``breach`` event; under the
        ``enforce`` policy such a copy is not sent at all (``Outputs.ok`` is then False).

        Raises:
            NotKept: No such message in this bureau's inbox.
        """
        original = self.inbox.get(message_id)
        if original is None:
            raise NotKept(self.id, message_id)
        breaches = forwarding_breaches(
            original,
            self.id,
            tuple(to),
            originator=originator,
            entitled=self.recipients_of(original),
            permission=permission,
        )
        blocked = bool(breaches) and self.caveats == "enforce"
        for breach in breaches:
            self.counters[f"breach:{breach.rule}"] += 1
            self._record(
                Breach,
                now,
                message_id=message_id,
                message_kind=original.kind,
                peer=breach.originator,
                recipients=breach.to,
                reason=breach.rule,
                blocked=blocked,
                detail=("blocked: " if blocked else "flagged: ") + breach.detail,
            )
        self._out.breaches = list(breaches)
        if blocked:
            self._out.ok = False
            return self._take()
        copy = original.model_copy(
            update={
                "message_id": new_id,
                "sender": self.id,
                "recipients": ToBureaus(bureaus=tuple(to)),
                "created_at": now.wall,
            }
        )
        self._record(
            Hop,
            now,
            message_id=str(new_id),
            message_kind=original.kind,
            peer=original.sender,
            via="forward",
            source=message_id,
            detail=f"forwarded copy of {message_id}",
        )
        self._send_generated(copy, now)
        self._answered_by_action(original, now)
        self._drain(now)
        return self._take()

    def reply(self, message_id: str, reply: MessageBase, now: Now) -> Outputs:
        """Send ``reply`` to a delivered message; for a person playing the bureau, that answers it.

        Raises:
            NotKept: No such message in this bureau's inbox.
        """
        original = self.inbox.get(message_id)
        if original is None:
            raise NotKept(self.id, message_id)
        self._send_generated(reply, now)
        self._answered_by_action(original, now)
        self._drain(now)
        return self._take()

    def _answered_by_action(self, original: MessageBase, now: Now) -> None:
        # A person who replies to a message or passes it on has acted on it: in the protocol's
        # terms that is an acknowledgement with the status `actioned`, so the sender stops
        # resending and the deadline is met. Bureaus that acknowledge by themselves did so on
        # delivery already.
        if not self.acknowledge and original.kind not in _NO_ACK:
            self._answer(original, "actioned", now)

    def cancel_notice(
        self, requester: str, request_id: UUID, message_id: UUID, reason: str, now: Now
    ) -> Outputs:
        """Cancel a notice this bureau (the GS) published, if its lifecycle allows it."""
        key = (requester, request_id)
        entity = self.published_notices.get(key)
        if entity is None or not self._lifecycle(key, "cancel", now):
            self._out.ok = False
            return self._take()
        self._send_generated(
            NoticeCancelled(
                message_id=message_id,
                sender=self.id,
                recipients=ToAll(),
                created_at=now.wall,
                entity_id=entity,
                reason=reason,
            ),
            now,
        )
        self._drain(now)
        return self._take()

    def over_share(self, sender: str, size: int, limit: int, now: Now) -> Outputs:
        """Something from ``sender`` was refused before handling: its lane here is full.

        Counted and recorded like any refusal (``fair_share``); the sender's end-to-end resends
        bring back whatever of it was genuine.
        """
        self._refuse(
            now,
            "fair_share",
            f"{limit} messages of {sender} already wait here: refused until they are handled",
            peer=sender[:64],
            size=size,
        )
        return self._take()

    def rotate(self, identity: BureauIdentity, now: Now, grace: timedelta) -> None:
        """Sign with a new identity from now on (the old key still decrypts for ``grace``)."""
        self.codec.credentials = self.codec.credentials.rotate(identity, now.wall, grace)

    def trust(self, certificate_der: bytes) -> None:
        """Add a certificate (verified against the root) to this bureau's trust store."""
        self.codec.trust.add(certificate_der)

    def publish_revocations(self, crl_der: bytes, now: Now) -> Outputs:
        """Publish a revocation list (retained) on the revocation topic."""
        self._out.sends.append(Send(topics.CRL, crl_der, retain=True))
        self._drain(now)
        return self._take()

    # --- roles --------------------------------------------------------------------------------

    def _review(self, request: NoticeRequest, now: Now) -> None:
        refusal = self.world.review.review(request)
        key = (request.sender, request.message_id)
        if not self._lifecycle(key, "refuse" if refusal else "publish", now):
            return
        ids = self.world.ids
        if refusal is not None:
            self._send_generated(
                NoticeRefused(
                    message_id=ids.refusal(request.message_id, request.sender),
                    sender=self.id,
                    recipients=ToBureaus(bureaus=(request.sender,)),
                    created_at=now.wall,
                    request_id=request.message_id,
                    reason=refusal.reason,
                    detail=refusal.detail,
                ),
                now,
            )
            return
        self._entity_seq += 1
        entity_id = f"{now.wall.year:04d}/{self._entity_seq:05d}"
        self.published_notices[key] = entity_id
        notice = request.notice.model_copy(update={"entity_id": entity_id})
        self._send_generated(
            NoticePublished(
                message_id=ids.publication(request.message_id, request.sender),
                sender=self.id,
                recipients=ToAll(),
                created_at=now.wall,
                notice=notice,
                request_id=request.message_id,
                priority=request.priority,
                handling_code=request.handling_code,
                tlp=request.tlp,
            ),
            now,
        )

    def _lifecycle(self, key: tuple[str, UUID], event: NoticeEvent, now: Now) -> bool:
        """Move a notice through its lifecycle table; an illegal move is refused and counted."""
        requester, request_id = key
        notice = self.notices.setdefault(key, NoticeLifecycle())
        try:
            state = notice.apply(event, round(now.s, 6))
        except IllegalTransition as exc:
            self._refuse(
                now, "illegal_transition", str(exc), message_id=str(request_id), peer=requester
            )
            return False
        self._record(
            Lifecycle,
            now,
            message_id=str(request_id),
            peer=requester,
            transition=event,
            state=str(state),
            detail=f"{event} -> {state}",
        )
        return True

    def _answer_search(self, request: SearchRequest, now: Now) -> None:
        world = self.world
        hits = (
            world.databases.search(request.query) if self.info.role == "general-secretariat" else ()
        )
        self._send_generated(
            SearchResult(
                message_id=world.ids.search_result(request.message_id, request.sender),
                sender=self.id,
                recipients=ToBureaus(bureaus=(request.sender,)),
                created_at=now.wall,
                request_id=request.message_id,
                outcome="hit" if hits else "no-hit",
                hits=hits,
                priority=request.priority,
            ),
            now,
        )
