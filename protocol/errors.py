"""The protocol layer's errors: one tree, structured fields, no foreign exceptions.

Every failure that ``protocol`` reports is an instance of :class:`ProtocolError`::

    ProtocolError
    ├── DecodeError          bytes that are not a valid message (a path and reason per issue)
    ├── UnknownKindError     a message kind or document type name that does not exist
    ├── RosterError          a roster data file that is inconsistent or unreadable
    └── TopicError           a topic string that is not one of bureaunet's, or an unsafe bureau id

pydantic's ``ValidationError`` and ``json`` errors are translated once, in ``codec``, into
:class:`DecodeError`; callers never need to catch anything from pydantic.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DecodeError",
    "Issue",
    "ProtocolError",
    "RosterError",
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
