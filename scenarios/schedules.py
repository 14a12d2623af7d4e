"""Seeded fault schedules, run on the virtual clock and checked against the network's promises.

Deterministic simulation testing, as FoundationDB's simulator and TigerBeetle's VOPR do it: a
seed makes a small world (a few bureaus, a topology, some traffic) and a schedule of faults
over it (bureaus offline, links cut or made lossy and slow, the broker restarted with and
without its persistence, bureaus crashed and restarted from their journals, messages
duplicated and reordered by the network, keys rotated and members revoked mid-flight); the run
is a simulation (virtual clock, in-memory broker), so the same seed gives the same run on any
host. Every run is checked against invariants:

``nothing-lost``
    every delivery a sender owed arrives once the faults have healed (the schedule leaves time
    for it), or is refused with a reason;
``once``
    no bureau acts on the same message twice (delivered twice from the same sender);
``reasons``
    every rejection and every shed message carries a reason;
``lifecycle``
    every notice moves only along the lifecycle table.

A failing seed is printed with the command that replays it; :func:`shrink` then removes
injects and faults one at a time while the run still fails, for a smaller schedule that shows
the same violation.

Run: ``python -m scenarios.schedules --count 100000 [--first SEED] [--jobs N]``.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, cast

import yaml

from bureaus.events import Lifecycle
from protocol.messages.lifecycle import IllegalTransition, NoticeEvent, NoticeLifecycle
from scenarios.model import Scenario, parse_scenario
from scenarios.results import RunResult
from scenarios.runner import RunOptions, simulate

__all__ = ["Violation", "check", "main", "make_schedule", "run_seed", "shrink"]

_NCBS = ("FR", "DE", "IT", "ES", "NL", "BE", "AT", "PL")
_TOPOLOGIES = ("hub", "mesh", "hybrid")
HEAL_S = 1_800.0
"""Every fault of a schedule ends by this scenario second."""
END_S = HEAL_S + 3 * 3_600.0
"""Runs end here: three hours after the last fault, for resends to finish their work."""


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken promise of a run.

    Attributes:
        invariant: Which (see the module's description).
        detail: What was seen.
    """

    invariant: str
    detail: str


Memory = Literal["journal", "none"]


def make_schedule(seed: int, *, crashes: Memory = "journal") -> dict[str, Any]:
    """The scenario (as a YAML-ready dictionary) that ``seed`` makes.

    Half the bureaus taken offline crash and start again with what ``crashes`` says: from their
    journals (the network's promise), or remembering nothing (to see the checks fail).
    """
    rng = random.Random(seed)  # noqa: S311 - a test schedule, reproducible by its seed
    ncbs = sorted(rng.sample(_NCBS, rng.randint(3, 5)))
    injects: list[dict[str, Any]] = []
    for n in range(rng.randint(2, 6)):
        sender = rng.choice(ncbs)
        others = [b for b in ncbs if b != sender]
        at = rng.uniform(0, HEAL_S)
        to = sorted(rng.sample(others, rng.randint(1, len(others))))
        kind = rng.choice(("diffusion", "case_message", "notice_request"))
        if kind == "diffusion":
            priority = rng.choice(("routine", "urgent", "flash"))
            body: dict[str, Any] = {"from": sender, "to": to, "priority": priority}
        elif kind == "case_message":
            body = {"from": sender, "to": to}
        else:
            body = {"from": sender, "notice": "yellow", "name": "EXEMPLE", "summary": "Missing."}
        injects.append({"at": round(at, 3), "name": f"m{n}", kind: body})
    if rng.random() < 0.3:
        injects.append(
            {"at": round(rng.uniform(0, HEAL_S), 3), "name": "rotation",
             "rotate_key": {"bureau": rng.choice(ncbs)}}
        )  # fmt: skip
    if rng.random() < 0.25:
        injects.append(
            {"at": round(rng.uniform(0, HEAL_S), 3), "name": "revocation",
             "revoke": {"bureau": rng.choice(ncbs)}}
        )  # fmt: skip
    faults = [_fault(rng, ["gs", *ncbs], crashes) for _ in range(rng.randint(1, 4))]
    return {
        "name": f"schedule-{seed}",
        "roster": ["gs", *ncbs],
        "topology": rng.choice(_TOPOLOGIES),
        "duration": END_S,
        "network": {
            "loss": rng.choice((0.0, 0.0, 0.05, 0.2)),
            "jitter_ms": rng.choice((0.0, 0.0, 50.0, 2_000.0)),  # large jitter reorders
            "duplicate": rng.choice((0.0, 0.0, 0.1, 0.5)),
        },
        "injects": sorted(injects, key=lambda i: i["at"]),
        "faults": faults,
    }


def _fault(rng: random.Random, bureaus: list[str], crashes: Memory) -> dict[str, Any]:
    start = round(rng.uniform(0, HEAL_S * 0.8), 3)
    end = round(rng.uniform(start + 1, HEAL_S), 3)
    kind = rng.choice(("offline", "offline", "cut", "degrade", "broker_restart"))
    if kind == "broker_restart":
        return {"broker_restart": {"at": start, "persistence": rng.random() < 0.5}}
    window: dict[str, Any] = {"bureau": rng.choice(bureaus), "from": start, "to": end}
    if kind == "degrade":
        window.update(
            loss=round(rng.uniform(0.1, 0.9), 2),
            extra_ms=round(rng.uniform(0, 5e4)),
            duplicate=round(rng.choice((0.0, rng.uniform(0.1, 0.9))), 2),
        )
    if kind == "offline" and rng.random() < 0.5:
        window["memory"] = crashes
    return {kind: window}


