"""What a bureau does with bytes a broker delivers: every receive path behind one boundary.

An inbox envelope is verified and opened (if this bureau is a recipient) or passed on (if it
relays for the recipients); the revocation topic's list is applied; the broadcast topic's
envelope is opened only if this bureau is among its recipients, and only if the General
Secretariat sealed it. Whatever arrives anywhere else, or fails in a way no path expects, is
refused with a reason and counted: nothing received raises out of :meth:`Receiving.receive`.
"""

from __future__ import annotations

from collections import OrderedDict

from bureaus.core.delivery import Delivery
from bureaus.core.link import Link
from bureaus.core.outputs import Emitter, Now, Send
from bureaus.core.relay import Relay
from bureaus.core.role import Role
from bureaus.core.world import World
from bureaus.events import Delivered
from protocol import Acknowledgement, MessageBase, SearchResult, topics
from protocol.errors import CertificateError, Reason, Rejection
from protocol.network.routing import path
from protocol.security.envelope import EnvelopeCodec, Header, Opened, peek

__all__ = ["NOT_KEPT", "Receiving"]

NOT_KEPT = frozenset({"acknowledgement", "presence"})
"""Kinds not kept in a bureau's inbox (nothing to read, forward or answer)."""


class Receiving:
    """The receive paths of one bureau, and the inbox of what was delivered.

    Args:
        bureau: Whose.
        codec: Opens and verifies envelopes.
        world: The roster (who may write the broadcast topic) and routing.
        emit: Where events go.
        parts: The link (drained after each input), the relay, delivery and the role.
    """

    def __init__(
        self,
        bureau: str,
        codec: EnvelopeCodec,
        world: World,
        emit: Emitter,
        *,
        link: Link,
        relay: Relay,
        delivery: Delivery,
        role: Role,
    ) -> None:
        self.id = bureau
        self.codec = codec
        self.world = world
        self.inbox: OrderedDict[str, MessageBase] = OrderedDict()
        """The latest delivered messages, by id (acknowledgements and presence left out)."""
        self.inbox_limit = 0
        """Delivered messages kept for forwarding and players (0: none)."""
        self._emit = emit
        self._link = link
        self._relay = relay
        self._delivery = delivery
        self._role = role

    def forget(self) -> None:
        """A restart without a journal: the inbox and the replay window are gone."""
        self.inbox.clear()
        self.codec.replay.forget()

    def receive(self, topic: str, data: bytes, now: Now, *, retained: bool = False) -> None:
        """Handle one received message; nothing received can raise out of here.

        This is the one boundary of every receive path (inbox, revocation list, and any other
        topic a broker delivers): the paths refuse what they expect to refuse with a typed
        reason; anything else they raise is caught here, counted as ``internal_error`` with the
        exception's type, and recorded.
        """
        try:
            self._route(topic, data, now, retained)
            self._link.drain(now)
        except Exception as exc:  # the boundary: refuse, count, keep serving
            self._emit.refuse(
                now,
                Reason.INTERNAL_ERROR,
                f"{type(exc).__name__} while handling a message on {topic}: {exc}"[:500],
                size=len(data),
            )

    def _route(self, topic: str, data: bytes, now: Now, retained: bool) -> None:
        if topic == topics.CRL:
            self._on_crl(data, now)
        elif topic == topics.inbox(self.id):
            self._on_inbox(topic, data, now, retained)
        elif topic == topics.broadcast("all") and data and not retained:
            self._on_broadcast(data, now)
        else:
            self._emit.refuse(
                now, Reason.MALFORMED, f"a message on {topic!r}, which this bureau reads nothing on"
            )

    def _on_inbox(self, topic: str, data: bytes, now: Now, retained: bool) -> None:
        if retained:
            # nothing is ever retained on an inbox: junk that would come back at every
            # subscription; refused, and cleared from the broker
            self._emit.refuse(
                now,
                Reason.MALFORMED,
                "a retained message on this bureau's inbox (cleared)",
                size=len(data),
            )
            if data:
                self._emit.tally("inbox_cleared")
                self._emit.send(Send(topic, b"", retain=True))  # empty: deletes it
        elif not data:
            # the echo of clearing a retained message (nothing else sends empty messages;
            # counted, never taken for an envelope)
            self._emit.tally("inbox_empty")
        else:
            self._on_envelope(data, now)

    def _on_crl(self, data: bytes, now: Now) -> None:
        try:
            if self.codec.trust.apply_revocation_list(data):
                self._emit.tally("crl_applied")
        except CertificateError as exc:
            self._emit.refuse(now, exc.reason, "revocation list: " + exc.detail, size=len(data))

    def _on_broadcast(self, data: bytes, now: Now) -> None:
        """An envelope on the broadcast topic, opened if this bureau is among its recipients.

        Otherwise it is counted and left alone: its header says so before any verification.
        """
        try:
            header = peek(data, self.codec.max_size, self.codec.suite)
        except Rejection as exc:
            self._emit.refuse(now, exc.reason, "broadcast: " + exc.detail, size=len(data))
            return
        roster = self.world.roster
        if header.sender not in roster or roster.get(header.sender).role != "general-secretariat":
            # only the General Secretariat writes the broadcast topic: whatever a broker's ACL
            # lets through, a member's envelope there is refused, not delivered
            self._emit.refuse(
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
            self._emit.tally("broadcast_not_mine")
            return
        self._on_envelope(data, now, relay=False)

    def _on_envelope(self, data: bytes, now: Now, *, relay: bool = True) -> None:
        self._emit.out.work.verified += 1
        try:
            self._open_or_pass_on(data, now, relay)
        except Rejection as exc:
            if exc.reason is Reason.DUPLICATE:
                self._delivery.again(peek(data, self.codec.max_size, self.codec.suite), now)
            self._emit.refuse(
                now,
                exc.reason,
                exc.detail,
                peer=exc.sender,
                message_id=exc.message_id,
                size=len(data),
            )

    def _open_or_pass_on(self, data: bytes, now: Now, relay: bool) -> None:
        header, opened = self.codec.receive_at(data, now.wall)
        if opened is not None:
            self._emit.out.work.opened += 1
            self._deliver(opened, now)
        others = [r for r in header.recipient_ids if r != self.id]
        relayed = relay and self._relay.pass_on(header, others, data, now)
        if opened is None and not relayed:
            # verified, but neither for this bureau nor on its way through it
            raise self._not_mine(header, others)

    def _not_mine(self, header: Header, others: list[str]) -> Rejection:
        return Rejection(
            Reason.NOT_A_RECIPIENT,
            f"addressed to {', '.join(others[:5])}, and {self.id} relays none of it",
            sender=header.sender,
            message_id=str(header.message_id),
        )

    def _deliver(self, opened: Opened, now: Now) -> None:
        world = self.world
        message = opened.message
        mid = str(message.message_id)
        route = path(world.topology, world.roster, message.sender, self.id)
        outcome = message.outcome if isinstance(message, SearchResult) else None
        self._emit.record(
            Delivered,
            now,
            message_id=mid,
            message_kind=message.kind,
            peer=message.sender,
            route=route,
            size=opened.size,
            outcome=outcome,
            detail=f"outcome: {outcome}" if outcome is not None else None,
        )
        if self.inbox_limit and message.kind not in NOT_KEPT:
            self.inbox[mid] = message
            if len(self.inbox) > self.inbox_limit:
                self.inbox.popitem(last=False)
        if isinstance(message, Acknowledgement):
            self._delivery.acknowledged(message, now)
            return
        self._role.received(message, now)
        self._delivery.delivered(message, now)
