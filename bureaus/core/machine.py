"""One bureau core: the composed parts, the receive paths, sealing, and the command entry point.

The parts (each in its own module, each owning its state):

- :class:`~bureaus.core.link.Link`: the outbox and the link model;
- :class:`~bureaus.core.delivery.Delivery`: acknowledgements and resends;
- :class:`~bureaus.core.relay.Relay`: blind relaying;
- :class:`~bureaus.core.role.Role`: what the bureau's role does with what it receives;
- :class:`~bureaus.core.receiving.Receiving`: the receive paths and the inbox;
- :class:`~bureaus.core.timers.TimerQueue`: typed timers;
- :class:`~bureaus.core.outputs.Emitter`: the outputs of the input being handled, and the
  counters, derived from the events.

The core itself seals what it sends, and routes inputs to the parts.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

import bureaus.core.commands as c
from bureaus.core.delivery import AckStatus, Delivery, Pending
from bureaus.core.link import Link
from bureaus.core.outputs import Emitter, Now, Outputs, Send
from bureaus.core.receiving import Receiving
from bureaus.core.relay import Relay
from bureaus.core.role import role_for
from bureaus.core.timers import LossTimeout, OutageOver, ResendDue, ReviewDue, TimerQueue
from bureaus.core.world import BROADCAST, World
from bureaus.errors import NotKept
from bureaus.events import Breach, Hop, Sent, Shed
from bureaus.outbox import Outbox, OutboxFull, Transmission
from protocol import BureauInfo, MessageBase, ToBureaus, topics
from protocol.errors import CertificateError
from protocol.messages.authority import resolve_recipients
from protocol.messages.caveats import CaveatPolicy, forwarding_breaches
from protocol.messages.lifecycle import NoticeLifecycle
from protocol.network.routing import next_hops
from protocol.schemas.versions import written_as
from protocol.security.envelope import EnvelopeCodec, SealOrder
from protocol.security.pki import BureauIdentity

__all__ = ["BureauCore"]

To = Sequence[str] | None


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
            minutes (:data:`~bureaus.core.delivery.RESEND_SPAN_S`), within the recipients'
            resend window: a sender keeps trying through an outage the broker forgets, and every
            copy it sends is still taken for a duplicate, answered again.
        inbox_limit: Delivered messages kept for forwarding and players (0: none).
        caveats: ``enforce`` (a forward that breaks its caveats is not sent) or ``flag``.
    """

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
        self.caveats: CaveatPolicy = caveats
        self.emit = Emitter(self.id)
        self.timers = TimerQueue()
        self.link = Link(self.id, world, outbox_limit, self.emit, self.timers)
        self.delivery = Delivery(
            self.id,
            world,
            self.link,
            self.emit,
            self.timers,
            send=self._send_generated,
            acknowledge=acknowledge,
            resend_after=resend_after,
            max_attempts=max_attempts,
        )
        self.relay = Relay(self.id, world, self.link, self.emit, again_after=1.0)
        self.role = role_for(info, world, self.emit, self.timers, self._send_generated)
        self.receiving = Receiving(
            self.id,
            codec,
            world,
            self.emit,
            link=self.link,
            relay=self.relay,
            delivery=self.delivery,
            role=self.role,
        )
        self.receiving.inbox_limit = inbox_limit
        self._commands: dict[type[Any], Callable[[Any, Now], None]] = {
            c.Submit: self._on_submit,
            c.Forward: self._on_forward,
            c.Reply: self._on_reply,
            c.Answer: self._on_answer,
            c.Cancel: self._on_cancel,
            c.OverShare: self._on_over_share,
            c.PublishRevocations: self._on_publish_revocations,
            c.SetOnline: self._on_set_online,
            c.PublishFailed: self._on_publish_failed,
            c.Rotate: self._on_rotate,
            c.Trust: self._on_trust,
            c.Restart: self._on_restart,
        }

    # --- what the parts own, as the drivers and tests read it ---------------------------------

    @property
    def counters(self) -> Counter[str]:
        """Counts by name, derived from the events recorded, and the tallies with no event.

        See :func:`~bureaus.core.outputs.counter_of`.
        """
        return self.emit.counters

    @property
    def inbox(self) -> OrderedDict[str, MessageBase]:
        """The latest delivered messages, by id (acknowledgements and presence left out)."""
        return self.receiving.inbox

    @property
    def inbox_limit(self) -> int:
        """Delivered messages kept for forwarding and players (0: none)."""
        return self.receiving.inbox_limit

    @inbox_limit.setter
    def inbox_limit(self, value: int) -> None:
        self.receiving.inbox_limit = value

    @property
    def outbox(self) -> Outbox:
        """The outbox (the link's)."""
        return self.link.outbox

    @property
    def online(self) -> bool:
        """Whether the driver can publish now."""
        return self.link.online

    @property
    def pending(self) -> dict[str, Pending]:
        """Sent messages awaiting acknowledgements."""
        return self.delivery.pending

    @property
    def acknowledge(self) -> bool:
        """Whether the bureau acknowledges by itself (not played)."""
        return self.delivery.acknowledge

    @acknowledge.setter
    def acknowledge(self, value: bool) -> None:
        self.delivery.acknowledge = value

    @property
    def resend_after(self) -> float:
        """Link seconds before the first resend."""
        return self.delivery.resend_after

    @resend_after.setter
    def resend_after(self, value: float) -> None:
        self.delivery.resend_after = value

    @property
    def relay_again_after(self) -> float:
        """Link seconds before a relay passes another copy of the same message on."""
        return self.relay.again_after

    @relay_again_after.setter
    def relay_again_after(self, seconds: float) -> None:
        self.relay.again_after = seconds

    @property
    def notices(self) -> dict[tuple[str, UUID], NoticeLifecycle]:
        """Notice lifecycles (the General Secretariat's)."""
        return self.role.notices

    @property
    def published_notices(self) -> dict[tuple[str, UUID], str]:
        """Published notices to entity ids (the General Secretariat's)."""
        return self.role.published_notices

    def queued_ids(self) -> list[str]:
        """Messages with a transmission the broker has not acknowledged yet."""
        return self.link.queued_ids()

    def recipients_of(self, message: MessageBase) -> tuple[str, ...]:
        """The final recipients of a message, expanded against the roster (this bureau left out)."""
        return resolve_recipients(message.recipients, self.id, self.world.roster)

    # --- the one entry point for commands -----------------------------------------------------

    def handle(self, command: c.Command, now: Now) -> Outputs:
        """Carry out a command now; the outbox drains after it.

        Raises:
            NotKept: A forward or reply names a message not in this bureau's inbox.
            CertificateError, OutboxFull, ValueError: A strict submit could not be sent.
        """
        self._commands[type(command)](command, now)
        self.link.drain(now)
        return self.emit.take()

    def _on_submit(self, command: c.Submit, now: Now) -> None:
        if command.strict:
            self._seal_and_queue(command.message, now, command.to, command.sealed)
        else:
            self._send_generated(command.message, now, command.to, command.sealed)

    def _on_forward(self, command: c.Forward, now: Now) -> None:
        original = self._kept(command.message_id)
        to = tuple(command.to)
        breaches = forwarding_breaches(
            original,
            self.id,
            to,
            originator=command.originator,
            entitled=self.recipients_of(original),
            permission=command.permission,
        )
        blocked = bool(breaches) and self.caveats == "enforce"
        for breach in breaches:
            self.emit.record(
                Breach,
                now,
                message_id=command.message_id,
                message_kind=original.kind,
                peer=breach.originator,
                recipients=breach.to,
                reason=breach.rule,
                blocked=blocked,
                detail=("blocked: " if blocked else "flagged: ") + breach.detail,
            )
        self.emit.out.breaches = list(breaches)
        if blocked:
            self.emit.out.ok = False
            return
        copy = original.model_copy(
            update={
                "message_id": command.new_id,
                "sender": self.id,
                "recipients": ToBureaus(bureaus=to),
                "created_at": now.wall,
            }
        )
        self.emit.record(
            Hop,
            now,
            message_id=str(command.new_id),
            message_kind=original.kind,
            peer=original.sender,
            via="forward",
            source=command.message_id,
            detail=f"forwarded copy of {command.message_id}",
        )
        self._send_generated(copy, now)
        self.delivery.acted_on(original, now)

    def _on_reply(self, command: c.Reply, now: Now) -> None:
        original = self._kept(command.message_id)
        self._send_generated(command.reply, now)
        self.delivery.acted_on(original, now)

    def _on_answer(self, command: c.Answer, now: Now) -> None:
        self.delivery.answer(command.message, command.status, now)

    def _on_cancel(self, command: c.Cancel, now: Now) -> None:
        key = (command.requester, command.request_id)
        self.emit.out.ok = self.role.cancel(key, command.message_id, command.reason, now)

    def _on_over_share(self, command: c.OverShare, now: Now) -> None:
        self.emit.refuse(
            now,
            "fair_share",
            f"{command.limit} messages of {command.sender} already wait here: refused until "
            "they are handled",
            peer=command.sender[:64],
            size=command.size,
        )

    def _on_publish_revocations(self, command: c.PublishRevocations, now: Now) -> None:
        self.emit.send(Send(topics.CRL, command.crl_der, retain=True))

    def _on_set_online(self, command: c.SetOnline, now: Now) -> None:
        self.link.online = command.online

    def _on_publish_failed(self, command: c.PublishFailed, now: Now) -> None:
        self.link.failed(command.item, now)

    def _on_rotate(self, command: c.Rotate, now: Now) -> None:
        self.codec.credentials = self.codec.credentials.rotate(
            command.identity, now.wall, command.grace
        )

    def _on_trust(self, command: c.Trust, now: Now) -> None:
        self.trust(command.certificate_der)

    def _on_restart(self, command: c.Restart, now: Now) -> None:
        self.link.restart(journal=command.journal)
        if not command.journal:
            self.delivery.forget()
            self.relay.forget()
            self.role.forget()
            self.receiving.forget()
            self.timers.clear()
        self.emit.tally("restarts" if command.journal else "restarts_without_journal")

    def _kept(self, message_id: str) -> MessageBase:
        original = self.inbox.get(message_id)
        if original is None:
            raise NotKept(self.id, message_id)
        return original

    # --- the commands by name (each one :class:`~bureaus.core.commands.Command`) ---------------

    def submit(self, message: MessageBase, now: Now, to: Sequence[str] | None = None) -> Outputs:
        """Seal a message and queue it; raises what stops it (see :meth:`handle`)."""
        return self.handle(c.Submit(message, to, strict=True), now)

    def send(self, message: MessageBase, now: Now, to: Sequence[str] | None = None) -> Outputs:
        """Submit, and record a failure to send as a ``shed: send_failed`` event, never raising."""
        return self.handle(c.Submit(message, to), now)

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
        """
        return self.handle(c.Forward(message_id, to, new_id, permission, originator), now)

    def reply(self, message_id: str, reply: MessageBase, now: Now) -> Outputs:
        """Send ``reply`` to a delivered message (for a person playing the bureau: an answer)."""
        return self.handle(c.Reply(message_id, reply), now)

    def answer(self, message: MessageBase, now: Now, status: AckStatus = "received") -> Outputs:
        """Acknowledge a delivered message (for the person playing this bureau)."""
        return self.handle(c.Answer(message, status), now)

    def cancel_notice(
        self, requester: str, request_id: UUID, message_id: UUID, reason: str, now: Now
    ) -> Outputs:
        """Cancel a notice this bureau (the GS) published, if its lifecycle allows it."""
        return self.handle(c.Cancel(requester, request_id, message_id, reason), now)

    def over_share(self, sender: str, size: int, limit: int, now: Now) -> Outputs:
        """Refuse (``fair_share``) what ``sender`` sent beyond its lane here."""
        return self.handle(c.OverShare(sender, size, limit), now)

    def publish_revocations(self, crl_der: bytes, now: Now) -> Outputs:
        """Publish a revocation list (retained) on the revocation topic."""
        return self.handle(c.PublishRevocations(crl_der), now)

    def set_online(self, online: bool, now: Now) -> Outputs:
        """The driver's connection came up (the outbox drains) or went down (it holds)."""
        return self.handle(c.SetOnline(online), now)

    def publish_failed(self, item: Transmission, now: Now) -> Outputs:
        """A transmission did not reach the broker: it goes back to the front of the outbox."""
        return self.handle(c.PublishFailed(item), now)

    def rotate(self, identity: BureauIdentity, now: Now, grace: timedelta) -> None:
        """Sign with a new identity from now on (the old key still decrypts for ``grace``)."""
        self.handle(c.Rotate(identity, grace), now)

    def trust(self, certificate_der: bytes) -> None:
        """Add a certificate (verified against the root) to this bureau's trust store."""
        self.codec.trust.add(certificate_der)

    def published(self, item: Transmission) -> None:
        """The broker acknowledged a transmission (PUBACK)."""
        self.link.published(item)

    # --- timers -------------------------------------------------------------------------------

    def next_timer(self) -> tuple[float | None, float | None]:
        """When the core next needs waking: (scenario seconds, link seconds), ``None`` for none."""
        return self.timers.next()

    def handle_timer(self, now: Now) -> Outputs:
        """Do what is due by ``now``: reviews, outage ends, lost transmissions, resends."""
        for timer in self.timers.due(now):
            match timer:
                case ReviewDue(request):
                    self.role.reviewed(request, now)
                case ResendDue(message_id):
                    self.delivery.resend(message_id, now)
                case OutageOver(item) | LossTimeout(item):
                    self.link.queue(item, now, front=True, again=True)
        self.link.drain(now)
        return self.emit.take()

    # --- sealing ------------------------------------------------------------------------------

    def seal_order(
        self, message: MessageBase, now: Now, to: To = None
    ) -> tuple[c.Submit, SealOrder]:
        """A submit of ``message`` and its seal order, to seal it elsewhere before submitting.

        Raises:
            CertificateError, ValueError: As a strict submit would (nothing is sent).
        """
        finals = tuple(to) if to is not None else self.recipients_of(message)
        message = written_as(message, self.codec.schema_version)
        return c.Submit(message, finals), self.codec.seal_order_at(message, now.wall, to=finals)

    def _seal_and_queue(
        self, message: MessageBase, now: Now, to: To = None, sealed: bytes | None = None
    ) -> bytes:
        world = self.world
        finals = tuple(to) if to is not None else self.recipients_of(message)
        message = written_as(message, self.codec.schema_version)
        envelope = sealed or self.codec.seal_at(message, now.wall, to=finals)
        work = self.emit.out.work
        work.sealed += 1
        work.wrapped += len(finals)
        mid = str(message.message_id)
        self.emit.record(
            Sent,
            now,
            message_id=mid,
            message_kind=message.kind,
            size=len(envelope),
            recipients=finals,
        )
        self.delivery.track(message, envelope, finals, now)
        hops = next_hops(world.topology, world.roster, self.id, finals, self.id)
        for hop in (BROADCAST,) if self.role.broadcasts(hops, finals) else hops:
            self.link.queue(
                Transmission(
                    hop, envelope, mid, message.kind, message.priority, now.ns, origin=self.id
                ),
                now,
            )
        self.emit.out.envelope = envelope
        return envelope

    def _send_generated(
        self, message: MessageBase, now: Now, to: To = None, sealed: bytes | None = None
    ) -> bytes | None:
        try:
            return self._seal_and_queue(message, now, to, sealed)
        except (CertificateError, OutboxFull, ValueError) as exc:
            self.emit.record(
                Shed,
                now,
                message_id=str(message.message_id),
                message_kind=message.kind,
                reason="send_failed",
                detail=str(exc),
            )
            return None

    # --- receiving ----------------------------------------------------------------------------

    def receive(self, topic: str, data: bytes, now: Now, *, retained: bool = False) -> Outputs:
        """Handle one received message; nothing received raises out of here.

        See :meth:`bureaus.core.receiving.Receiving.receive`.
        """
        self.receiving.receive(topic, data, now, retained=retained)
        return self.emit.take()