def _parse(schedule: dict[str, Any]) -> Scenario:
    return parse_scenario(yaml.safe_dump(schedule, sort_keys=False), schedule["name"])


def check(result: RunResult) -> list[Violation]:
    """Every promise ``result`` breaks (see the module's description)."""
    return [*_lost(result), *_twice(result), *_reasons(result), *_lifecycle(result)]


_REVOKED = frozenset({"revoked"})
"""Why a recipient may refuse an owed delivery and keep the promise: its sender was revoked."""


def _lost(result: RunResult) -> Iterable[Violation]:
    """Owed deliveries that neither arrived nor were refused with a reason on their way.

    A message from a member revoked mid-flight is refused (``revoked``) by its recipients or by
    a relay on the path: that is the network keeping its promise, not losing the message.
    """
    events = result.events
    owed = {(e.message_id, r) for e in events if e.kind == "sent" for r in e.recipients}
    arrived = {(e.message_id, e.bureau) for e in events if e.kind == "delivered"}
    # refused where it was owed, or by a relay on the way there (a hub refuses a revoked sender)
    refused = {e.message_id for e in events if e.kind == "rejected" and e.reason in _REVOKED}
    missing = sorted((str(m), b) for m, b in owed - arrived if m not in refused)
    if missing:
        mid, bureau = missing[0]
        yield Violation(
            "nothing-lost",
            f"{len(missing)} owed deliveries neither arrived nor were refused "
            f"{END_S - HEAL_S:.0f} s after the faults healed (such as {mid} to {bureau})",
        )


def _twice(result: RunResult) -> Iterable[Violation]:
    seen = Counter((e.bureau, e.peer, e.message_id) for e in result.events if e.kind == "delivered")
    for (bureau, peer, mid), times in seen.items():
        if times > 1:
            yield Violation("once", f"{bureau} acted {times} times on {peer}'s {mid}")


def _reasons(result: RunResult) -> Iterable[Violation]:
    for event in result.events:
        if event.kind in ("rejected", "shed") and not event.reason:
            yield Violation("reasons", f"a {event.kind} event at {event.bureau} without reason")


def _lifecycle(result: RunResult) -> Iterable[Violation]:
    """Each notice's recorded moves replayed through the lifecycle table, from a draft."""
    notices: dict[tuple[str, str], NoticeLifecycle] = {}
    for event in result.events:
        if not isinstance(event, Lifecycle) or not event.message_id:
            continue
        notice = notices.setdefault((event.peer or "", event.message_id), NoticeLifecycle())
        try:
            reached = notice.apply(cast("NoticeEvent", event.transition), event.t_s)
        except IllegalTransition as exc:
            yield Violation("lifecycle", f"{event.peer}'s {event.message_id}: {exc}")
            continue
        if reached != event.state:
            yield Violation(
                "lifecycle", f"{event.message_id}: recorded {event.state}, the table says {reached}"
            )


def run_seed(seed: int, schedule: dict[str, Any] | None = None) -> list[Violation]:
    """Run one schedule (the one ``seed`` makes, unless given) and check it."""
    schedule = schedule if schedule is not None else make_schedule(seed)
    result = simulate(_parse(schedule), RunOptions(seed=seed))
    return check(result)


def shrink(seed: int) -> dict[str, Any]:
    """A smaller schedule that still breaks a promise: injects and faults left out one at a time."""
    best = make_schedule(seed)
    changed = True
    while changed:
        changed = False
        for key in ("faults", "injects"):
            for index in range(len(best[key])):
                trial = {**best, key: best[key][:index] + best[key][index + 1 :]}
                if trial["injects"] and run_seed(seed, trial):
                    best, changed = trial, True
                    break
    return best


def _batch(seeds: range) -> list[tuple[int, list[Violation]]]:
    return [(seed, found) for seed in seeds if (found := run_seed(seed))]


def main(argv: list[str] | None = None) -> int:
    """Run many seeds; print each failing seed, its replay command and a shrunk schedule."""
    parser = argparse.ArgumentParser(prog="python -m scenarios.schedules", description=__doc__)
    parser.add_argument("--count", type=int, default=1_000)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args(argv)
    seeds = range(args.first, args.first + args.count)
    chunk = max(1, args.count // (args.jobs * 8))
    parts = [seeds[i : i + chunk] for i in range(0, len(seeds), chunk)]
    failures: list[tuple[int, list[Violation]]] = []
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            for batch in pool.map(_batch, parts):
                failures += batch
    else:
        for part in parts:
            failures += _batch(part)
    for seed, found in failures:
        print(f"seed {seed}: {'; '.join(f'{v.invariant}: {v.detail}' for v in found)}")
        print(f"  replay: python -m scenarios.schedules --first {seed} --count 1")
        print("  shrunk:\n" + yaml.safe_dump(shrink(seed), sort_keys=False))
    print(f"{args.count} schedules, {len(failures)} failing")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
