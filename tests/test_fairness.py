"""The fair queue on its own: lanes served in turn, bounded, and the lane of a received message."""

from __future__ import annotations

from datetime import UTC, datetime

from bureaus.fairness import FairQueue, lane_of
from bureaus.samples import diffusion
from bureaus.samples import throwaway_world as world
from protocol import topics


def test_lanes_are_served_in_turn_and_in_order_within_a_lane() -> None:
    queue: FairQueue[str] = FairQueue()
    for n in range(4):
        queue.put("KE", f"KE{n}")
    queue.put("FR", "FR0")
    queue.put("BE", "BE0")
    queue.put("FR", "FR1")
    taken = [queue.pop() for _ in range(7)]
    assert taken == ["KE0", "FR0", "BE0", "KE1", "FR1", "KE2", "KE3"]
    assert queue.pop() is None
    assert len(queue) == 0


def test_a_full_lane_refuses_and_others_still_take() -> None:
    queue: FairQueue[int] = FairQueue(lane_limit=2)
    assert [queue.put("KE", n) for n in range(3)] == [True, True, False]
    assert queue.put("FR", 9)
    assert queue.lanes() == 2
    assert len(queue) == 3


def test_unfair_is_arrival_order() -> None:
    queue: FairQueue[str] = FairQueue(lane_limit=1, fair=False)
    for item in ("KE0", "KE1", "FR0"):
        assert queue.put(item[:2], item)
    assert [queue.pop(), queue.pop(), queue.pop()] == ["KE0", "KE1", "FR0"]


def test_the_lane_of_an_envelope_is_its_claimed_sender() -> None:
    now = datetime.now(UTC)
    envelope = world().codec("KE").seal_at(diffusion("KE", ("FR",)), now)
    assert lane_of(topics.inbox("FR"), envelope) == "KE"
    assert lane_of(topics.inbox("FR"), b"junk") == topics.inbox("FR")
    assert lane_of(topics.inbox("FR"), bytes([1]) + envelope[1:]) == topics.inbox("FR")
    assert lane_of(topics.CRL, envelope) == topics.CRL
    truncated = envelope[:60]
    assert lane_of(topics.inbox("FR"), truncated) == topics.inbox("FR")
