"""Store and forward: a bounded queue of outgoing transmissions that never sheds silently.

When the queue is full, the oldest *routine* transmission is shed to make room, and the shedding
is reported to the caller (who counts it). Urgent and flash transmissions are never shed to make
room: if the queue holds nothing routine, the new transmission is refused with
:class:`OutboxFull`, loudly.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from bureaus.errors import BureauError

__all__ = ["Outbox", "OutboxFull", "Transmission"]


@dataclass(slots=True)
class Transmission:
    """One envelope on its way to one next hop.

    Attributes:
        next_hop: The bureau whose inbox it goes to.
        envelope: The sealed bytes.
        message_id: The message it carries.
        kind: Its kind.
        priority: Its priority.
        queued_ns: When it entered the outbox.
        attempt: How many times transmission was tried.
        origin: The bureau that sealed the envelope (a message is its sender's id; a relay
            passes on others' messages).
    """

    next_hop: str
    envelope: bytes
    message_id: str
    kind: str
    priority: str
    queued_ns: int
    attempt: int = 0
    origin: str = ""


class OutboxFull(BureauError):  # noqa: N818 - the queue's own word
    """The outbox is full of urgent or flash traffic; nothing could be shed for this one."""


class Outbox:
    """A bounded FIFO of transmissions with shedding of the oldest routine ones."""

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self._items: deque[Transmission] = deque()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: Transmission, *, front: bool = False) -> Transmission | None:
        """Queue a transmission.

        Returns:
            The routine transmission shed to make room, if one was.

        Raises:
            OutboxFull: Full, and nothing routine to shed.
        """
        shed = None
        if len(self._items) >= self.limit:
            shed = next((t for t in self._items if t.priority == "routine"), None)
            if shed is None:
                raise OutboxFull(f"outbox full ({self.limit}) of urgent and flash traffic")
            self._items.remove(shed)
        if front:
            self._items.appendleft(item)
        else:
            self._items.append(item)
        return shed

    def pop(self) -> Transmission | None:
        """The oldest queued transmission, taken off the queue (``None`` when empty)."""
        return self._items.popleft() if self._items else None
