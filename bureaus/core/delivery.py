"""End-to-end delivery: what a bureau sent and awaits answers for, and the answers it gives.

The broker is not a ledger (a crash or a full queue can drop what it acknowledged), so a sender
keeps every message that needs an acknowledgement and sends it again, to the recipients still
missing, until they answer or the attempts run out (loudly, as a ``shed: unacknowledged``).
A recipient acknowledges what it accepted (by itself, or when the person playing it answers),
and acknowledges again, byte for byte where it still can, when a copy it accepted comes back.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from bureaus.core.link import Link
from bureaus.core.outputs import Emitter, Now
from bureaus.core.timers import EPS, ResendDue, TimerQueue
from bureaus.core.world import World
from bureaus.events import Acknowledged, Hop, Shed
from bureaus.outbox import OutboxFull, Transmission
from protocol import Acknowledgement, MessageBase, ToBureaus
from protocol.network.routing import next_hops
from protocol.security.envelope import Header

__all__ = [
    "BACKOFF_DOUBLINGS",
    "NO_ACK",
    "RESEND_SPAN_S",
    "AckStatus",
    "Delivery",
    "Pending",
    "resend_span",
]

NO_ACK = frozenset(
    {"acknowledgement", "presence", "search-request", "search-result", "notice-refused"}
)
"""Kinds never acknowledged: answers are their own acknowledgement (searches get results,
results and refusals need no reply)."""
AckStatus = Literal["received", "read", "actioned"]
"""What an acknowledgement says of the message it answers."""
ACKS_KEPT = 1_000
"""Acknowledgements a bureau keeps to send again byte for byte (older ones are sealed anew)."""
ANSWERED_KEPT = 100_000
"""Messages a played bureau remembers answering (so a resent copy is answered again)."""
BACKOFF_DOUBLINGS = 7
"""How many times the wait between resends doubles: from 10 s to 640 s (with the default
``resend_after`` of 5 s), then every 640 s."""
REARM_S = 1.0
"""Link seconds before a resend that found a copy still in the outbox looks again."""

SendGenerated = Callable[[MessageBase, Now], "bytes | None"]
"""Seal and queue a message the bureau made itself; ``None`` if it could not be sent."""


def resend_span(resend_after: float = 5.0, max_attempts: int = 10) -> float:
    """Link seconds from a first send to the last resend, if no acknowledgement ever comes."""
    return float(
        sum(resend_after * 2 ** min(n, BACKOFF_DOUBLINGS) for n in range(1, max_attempts + 1))
    )


RESEND_SPAN_S = resend_span()
"""The default resend schedule's span (3,190 s): shorter than a recipient's resend window
(:attr:`protocol.security.replay.ReplayGuard.resend_window`), so every resend is a duplicate."""


@dataclass(slots=True)
class Pending:
    """A message this bureau sent and keeps until every recipient has acknowledged it."""

    envelope: bytes
    kind: str
    priority: str
    remaining: set[str]
    due_t: float
    attempts: int = 0


class Delivery:
    """Acknowledgements and resends of one bureau.

    Args:
        bureau: Whose.
        world: Routing and message ids.
        link: Where transmissions are queued.
        emit: Where events go.
        timers: Where resends are set.
        send: Seals and queues a message the bureau made (its acknowledgements).
        acknowledge: Acknowledge deliveries by itself (``False``: a person plays the bureau).
        resend_after: Link seconds before the first resend (0: no resends).
        max_attempts: Resends before giving up.
    """

    def __init__(
        self,
        bureau: str,
        world: World,
        link: Link,
        emit: Emitter,
        timers: TimerQueue,
        *,
        send: SendGenerated,
        acknowledge: bool,
        resend_after: float,
        max_attempts: int,
    ) -> None:
        self.bureau = bureau
        self.world = world
        self.acknowledge = acknowledge
        self.resend_after = resend_after
        self.max_attempts = max_attempts
        self.pending: dict[str, Pending] = {}
        """Sent messages not yet acknowledged by every recipient: the end-to-end guarantee."""
        self._link = link
        self._emit = emit
        self._timers = timers
        self._send = send
        # every table names a message by its sender and id: ids are reproducible, and another
        # member can seal under one
        self._acks: OrderedDict[tuple[str, UUID], bytes] = OrderedDict()
        self._answered: OrderedDict[tuple[str, str], None] = OrderedDict()

    def forget(self) -> None:
        """A restart without a journal: nothing pending, no acknowledgement kept."""
        self.pending.clear()
        self._acks.clear()
        self._answered.clear()

    # --- as a sender --------------------------------------------------------------------------

    def track(
        self, message: MessageBase, envelope: bytes, finals: tuple[str, ...], now: Now
    ) -> None:
        """Keep a message just sent until its recipients acknowledge it (if it needs that)."""
        if message.kind in NO_ACK or self.resend_after <= 0:
            return
        mid = str(message.message_id)
        due = now.t + self.resend_after
        self.pending[mid] = Pending(envelope, message.kind, message.priority, set(finals), due)
        self._timers.at(due, ResendDue(mid))

    def acknowledged(self, ack: Acknowledgement, now: Now) -> None:
        """An acknowledgement came: its sender is no longer awaited."""
        pending = self.pending.get(str(ack.refers_to))
        if pending is not None:
            pending.remaining.discard(ack.sender)
            if not pending.remaining:
                del self.pending[str(ack.refers_to)]
        self._emit.record(
            Acknowledged,
            now,
            message_id=str(ack.refers_to),
            peer=ack.sender,
            status=ack.status,
            detail=ack.status,
        )

    def resend(self, mid: str, now: Now) -> None:
        """A resend timer fired: send again to whoever has not acknowledged, or give up."""
        item = self.pending.get(mid)
        if item is None or item.due_t > now.t + EPS:
            return  # acknowledged meanwhile, or re-armed later
        if self._link.waiting(mid):
            self._timers.at(now.t + REARM_S, ResendDue(mid))  # a copy still waits in the outbox
            return
        if item.attempts >= self.max_attempts:
            self._give_up(mid, item, now)
            return
        item.attempts += 1
        item.due_t = now.t + self.resend_after * 2 ** min(item.attempts, BACKOFF_DOUBLINGS)
        self._timers.at(item.due_t, ResendDue(mid))
        missing = sorted(item.remaining)
        self._emit.record(
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
        for hop in next_hops(world.topology, world.roster, self.bureau, missing, self.bureau):
            self._queue(now, hop, item.envelope, mid, kind=item.kind, priority=item.priority)

    def _give_up(self, mid: str, item: Pending, now: Now) -> None:
        del self.pending[mid]
        missing = sorted(item.remaining)
        self._emit.record(
            Shed,
            now,
            message_id=mid,
            message_kind=item.kind,
            reason="unacknowledged",
            recipients=tuple(missing),
            detail=f"no acknowledgement from {', '.join(missing)} after {item.attempts} resends",
        )

    def _queue(
        self, now: Now, hop: str, envelope: bytes, mid: str, *, kind: str, priority: str
    ) -> None:
        with contextlib.suppress(OutboxFull):  # shed and counted by the link
            self._link.queue(
                Transmission(hop, envelope, mid, kind, priority, now.ns, origin=self.bureau), now
            )

    # --- as a recipient -----------------------------------------------------------------------

    def delivered(self, message: MessageBase, now: Now) -> None:
        """A message was delivered here: acknowledge it, unless a person plays this bureau."""
        if self.acknowledge and message.kind not in NO_ACK:
            self.answer(message, "received", now)

    def answer(self, message: MessageBase, status: AckStatus, now: Now) -> None:
        """Acknowledge ``message`` with ``status``."""
        if not self.acknowledge:
            # so a resent copy is answered again
            self._answered[(message.sender, str(message.message_id))] = None
            if len(self._answered) > ANSWERED_KEPT:
                self._answered.popitem(last=False)
        self._acknowledge(message.message_id, message.sender, status, now)

    def acted_on(self, original: MessageBase, now: Now) -> None:
        """A person replied to ``original`` or passed it on: that answers it (``actioned``).

        The sender stops resending and the deadline is met. Bureaus that acknowledge by
        themselves did so on delivery already.
        """
        if not self.acknowledge and original.kind not in NO_ACK:
            self.answer(original, "actioned", now)

    def again(self, header: Header, now: Now) -> None:
        """A verified envelope this bureau already accepted came again: acknowledge again.

        The sender did not get the acknowledgement (or a relay duplicated it). The very same
        acknowledgement bytes go again where they are still kept, so the sender sees a
        duplicate, not a second seal of an id it accepted (a replay).
        """
        key = (header.sender, str(header.message_id))
        answered = self.acknowledge or key in self._answered
        if not answered or header.kind in NO_ACK or self.bureau not in header.recipient_ids:
            return
        kept = self._acks.get((header.sender, header.message_id))
        if kept is None:
            self._acknowledge(header.message_id, header.sender, "received", now)
            return
        world = self.world
        ack_id = str(world.ids.acknowledgement(header.message_id, self.bureau, header.sender))
        here = self.bureau
        for hop in next_hops(world.topology, world.roster, here, (header.sender,), here):
            self._queue(now, hop, kept, ack_id, kind="acknowledgement", priority=header.priority)

    def _acknowledge(self, refers_to: UUID, to: str, status: AckStatus, now: Now) -> None:
        envelope = self._send(
            Acknowledgement(
                message_id=self.world.ids.acknowledgement(refers_to, self.bureau, to),
                sender=self.bureau,
                recipients=ToBureaus(bureaus=(to,)),
                created_at=now.wall,
                refers_to=refers_to,
                status=status,
            ),
            now,
        )
        if envelope is not None:
            self._acks[(to, refers_to)] = envelope
            if len(self._acks) > ACKS_KEPT:
                self._acks.popitem(last=False)
