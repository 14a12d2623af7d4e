"""The protocol layer's errors: one tree, structured fields, no foreign exceptions.

Every failure that ``protocol`` reports is an instance of :class:`ProtocolError`::

    ProtocolError
    ├── DecodeError          bytes that are not a valid message (a path and reason per issue)
    ├── UnknownKindError     a message kind or document type name that does not exist
    ├── RosterError          a roster data file that is inconsistent or unreadable
    ├── TopicError           a topic string that is not one of bureaunet's, or an unsafe bureau id
    ├── SchemaDiffError      two schema versions with nothing in common to compare
    ├── ArgumentError        an argument a function cannot take (also a ValueError)
    ├── CryptoError          a primitive refused its input (carries a Reason)
    ├── CertificateError     an untrusted certificate or revocation list (Reason + bureau)
    └── Rejection            an envelope refused on opening (Reason, sender, message id)

Every refusal on the security path carries one :class:`Reason` from a closed set; the reason codes
are public API and appear in reports.

pydantic's ``ValidationError`` and ``json`` errors are translated once, in ``codec``, into
:class:`DecodeError`; callers never need to catch anything from pydantic.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "ArgumentError",
    "CertificateError",
    "CryptoError",
    "DecodeError",
    "Issue",
    "ProtocolError",
    "Reason",
    "Rejection",
    "RosterError",
    "SchemaDiffError",
    "TopicError",
    "UnknownKindError",
]


class ProtocolError(Exception):
    """Base class of every error raised by the ``protocol`` package."""


@dataclass(frozen=True, slots=True)
class Issue:
    """One reason a document failed to decode.

    Attributes:
        pointer: JSON pointer (RFC 6901) to the offending value; ``""`` is the whole document.
        reason: Human-readable reason, naming the offending value where there is one.
    """

    pointer: str
    reason: str

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.reason}"


class DecodeError(ProtocolError):
    """Bytes that are not a valid message (or document) of the expected kind.

    Attributes:
        issues: Every problem found, each with a JSON pointer and a reason.
        kind: The kind the bytes were decoded as, or ``None`` for the message union.
    """

    def __init__(self, issues: tuple[Issue, ...], kind: str | None = None) -> None:
        self.issues = issues
        self.kind = kind
        first = str(issues[0]) if issues else "invalid"
        more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
        super().__init__(f"{first}{more}")


class UnknownKindError(ProtocolError):
    """A message kind or document type name that bureaunet does not define.

    Attributes:
        name: The name that was asked for.
        known: The names that exist.
    """

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        self.name = name
        self.known = known
        super().__init__(f"unknown kind {name!r}; known kinds: {', '.join(known)}")


class RosterError(ProtocolError):
    """The roster data is inconsistent (duplicate id, unknown member, bad coordinates)."""


class TopicError(ProtocolError):
    """A topic that is not bureaunet's, or a bureau id that would be unsafe in a topic.

    Attributes:
        topic: The offending topic or id.
    """

    def __init__(self, topic: str, reason: str) -> None:
        self.topic = topic
        super().__init__(f"{topic!r}: {reason}")


class ArgumentError(ProtocolError, ValueError):
    """An argument a function cannot take: the caller's mistake, not the input's.

    A message whose sender is not the sealing bureau, a seal without recipients, an unknown
    topology or schema version, a rotation to another bureau's identity, a synthetic roster size
    out of range. Also a ``ValueError``, which is what such a mistake is in Python.
    """


class SchemaDiffError(ProtocolError):
    """Two schema versions that cannot be compared (one has only schemas, the other only AsyncAPI).

    Attributes:
        old: The first version's label.
        new: The second version's label.
    """

    def __init__(self, old: str, new: str) -> None:
        self.old = old
        self.new = new
        super().__init__(f"{old} and {new} have nothing in common to compare")


class Reason(StrEnum):
    """Why an envelope, key, certificate or revocation list was refused. A closed set."""

    MALFORMED = "malformed"
    """The bytes do not parse as an envelope (bad length, bad field, trailing bytes, too large)."""
    UNSUPPORTED_VERSION = "unsupported_version"
    """Envelope version, algorithm suite or schema major version this code does not speak."""
    UNKNOWN_SENDER = "unknown_sender"
    """No trusted certificate for the claimed sender and key id."""
    BAD_SIGNATURE = "bad_signature"
    """The sender's signature does not cover the received bytes."""
    REVOKED = "revoked"
    """The sender's certificate is on the revocation list."""
    EXPIRED_CERTIFICATE = "expired_certificate"
    """The sender's certificate is not valid at the time of opening."""
    UNTRUSTED_CERTIFICATE = "untrusted_certificate"
    """A certificate or revocation list not signed by the General Secretariat's root."""
    BAD_KEY = "bad_key"
    """A public key that does not parse or is unsafe (an X25519 low-order point)."""
    NOT_A_RECIPIENT = "not_a_recipient"
    """The envelope carries no key for this bureau's current or previous encryption key."""
    REPLAY = "replay"
    """This message id was already accepted, and this copy is not a resend of it: other bytes,
    or outside the resend window."""
    DUPLICATE = "duplicate"
    """A byte-identical copy of a message accepted within its resend window: benign, expected
    under at-least-once delivery (a resend, or a relay's second copy), answered and not acted
    on again."""
    OTHER_RUN = "other_run"
    """An authentic envelope sealed for another run (its signed run identity is not this run's):
    captured in one exercise or simulation and played into another."""
    STALE = "stale"
    """Created too far in the future or past, or already expired."""
    DECRYPT_FAILED = "decrypt_failed"
    """The content key or the content does not authenticate (or mismatches its commitment)."""
    INVALID_PAYLOAD = "invalid_payload"
    """The decrypted content is not a valid message, or disagrees with the signed header."""
    UNAUTHORIZED_SENDER = "unauthorized_sender"
    """The sender's role may not send this kind of message (or to this scope), its certificate
    disagrees with the roster, or the header's recipients are not the roster's or the
    message's own."""
    INTERNAL_ERROR = "internal_error"
    """Handling the input raised something unexpected; the input was refused, counted and
    logged with the exception's type, and the bureau went on serving."""


class CryptoError(ProtocolError):
    """A cryptographic primitive refused its input.

    Attributes:
        reason: The reason code.
    """

    def __init__(self, reason: Reason, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


class CertificateError(ProtocolError):
    """A certificate or revocation list that cannot be trusted.

    Attributes:
        reason: The reason code.
        bureau: The bureau the certificate names, when it could be read.
    """

    def __init__(self, reason: Reason, detail: str, bureau: str | None = None) -> None:
        self.reason = reason
        self.bureau = bureau
        self.detail = detail
        who = f"{bureau}: " if bureau else ""
        super().__init__(f"{who}{reason}: {detail}")


class Rejection(ProtocolError):  # noqa: N818 (the domain's word for a refused envelope)
    """An envelope refused on opening. Every failure to open collapses into this one type.

    Attributes:
        reason: The reason code (part of the public API; reports count by it).
        detail: Human-readable explanation.
        sender: The sender the header claims, when the header could be read.
        message_id: The message id the header claims, when it could be read.
    """

    def __init__(
        self,
        reason: Reason,
        detail: str,
        *,
        sender: str | None = None,
        message_id: str | None = None,
    ) -> None:
        self.reason = reason
        self.detail = detail
        self.sender = sender
        self.message_id = message_id
        super().__init__(f"{reason}: {detail}")
