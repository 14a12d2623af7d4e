"""The real network's load in virtual time: its wall cost against the cryptography it needs.

Run: python bench/simulated_load.py [--duration 60] [--bureaus 0]

``steady-state`` (every NCB searching the General Secretariat's databases at 250 searches a
second in all, each search answered; real keys, every message signed, encrypted, verified and
opened) simulated on the virtual clock for ``--duration`` scenario time: ``1h`` is the simulated
hour, ``1d`` the simulated day. ``--bureaus N`` replaces the bundled roster by a synthetic one of
N NCBs (``--bureaus 10000``: ten thousand bureaus).

Printed: the wall time of the run (start-up, keys and network, apart), the messages sealed, and
the floor measured in the same run: the same number of envelopes sealed and opened by the codec
alone, with no core, driver, broker or clock. The ratio says what the simulation adds to the
cryptography it cannot avoid. Also the peak resident memory of the process.

Goal (issue: performance): the simulated hour within 1.25x of its floor; 10,000 bureaus start and
run in at most 2 GB.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from uuid import uuid4

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bureaus.sandbox import EPOCH, cores
from protocol import SearchRequest, SearchResult, ToBureaus
from protocol.messages.models import NominalQuery
from scenarios.cli import LIBRARY
from scenarios.model import load_scenario, parse_duration
from scenarios.runner import RunOptions, simulate


def seal_and_open_us(n: int) -> float:
    """µs to seal and open one envelope: a search and its answer, with the codec alone."""
    net = cores("hub")
    fr, gs = net["FR"].codec, net["gs"].codec
    searches = [
        SearchRequest(
            message_id=uuid4(),
            sender="FR",
            recipients=ToBureaus(bureaus=("gs",)),
            created_at=EPOCH,
            query=NominalQuery(name=f"EXEMPLE {k}"),
        )
        for k in range(n)
    ]
    answers = [
        SearchResult(
            message_id=uuid4(),
            sender="gs",
            recipients=ToBureaus(bureaus=("FR",)),
            created_at=EPOCH,
            request_id=s.message_id,
            outcome="no-hit",
        )
        for s in searches
    ]
    start = time.perf_counter()
    for search, answer in zip(searches, answers, strict=True):
        gs.open_at(fr.seal_at(search, EPOCH), EPOCH)
        fr.open_at(gs.seal_at(answer, EPOCH), EPOCH)
    return (time.perf_counter() - start) / (2 * n) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", default="60", help="scenario time: 60, 1h, 1d")
    parser.add_argument("--bureaus", type=int, default=0, help="a synthetic roster of N NCBs")
    args = parser.parse_args()
    duration = float(parse_duration(args.duration))  # type: ignore[arg-type]
    scenario = load_scenario(LIBRARY / "steady-state.yaml")
    if args.bureaus:
        scenario = scenario.model_copy(update={"roster": f"synthetic:{args.bureaus}"})
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    result = simulate(scenario, RunOptions(duration=duration))
    total = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sealed = sum(1 for e in result.events if e.kind == "sent")
    delivered = sum(1 for e in result.events if e.kind == "delivered")
    per_envelope = seal_and_open_us(500)
    floor = sealed * per_envelope / 1e6
    figures = {
        "scenario_s": duration,
        "bureaus": len(result.roster),
        "startup_s": round(total - result.wall_s, 2),
        "run_wall_s": round(result.wall_s, 2),
        "envelopes_sealed": sealed,
        "deliveries": delivered,
        "seal_open_us_per_envelope": round(per_envelope, 1),
        "floor_s": round(floor, 2),
        "run_vs_floor": round(result.wall_s / floor, 2) if floor else None,
        "peak_rss_mb": round(peak, 0),
        "rss_before_mb": round(rss0, 0),
    }
    for name, value in figures.items():
        print(json.dumps({"bench": "simulated_load", "figure": name, "value": value}))
    print(
        f"\n{duration:g} scenario s, {figures['bureaus']} bureaus: start-up "
        f"{figures['startup_s']} s, run {figures['run_wall_s']} s for {sealed:,} envelopes "
        f"({delivered:,} delivered); floor (seal + open alone) {figures['floor_s']} s: ratio "
        f"{figures['run_vs_floor']} (goal <= 1.25); peak memory {peak:.0f} MB"
    )


if __name__ == "__main__":
    main()
