"""The replay guard: duplicates, replays and stale envelopes, in bounded and compact memory."""

from __future__ import annotations

import os
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bureaus.idfile import IdFile
from protocol.errors import Reason, Rejection
from protocol.security.replay import HeldIds, IdMemory, ReplayGuard

HOUR_MS = 3_600_000
T0 = 1_765_000_000_000


Memory = Callable[[], IdMemory]


@pytest.fixture(params=["held", "filed"])
def memory(request: pytest.FixtureRequest) -> Iterator[Memory]:
    """Where the guard keeps its ids: the same answers from each."""
    if request.param == "held":
        yield HeldIds
        return
    file = IdFile()
    try:
        yield file.memory
    finally:
        file.close()


def reason(guard: ReplayGuard, *args: object, copy: bytes = b"") -> Reason | None:
    try:
        guard.check(*args, copy=copy)  # type: ignore[arg-type]
    except Rejection as refused:
        return refused.reason
    return None


def test_a_copy_is_a_duplicate_within_the_resend_window_and_a_replay_after(memory: Memory) -> None:
    guard = ReplayGuard(ids=memory())
    sig = os.urandom(64)
    guard.remember("FR", b"m" * 16, T0, T0 + HOUR_MS, T0, copy=sig)
    assert reason(guard, "FR", b"m" * 16, T0, T0 + HOUR_MS, T0 + 1000, copy=sig) is Reason.DUPLICATE
    late = T0 + int(guard.resend_window / timedelta(milliseconds=1)) + 1
    assert reason(guard, "FR", b"m" * 16, T0, T0 + HOUR_MS, late, copy=sig) is Reason.REPLAY
    other = os.urandom(64)
    assert reason(guard, "FR", b"m" * 16, T0, T0 + HOUR_MS, T0 + 1000, copy=other) is Reason.REPLAY
    # an id is its sender's: another member's message under it is new
    assert reason(guard, "DE", b"m" * 16, T0, T0 + HOUR_MS, T0 + 1000, copy=sig) is None


def test_an_id_is_forgotten_once_its_envelope_can_only_be_stale(memory: Memory) -> None:
    guard = ReplayGuard(ids=memory())
    for k in range(100):
        guard.remember("FR", k.to_bytes(16, "big"), T0 + k, T0 + k + HOUR_MS, T0 + k)
    assert len(guard) == 100
    after = T0 + HOUR_MS + 2000
    assert reason(guard, "FR", (0).to_bytes(16, "big"), T0, T0 + HOUR_MS, after) is Reason.STALE
    assert len(guard) == 0
    assert len(guard.ids) == 0


def test_at_capacity_the_oldest_id_goes_and_what_was_created_before_it_is_stale(
    memory: Memory,
) -> None:
    guard = ReplayGuard(capacity=10, ids=memory())
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


def test_forgetting_everything_forgets_everything(memory: Memory) -> None:
    guard = ReplayGuard(ids=memory())
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


def test_guards_sharing_a_file_remember_their_own_ids_and_the_file_goes_with_it() -> None:
    file = IdFile()
    gs, fr = ReplayGuard(ids=file.memory()), ReplayGuard(ids=file.memory())
    gs.remember("FR", b"m" * 16, T0, T0 + HOUR_MS, T0)
    assert reason(gs, "FR", b"m" * 16, T0, T0 + HOUR_MS, T0 + 1) is Reason.REPLAY
    assert reason(fr, "FR", b"m" * 16, T0, T0 + HOUR_MS, T0 + 1) is None
    fr.forget()
    assert len(gs) == 1
    assert file.path.exists()
    file.close()
    assert not file.path.parent.exists()


_op = st.tuples(
    st.sampled_from(["check", "remember", "check", "remember", "forget"]),
    st.sampled_from(["FR", "DE", "KE"]),
    st.integers(0, 5),  # the id
    st.integers(0, 5_000),  # ms since the last operation
    st.integers(0, 3),  # which of a few copies carried it
    st.integers(500, 4_000),  # the envelope's lifetime, in ms
)


@given(ops=st.lists(_op, max_size=60), capacity=st.integers(1, 8))
@settings(max_examples=150, deadline=None)
def test_a_file_gives_the_same_answers_as_memory(
    ops: list[tuple[str, str, int, int, int, int]], capacity: int
) -> None:
    """Any sequence of checks, remembers and restarts: the same reasons and counts from both."""
    file = IdFile()
    try:
        held = ReplayGuard(capacity=capacity, max_skew=timedelta(0))
        filed = ReplayGuard(capacity=capacity, max_skew=timedelta(0), ids=file.memory())
        now = T0
        for action, sender, k, step, copy, life in ops:
            now += step
            args = (sender, k.to_bytes(16, "big"), now - 100, now - 100 + life, now)
            sig = bytes([copy]) * 64
            if action == "check":
                assert reason(held, *args, copy=sig) == reason(filed, *args, copy=sig)
            elif action == "forget":  # a restart without a journal
                held.forget()
                filed.forget()
            else:
                held.remember(*args, copy=sig)
                filed.remember(*args, copy=sig)
            assert len(held) == len(filed)
    finally:
        file.close()
