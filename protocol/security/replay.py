"""Replay and freshness checks for opened envelopes: a bounded memory of accepted message ids.

A message id belongs to its sender: the memory is keyed by (sender, message id), so a member
that seals its own envelope under another's id (ids are reproducible, so they can be predicted)
takes nothing from that other member: each sender's ids are checked against its own past only.

Pure: the time is passed in. An envelope is *stale* when it was created further in the future than
the allowed clock skew, is past its own expiry, or is older than the window. A second copy of an
accepted message id is one of two things:

- a *duplicate*: the very same bytes (the same signature) within the resend window after the first
  was accepted. At-least-once delivery makes these: a sender resending because an acknowledgement
  was late or a bureau was offline, a broker redelivering. Benign; answered again, not acted on.
- a *replay*: anything else with that id: other bytes (re-sealed under an id already used), or the
  same bytes later than any resend would come.

Ids are forgotten once their envelope could only be stale, so memory is bounded by the traffic of
one window; if the capacity is reached anyway, the oldest ids are forgotten and everything created
before them is refused as stale from then on, so a forgotten id can never be replayed successfully.
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
        resend_window: How long after a message was accepted a byte-identical copy counts as a
            duplicate rather than a replay: longer than a sender's resend schedule (bureaunet's
            bureaus resend for about 54 minutes before giving up, through an outage the broker
            forgets) and shorter than an envelope's hour, so that the same bytes later still
            are a replay.
    """

    max_skew: timedelta = timedelta(seconds=30)
    window: timedelta = timedelta(hours=24)
    capacity: int = 1_000_000
    resend_window: timedelta = timedelta(minutes=55)
    _seen: dict[tuple[str, bytes], tuple[bytes, int]] = field(default_factory=dict, repr=False)
    _forget_at: list[tuple[int, int, tuple[str, bytes]]] = field(default_factory=list, repr=False)
    _floor_ms: int = -(2**63)

    def forget(self) -> None:
        """Remember no id (a process restarted without its journal)."""
        self._seen.clear()
        self._forget_at.clear()
        self._floor_ms = -(2**63)

    def check(
        self,
        sender: str,
        message_id: bytes,
        created_at_ms: int,
        expires_at_ms: int,
        now_ms: int,
        *,
        copy: bytes = b"",
    ) -> None:
        """Refuse a stale, replayed or duplicated envelope (:meth:`remember` remembers it).

        Args:
            sender: The envelope's (verified) sender: ids are remembered per sender.
            message_id: The envelope's message id.
            created_at_ms: When it says it was created.
            expires_at_ms: When it says it expires.
            now_ms: Now.
            copy: What names these exact bytes (the envelope's signature); a copy with the same
                name within :attr:`resend_window` of acceptance is a duplicate.

        Raises:
            Rejection: ``stale``, ``replay`` or ``duplicate``.
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
        seen = self._seen.get((sender, message_id))
        if seen is None:
            return
        first_copy, accepted_ms = seen
        age_s = (now_ms - accepted_ms) / 1000
        if copy and copy == first_copy:
            if now_ms - accepted_ms <= self.resend_window / timedelta(milliseconds=1):
                raise Rejection(
                    Reason.DUPLICATE, f"the same envelope was accepted {age_s:.3g} s ago"
                )
            raise Rejection(
                Reason.REPLAY,
                f"the same envelope was accepted {age_s:.3g} s ago, after any resend would come",
            )
        raise Rejection(Reason.REPLAY, "message id already accepted, from other bytes")

    def remember(
        self,
        sender: str,
        message_id: bytes,
        created_at_ms: int,
        expires_at_ms: int,
        now_ms: int | None = None,
        *,
        copy: bytes = b"",
    ) -> None:
        """Record a sender's accepted message id, and which bytes carried it, until it is stale."""
        window = int(self.window / timedelta(milliseconds=1))
        horizon = min(expires_at_ms, created_at_ms + window)
        key = (sender, message_id)
        if key in self._seen:
            return
        self._seen[key] = (copy, created_at_ms if now_ms is None else now_ms)
        heapq.heappush(self._forget_at, (horizon, created_at_ms, key))
        while len(self._seen) > self.capacity:
            _, created, forgotten = heapq.heappop(self._forget_at)
            self._seen.pop(forgotten, None)
            self._floor_ms = max(self._floor_ms, created)

    def _expire(self, now_ms: int) -> None:
        while self._forget_at and self._forget_at[0][0] < now_ms:
            _, _, forgotten = heapq.heappop(self._forget_at)
            self._seen.pop(forgotten, None)

    def __len__(self) -> int:
        return len(self._seen)
