"""Seeded fault schedules on the virtual clock, checked against the network's promises.

A thousand schedules run in CI (four parts, so that the workers share them); ``python -m
scenarios.schedules --count 100000 --jobs 2`` is the long run (``RELIABILITY.md``). A planted bug
(a resend that forgets every recipient behind a relay) is found within a few hundred seeds, its
seed replays it, and shrinking gives a smaller schedule that still shows it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

import bureaus.core.delivery
from bureaus.core import RESEND_SPAN_S
from bureaus.core.delivery import Delivery
from bureaus.events import Delivered, Rejected
from protocol.errors import Rejection
from protocol.network.routing import next_hops
from protocol.security.replay import ReplayGuard
from scenarios.runner import RunOptions, simulate
from scenarios.schedules import _parse, check, make_schedule, run_seed, shrink

PARTS = 4
SCHEDULES = 1_000


@pytest.mark.parametrize("part", range(PARTS))
def test_a_thousand_seeded_fault_schedules_keep_every_promise(part: int) -> None:
    size = SCHEDULES // PARTS
    failing = {}
    for seed in range(part * size, (part + 1) * size):
        found = run_seed(seed)
        if found:
            failing[seed] = found
    assert failing == {}, "replay with: python -m scenarios.schedules --first SEED --count 1"


def test_the_same_seed_gives_the_same_run() -> None:
    scenario = _parse(make_schedule(7))
    one, two = (simulate(scenario, RunOptions(seed=7)) for _ in range(2))
    assert [e.as_dict() for e in one.events] == [e.as_dict() for e in two.events]
    assert make_schedule(7) != make_schedule(8)


def forgetful_resend(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plant a bug: a resend that forgets the relay (only direct recipients get resends)."""
    original = Delivery.resend

    def direct_only(topology: Any, roster: Any, sender: str, finals: Any, here: str) -> Any:
        hops = next_hops(topology, roster, sender, finals, here)
        return {hop: reached for hop, reached in hops.items() if hop in reached}

    def resend(self: Delivery, mid: str, now: Any) -> None:
        with monkeypatch.context() as patch:
            patch.setattr(bureaus.core.delivery, "next_hops", direct_only)
            original(self, mid, now)

    monkeypatch.setattr(Delivery, "resend", resend)


def test_a_planted_bug_is_found_and_its_seed_replays_it(monkeypatch: pytest.MonkeyPatch) -> None:
    forgetful_resend(monkeypatch)
    seed = next((s for s in range(400) if run_seed(s)), None)
    assert seed is not None, "the planted bug was not found in 400 schedules"
    found = run_seed(seed)
    assert {v.invariant for v in found} == {"nothing-lost"}
    assert run_seed(seed) == found  # the seed replays it, exactly
    smaller = shrink(seed)
    original = make_schedule(seed)
    assert len(smaller["faults"]) + len(smaller["injects"]) <= len(original["faults"]) + len(
        original["injects"]
    )
    assert run_seed(seed, smaller)  # and the smaller schedule still shows it
    monkeypatch.undo()
    assert run_seed(seed) == []  # without the bug, the same schedule keeps every promise


def test_the_checks_can_fail() -> None:
    result = simulate(_parse(make_schedule(3)), RunOptions(seed=3))
    assert check(result) == []
    delivered = next(e for e in result.events if isinstance(e, Delivered))
    twice = dataclasses.replace(result, events=[*result.events, delivered])
    assert [v.invariant for v in check(twice)] == ["once"]
    silent = Rejected(t_ns=0, t_s=1.0, bureau="FR", reason="")
    assert [
        v.invariant for v in check(dataclasses.replace(result, events=[*result.events, silent]))
    ] == ["reasons"]
    undelivered = [e for e in result.events if e is not delivered]
    assert "nothing-lost" in {
        v.invariant for v in check(dataclasses.replace(result, events=undelivered))
    }


def test_every_resend_comes_while_a_recipient_still_takes_it_for_a_duplicate() -> None:
    # resends outlast an outage the broker forgets, and never turn into replays
    assert ReplayGuard().resend_window.total_seconds() > RESEND_SPAN_S
    assert RESEND_SPAN_S > 1_800  # longer than the longest outage a schedule makes


def test_a_member_revoked_mid_flight_is_refused_not_lost() -> None:
    seed = next(s for s in range(1_000) if _revokes_with_traffic(s))
    result = simulate(_parse(make_schedule(seed)), RunOptions(seed=seed))
    refused = [e for e in result.events if e.kind == "rejected" and e.reason == "revoked"]
    assert refused, "the schedule's revocation refused nothing"
    assert check(result) == []
    # the same run, its refusals forgotten: what the revoked member sent is now simply missing
    result.events = [e for e in result.events if e not in refused]
    assert {v.invariant for v in check(result)} == {"nothing-lost"}


def _revokes_with_traffic(seed: int) -> bool:
    """Whether the schedule revokes a member that sends something afterwards."""
    injects = make_schedule(seed)["injects"]
    revocations = [i for i in injects if "revoke" in i]
    if not revocations:
        return False
    revoked, at = revocations[0]["revoke"]["bureau"], revocations[0]["at"]
    return any(
        body.get("from") == revoked
        for inject in injects
        if inject["at"] > at
        for body in inject.values()
        if isinstance(body, dict)
    )


def test_bureaus_that_crash_without_a_journal_break_a_promise_the_journal_keeps() -> None:
    """The schedules crash bureaus that start again from their journals. The same schedules
    with bureaus that come back remembering nothing lose messages, and the checks say so."""
    crashing = [s for s in range(60, 90) if _crashes(make_schedule(s))]
    assert crashing
    amnesia = {s: run_seed(s, make_schedule(s, crashes="none")) for s in crashing}
    assert {v.invariant for found in amnesia.values() for v in found} >= {"nothing-lost"}
    for seed, found in amnesia.items():
        if found:
            assert run_seed(seed, make_schedule(seed, crashes="journal")) == []


def _crashes(schedule: dict[str, Any]) -> bool:
    return any(f.get("offline", {}).get("memory") for f in schedule["faults"])


def test_copies_the_network_makes_are_refused_as_duplicates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The schedules' networks duplicate and reorder: every copy is refused as a duplicate. A
    bureau that took copies for new messages would act twice, and the checks say so."""
    seed = next(s for s in range(100) if make_schedule(s)["network"]["duplicate"] > 0)
    result = simulate(_parse(make_schedule(seed)), RunOptions(seed=seed))
    duplicates = [e for e in result.events if e.kind == "rejected" and e.reason == "duplicate"]
    assert duplicates
    assert check(result) == []

    original = ReplayGuard.check

    def lenient(self: ReplayGuard, *args: Any, **kwargs: Any) -> None:
        try:
            original(self, *args, **kwargs)
        except Rejection as refusal:
            if refusal.reason != "duplicate":
                raise  # only the same bytes again get through

    monkeypatch.setattr(ReplayGuard, "check", lenient)
    again = simulate(_parse(make_schedule(seed)), RunOptions(seed=seed))
    assert "once" in {v.invariant for v in check(again)}
