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

An id is remembered compactly, since a bureau holds an hour of them (an envelope's lifetime): per
sender, the id's 16 bytes and one integer packing when it was accepted, when it was created, and
64 bits of a digest of the bytes that carried it (a copy whose digest matches is the same
envelope; a different envelope under the same id is refused either way, as a ``replay`` or, at
odds of 2^-64, as a ``duplicate``, which is not acted on either). Ids are forgotten a second of
horizon at a time (the stale checks refuse an envelope past its horizon before any lookup, so
keeping an id up to a second longer changes no answer).

Where the ids are kept is the guard's :class:`IdMemory`: :class:`HeldIds` in this process's memory
by default; a long simulation, whose bureaus hold an hour of ids each, keeps them in a file
(:class:`bureaus.idfile.IdFile`), so that its memory does not grow with the traffic of the hour.
Both give the same answers (``tests/test_replay_guard.py`` runs the same cases on each).
"""

from __future__ import annotations

import hashlib
import heapq
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from protocol.errors import Reason, Rejection

__all__ = ["HeldIds", "IdMemory", "ReplayGuard"]

_MS_BITS = 64
"""Bits for each of the two times (milliseconds since the epoch, made non-negative)."""
_TIME_OFFSET = 1 << 63
_MASK = (1 << _MS_BITS) - 1


def _digest(copy: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(copy, digest_size=8).digest(), "big") if copy else 0


def _pack(accepted_ms: int, created_ms: int, copy: bytes) -> int:
    return (
        ((accepted_ms + _TIME_OFFSET) << (2 * _MS_BITS))
        | ((created_ms + _TIME_OFFSET) << _MS_BITS)
        | _digest(copy)
    )


def _accepted_ms(packed: int) -> int:
    return (packed >> (2 * _MS_BITS)) - _TIME_OFFSET


def _created_ms(packed: int) -> int:
    return ((packed >> _MS_BITS) & _MASK) - _TIME_OFFSET


class IdMemory(Protocol):
    """Where a :class:`ReplayGuard` keeps its ids: per sender, id → packed, by horizon second.

    ``packed`` is a non-negative integer below 2^192 (two times and a digest); a horizon is the
    second after which the id may be forgotten.
    """

    def get(self, sender: str, message_id: bytes) -> int | None:
        """The packed record of a sender's id, if it is remembered."""
        ...

    def add(self, sender: str, message_id: bytes, packed: int, horizon_s: int) -> bool:
        """Remember an id (``False``, and nothing changed, if it is already remembered)."""
        ...

    def expire(self, before_s: int) -> None:
        """Forget every id whose horizon second is before ``before_s``."""
        ...

    def drop_oldest(self) -> int | None:
        """Forget the id with the earliest horizon (the first remembered among equals)."""
        ...

    def clear(self) -> None:
        """Forget every id."""
        ...

    def __len__(self) -> int: ...


@dataclass
class _Second:
    """The ids whose horizon falls in one second, as two parallel lists (senders, ids)."""

    senders: list[str] = field(default_factory=list)
    ids: list[bytes] = field(default_factory=list)


@dataclass
class HeldIds:
    """Ids held in this process's memory: a dict per sender, and the ids by horizon second."""

    _seen: dict[str, dict[bytes, int]] = field(default_factory=dict, repr=False)
    """Per sender: id → packed (accepted, created, digest of the copy)."""
    _count: int = 0
    _seconds: dict[int, _Second] = field(default_factory=dict, repr=False)
    """Ids by the second their horizon falls in, to forget them a second at a time."""
    _order: list[int] = field(default_factory=list, repr=False)
    """Those seconds, as a heap."""

    def get(self, sender: str, message_id: bytes) -> int | None:
        """The packed record of a sender's id, if it is remembered."""
        ids = self._seen.get(sender)
        return ids.get(message_id) if ids is not None else None

    def add(self, sender: str, message_id: bytes, packed: int, horizon_s: int) -> bool:
        """Remember an id (``False`` if it is already remembered)."""
        ids = self._seen.setdefault(sender, {})
        if message_id in ids:
            return False
        ids[message_id] = packed
        self._count += 1
        bucket = self._seconds.get(horizon_s)
        if bucket is None:
            bucket = self._seconds[horizon_s] = _Second()
            heapq.heappush(self._order, horizon_s)
        bucket.senders.append(sender)
        bucket.ids.append(message_id)
        return True

    def expire(self, before_s: int) -> None:
        """Forget every id whose horizon second is before ``before_s``."""
        while self._order and self._order[0] < before_s:
            bucket = self._seconds.pop(heapq.heappop(self._order))
            for sender, message_id in zip(bucket.senders, bucket.ids, strict=True):
                self._drop(sender, message_id)

    def drop_oldest(self) -> int | None:
        """Forget the id with the earliest horizon, the first remembered among equals."""
        if not self._order:
            return None
        second = self._order[0]
        bucket = self._seconds[second]
        packed = self._drop(bucket.senders.pop(0), bucket.ids.pop(0))
        if not bucket.ids:
            del self._seconds[second]
            heapq.heappop(self._order)
        return packed

    def clear(self) -> None:
        """Forget every id."""
        self._seen.clear()
        self._seconds.clear()
        self._order.clear()
        self._count = 0

    def _drop(self, sender: str, message_id: bytes) -> int | None:
        ids = self._seen.get(sender)
        if ids is None:
            return None
        packed = ids.pop(message_id, None)
        if packed is not None:
            self._count -= 1
            if not ids:
                del self._seen[sender]
        return packed

    def __len__(self) -> int:
        return self._count


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
        ids: Where the ids are kept.
    """

    max_skew: timedelta = timedelta(seconds=30)
    window: timedelta = timedelta(hours=24)
    capacity: int = 1_000_000
    resend_window: timedelta = timedelta(minutes=55)
    ids: IdMemory = field(default_factory=HeldIds, repr=False)
    _floor_ms: int = -(2**63)

    def forget(self) -> None:
        """Remember no id (a process restarted without its journal)."""
        self.ids.clear()
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
        seen = self.ids.get(sender, message_id)
        if seen is None:
            return
        accepted_ms = _accepted_ms(seen)
        age_s = (now_ms - accepted_ms) / 1000
        if copy and _digest(copy) == seen & _MASK:
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
        accepted = created_at_ms if now_ms is None else now_ms
        if not self.ids.add(
            sender, message_id, _pack(accepted, created_at_ms, copy), horizon // 1000
        ):
            return
        while len(self.ids) > self.capacity:
            packed = self.ids.drop_oldest()
            if packed is not None:
                self._floor_ms = max(self._floor_ms, _created_ms(packed))

    def _expire(self, now_ms: int) -> None:
        # a second whose last millisecond is before now holds only horizons before now
        self.ids.expire(now_ms // 1000)

    def __len__(self) -> int:
        return len(self.ids)
