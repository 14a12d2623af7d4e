"""Fair sharing of a bureau's work between the bureaus that send to it.

A hub passes on every member's traffic. Served in arrival order, one member that sends
thousands of valid envelopes puts every other member's messages behind its own (measured: a
pair's messages through the hub took 7.2 s instead of 0.02 s). So what a bureau receives waits in
one lane per sender, and the lanes are served in turn: a message waits behind at most one
message of each other sender that has something waiting, however much any one of them sent.

Each lane is bounded. What a sender sends beyond its lane's bound is refused at once and counted
(``rejected: fair_share``); end-to-end acknowledgement and resend bring back whatever of it was
genuine, once the sender's lane has room again.

Pure: no I/O, no clock; the driver (:mod:`bureaus.node`) puts what its connection reads and takes
what the core is to handle next.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Hashable
from typing import Generic, TypeVar

from protocol.network import topics
from protocol.security.envelope import RUN_ID_SIZE, VERSION

__all__ = ["FairQueue", "lane_of"]

T = TypeVar("T")

_SENDER_AT = 2 + 4 + 16 + RUN_ID_SIZE + 1 + 1 + 2 + 8 + 8
"""Where the sender's length byte stands in an envelope: after version, suite, header length,
message id, run, kind, priority, schema version and the two times (see the envelope's layout)."""
_HEADER_LEN = struct.Struct(">I")


def lane_of(topic: str, payload: bytes) -> str:
    """The lane a received message waits in: its claimed sender, or its topic.

    The sender is read from the envelope's header without verifying anything (a few bytes at a
    fixed place); a forger can claim another's lane, but then only shares that lane's turn,
    and its envelopes are refused when they are handled. What is not an envelope of this
    version on an inbox waits in the lane of its topic.
    """
    if not topic.startswith(topics.PREFIX + "/inbox/") or len(payload) <= _SENDER_AT:
        return topic
    if payload[0] != VERSION:
        return topic
    size = payload[_SENDER_AT]
    if size == 0 or len(payload) < _SENDER_AT + 1 + size:
        return topic
    return payload[_SENDER_AT + 1 : _SENDER_AT + 1 + size].decode("ascii", "replace")


class FairQueue(Generic[T]):
    """Bounded lanes served in turn (round robin), first in first out within a lane.

    Args:
        lane_limit: The most items one lane holds; more are refused by :meth:`put`.
        fair: ``False``: one lane for everything (arrival order), for comparisons.
    """

    def __init__(self, lane_limit: int = 2_000, *, fair: bool = True) -> None:
        self.lane_limit = lane_limit
        self.fair = fair
        self._lanes: dict[Hashable, deque[T]] = {}
        self._turns: deque[Hashable] = deque()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def put(self, lane: Hashable, item: T) -> bool:
        """Queue ``item`` in ``lane``; ``False`` (nothing queued) when the lane is full."""
        key = lane if self.fair else ""
        queue = self._lanes.get(key)
        if queue is None:
            queue = self._lanes[key] = deque()
            self._turns.append(key)
        if len(queue) >= self.lane_limit and self.fair:
            return False
        queue.append(item)
        self._size += 1
        return True

    def full(self, lane: Hashable, coming: int = 0) -> bool:
        """Whether ``lane`` is full, counting ``coming`` items on their way to it."""
        queue = self._lanes.get(lane)
        return self.fair and (len(queue) if queue else 0) + coming >= self.lane_limit

    def pop(self) -> T | None:
        """The next item: the oldest of the lane whose turn it is (``None`` when empty)."""
        while self._turns:
            key = self._turns.popleft()
            queue = self._lanes[key]
            if not queue:
                del self._lanes[key]
                continue
            item = queue.popleft()
            self._size -= 1
            if queue:
                self._turns.append(key)  # its next item waits for every other lane's turn
            else:
                del self._lanes[key]
            return item
        return None

    def clear(self) -> int:
        """Drop everything waiting (the process holding it died); how many items that was."""
        dropped = self._size
        self._lanes.clear()
        self._turns.clear()
        self._size = 0
        return dropped

    def lanes(self) -> int:
        """Lanes with something waiting."""
        return len(self._lanes)
