"""What a driver, a script or a person can ask of a bureau core: one typed value per command.

:meth:`bureaus.core.BureauCore.handle` takes any :data:`Command` with the time and returns the
:class:`~bureaus.core.outputs.Outputs`. A command that can be refused (a forward that breaks
its caveats under ``enforce``, a cancel the lifecycle forbids) says so in ``Outputs.ok``; the
events say why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from bureaus.core.delivery import AckStatus
from bureaus.outbox import Transmission
from protocol import MessageBase
from protocol.security.pki import BureauIdentity

__all__ = [
    "Answer",
    "Cancel",
    "Command",
    "Forward",
    "OverShare",
    "PublishFailed",
    "PublishRevocations",
    "Reply",
    "Restart",
    "Rotate",
    "SetOnline",
    "Submit",
    "Trust",
]


@dataclass(frozen=True, slots=True)
class Submit:
    """Seal a message for its recipients (or ``to``) and queue it for the first hops.

    ``strict``: a message that cannot be sent raises (a script's own send); otherwise the
    failure is recorded as ``shed: send_failed``. ``sealed``: its envelope, sealed elsewhere
    from the core's own seal order (:meth:`BureauCore.seal_order
    <bureaus.core.BureauCore.seal_order>`), taken as the core's seal; ``None``: the core seals.
    """

    message: MessageBase
    to: Sequence[str] | None = None
    strict: bool = False
    sealed: bytes | None = None


@dataclass(frozen=True, slots=True)
class Forward:
    """Pass a delivered message on under a new id, under its caveats."""

    message_id: str
    to: Sequence[str]
    new_id: UUID
    permission: bool = False
    originator: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """Answer a delivered message with a message of one's own."""

    message_id: str
    reply: MessageBase


@dataclass(frozen=True, slots=True)
class Answer:
    """Acknowledge a delivered message (the person playing the bureau)."""

    message: MessageBase
    status: AckStatus = "received"


@dataclass(frozen=True, slots=True)
class Cancel:
    """Cancel a notice this bureau (the GS) published."""

    requester: str
    request_id: UUID
    message_id: UUID
    reason: str


@dataclass(frozen=True, slots=True)
class OverShare:
    """Something from ``sender`` was refused before handling: its lane here is full."""

    sender: str
    size: int
    limit: int


@dataclass(frozen=True, slots=True)
class PublishRevocations:
    """Publish a revocation list (retained)."""

    crl_der: bytes


@dataclass(frozen=True, slots=True)
class SetOnline:
    """The driver's connection came up or went down."""

    online: bool


@dataclass(frozen=True, slots=True)
class PublishFailed:
    """A transmission did not reach the broker."""

    item: Transmission


@dataclass(frozen=True, slots=True)
class Rotate:
    """Sign with a new identity from now on (the old key still decrypts for ``grace``)."""

    identity: BureauIdentity
    grace: timedelta


@dataclass(frozen=True, slots=True)
class Trust:
    """Add a certificate (verified against the root) to the trust store."""

    certificate_der: bytes


@dataclass(frozen=True, slots=True)
class Restart:
    """The bureau's process died and was started again (the driver says so while offline).

    What only the process held is gone: transmissions handed to the connection that the broker
    had not acknowledged. With ``journal``, the core's memory was journaled before each of its
    outputs left and comes back whole. Without, everything the core remembered is gone too: its
    pending messages and their resends, the acknowledgements it gave, what it relayed, the
    General Secretariat's notices, the inbox and the replay window.
    """

    journal: bool


Command = (
    Submit
    | Forward
    | Reply
    | Answer
    | Cancel
    | OverShare
    | PublishRevocations
    | SetOnline
    | PublishFailed
    | Rotate
    | Trust
    | Restart
)
