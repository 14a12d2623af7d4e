"""Replay and freshness checks for opened envelopes: a bounded memory of accepted message ids.

Pure: the time is passed in. An envelope is *stale* when it was created further in the future than
the allowed clock skew, is past its own expiry, or is older than the window; it is a *replay* when
its message id was already accepted. Ids are forgotten once their envelope could only be stale,
so memory is bounded by the traffic of one window; if the capacity is reached anyway, the oldest
ids are forgotten and everything created before them is refused as stale from then on, so a
forgotten id can never be replayed successfully.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import timedelta

from protocol.errors import Reason, Rejection

__all__ = ["ReplayGuard"]


@dataclass
class ReplayGuard:
    """Remembers accepted message ids for one bureau.

    Attributes:
        max_skew: How far in the future ``created_at`` may be (clocks differ).
        window: How old an envelope may be, whatever its own expiry says.
        capacity: The most ids remembered at once.
    """

    max_skew: timedelta = timedelta(seconds=30)
    window: timedelta = timedelta(hours=24)
    capacity: int = 1_000_000
    _seen: set[bytes] = field(default_factory=set, repr=False)
    _forget_at: list[tuple[int, int, bytes]] = field(default_factory=list, repr=False)
    _floor_ms: int = -(2**63)

    def check(self, message_id: bytes, created_at_ms: int, expires_at_ms: int, now_ms: int) -> None:
        """Refuse a stale or replayed envelope (does not remember it: see :meth:`remember`).

        Raises:
            Rejection: ``stale`` or ``replay``.
        """
        self._expire(now_ms)
        skew = int(self.max_skew / timedelta(milliseconds=1))
        window = int(self.window / timedelta(milliseconds=1))
        if created_at_ms > now_ms + skew:
            raise Rejection(Reason.STALE, "created in the future beyond the allowed skew")
        if now_ms > expires_at_ms:
            raise Rejection(Reason.STALE, "expired")
        if now_ms - created_at_ms > window or created_at_ms <= self._floor_ms:
            raise Rejection(Reason.STALE, "older than the replay window")
        if message_id in self._seen:
            raise Rejection(Reason.REPLAY, "message id already accepted")

    def remember(self, message_id: bytes, created_at_ms: int, expires_at_ms: int) -> None:
        """Record an accepted message id until it could only be stale."""
        window = int(self.window / timedelta(milliseconds=1))
        horizon = min(expires_at_ms, created_at_ms + window)
        if message_id in self._seen:
            return
        self._seen.add(message_id)
        heapq.heappush(self._forget_at, (horizon, created_at_ms, message_id))
        while len(self._seen) > self.capacity:
            _, created, forgotten = heapq.heappop(self._forget_at)
            self._seen.discard(forgotten)
            self._floor_ms = max(self._floor_ms, created)

    def _expire(self, now_ms: int) -> None:
        while self._forget_at and self._forget_at[0][0] < now_ms:
            _, _, forgotten = heapq.heappop(self._forget_at)
            self._seen.discard(forgotten)

    def __len__(self) -> int:
        return len(self._seen)
