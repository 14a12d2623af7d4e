"""The bureaus layer's errors: one tree.

::

    BureauError
    ├── NetworkStartError   bureaus did not connect and subscribe in time (each named)
    ├── KeystoreError       a PKI on disk is missing, expired or wrongly signed (each bureau named)
    ├── OutboxFull          an outbox full of urgent and flash traffic refused one more
    ├── NotKept             a bureau keeps no such delivered message (to forward or answer)
    ├── ClockError          a clock speed that cannot be set (also a ValueError)
    └── EventFormatError    a line of events.jsonl that is no event (also a ValueError)

Errors of the layers below pass through as they are: the broker layer's ``BrokerError`` (a
transport that cannot connect or publish) and the protocol's ``ProtocolError`` (a certificate a
message cannot be sealed to). Inputs from the network never raise: they are refused and counted.
"""

from __future__ import annotations

__all__ = ["BureauError", "ClockError", "EventFormatError", "NotKept"]


class BureauError(Exception):
    """Base class of the bureaus layer's errors."""


class NotKept(BureauError):  # noqa: N818 - says what is the matter, as OutboxFull does
    """A bureau keeps no such delivered message (never received, or no longer kept)."""

    def __init__(self, bureau: str, message_id: str) -> None:
        self.bureau = bureau
        self.message_id = message_id
        super().__init__(f"{bureau} keeps no message {message_id}")


class ClockError(BureauError, ValueError):
    """A clock speed that cannot be set: not positive, or a virtual clock's."""


class EventFormatError(BureauError, ValueError):
    """A dictionary (a line of ``events.jsonl``) that is no event: unknown kind or field."""
