"""The replay guard: duplicates, replays and stale envelopes, in bounded and compact memory."""

from __future__ import annotations

import os
import tracemalloc
from datetime import timedelta

import pytest

from protocol.errors import Reason, Rejection
from protocol.security.replay import ReplayGuard

HOUR_MS = 3_600_000
T0 = 1_765_000_000_000


def reason(guard: ReplayGuard, *args: object, copy: bytes = b"") -> Reason | None:
    try:
        guard.check(*args, copy=copy)  # type: ignore[arg-type]
    except Rejection as refused:
        return refused.reason
    return None


def test_a_copy_is_a_duplicate_within_the_resend_window_and_a_replay_after() -> None:
    guard = ReplayGuard()
    sig = os.urandom(64)
    guard.remember("FR", b"m" * 16, T0, T0 + HOUR_MS, T0, copy=sig)
    assert reason(guard, "FR", b"m" * 16, T0, T0 + HOUR_MS, T0 + 1000, copy=sig) is Reason.DUPLICATE
    late = T0 + int(guard.resend_window / timedelta(milliseconds=1)) + 1
    assert reason(guard, "FR", b"m" * 16, T0, T0 + HOUR_MS, late, copy=sig) is Reason.REPLAY
    other = os.urandom(64)
    assert reason(guard, "FR", b"m" * 16, T0, T0 + HOUR_MS, T0 + 1000, copy=other) is Reason.REPLAY
    # an id is its sender's: another member's message under it is new
    assert reason(guard, "DE", b"m" * 16, T0, T0 + HOUR_MS, T0 + 1000, copy=sig) is None


def test_an_id_is_forgotten_once_its_envelope_can_only_be_stale() -> None:
    guard = ReplayGuard()
    for k in range(100):
        guard.remember("FR", k.to_bytes(16, "big"), T0 + k, T0 + k + HOUR_MS, T0 + k)
    assert len(guard) == 100
    after = T0 + HOUR_MS + 2000
    assert reason(guard, "FR", (0).to_bytes(16, "big"), T0, T0 + HOUR_MS, after) is Reason.STALE
    assert len(guard) == 0
    assert guard._seen == {}


def test_at_capacity_the_oldest_id_goes_and_what_was_created_before_it_is_stale() -> None:
    guard = ReplayGuard(capacity=10)
    for k in range(11):
        guard.remember("FR", k.to_bytes(16, "big"), T0 + k, T0 + k + HOUR_MS, T0 + k)
    assert len(guard) == 10
    # the first id is forgotten, so its envelope (and anything as old) can no longer be accepted
    first = (0).to_bytes(16, "big")
    assert reason(guard, "FR", first, T0, T0 + HOUR_MS, T0 + 20) is Reason.STALE
    assert reason(guard, "FR", b"x" * 16, T0 + 1, T0 + HOUR_MS, T0 + 20) is None
    assert reason(guard, "FR", (5).to_bytes(16, "big"), T0 + 5, T0 + HOUR_MS, T0 + 20) is (
        Reason.REPLAY
    )


def test_forgetting_everything_forgets_everything() -> None:
    guard = ReplayGuard()
    guard.remember("FR", b"m" * 16, T0, T0 + HOUR_MS, T0)
    guard.forget()
    assert len(guard) == 0
    assert reason(guard, "FR", b"m" * 16, T0, T0 + HOUR_MS, T0 + 1) is None


@pytest.mark.parametrize("senders", [1, 200])
def test_an_hour_of_ids_is_held_in_little_memory(senders: int) -> None:
    """A bureau remembers every id of an envelope's hour: each must cost little."""
    guard = ReplayGuard()
    ids = [os.urandom(16) for _ in range(20_000)]
    names = [f"S{k}" for k in range(senders)]
    signatures = [os.urandom(64) for _ in range(len(ids))]
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for k, (mid, sig) in enumerate(zip(ids, signatures, strict=True)):
        t = T0 + k * 7
        guard.remember(names[k % senders], mid, t, t + HOUR_MS, t, copy=sig)
    per_id = (tracemalloc.get_traced_memory()[0] - before) / len(ids)
    tracemalloc.stop()
    assert len(guard) == len(ids)
    assert per_id < 200, per_id  # the previous layout held about 455 (bench/replay_memory.py)
