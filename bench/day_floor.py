"""What the simulated day's goals leave per envelope, against what each envelope must cost.

Run: python bench/day_floor.py [--sample 10] [--envelopes 4000]

The goals (issue: a simulated day) are wall times for a number of envelopes, so each sets a
budget per envelope. This bench measures, on this machine and in the same run, the parts every
envelope of a lean simulation must pay for whatever drives it, because the same goals ask for
them: each message sealed and opened as a typed, framed envelope (``--crypto modelled`` keeps the
framing, the header, the schema validation and the replay check; only the cryptography is
modelled), its events streamed to ``events.jsonl`` with their evidence chain, the running
figures (counters and HDR histograms), and the replay memory kept in a file (flat memory).

- The day's envelopes: the rate of a ``--sample``-second lean simulation of ``steady-state``
  times 86,400.
- The modelled day in under ten minutes on all the cores: the budget is 600 s times the cores,
  divided by the day's envelopes (a perfect split over the cores, for nothing).
- The hour within 1.25x of the real seal and open spread over the cores: the budget for all else
  is a quarter of the real seal and open (a perfect split again).

Printed: each part (µs per envelope, ``--envelopes`` of them, built from the sample run's own
events), their sum, the budgets, and the ratio of the sum to each budget (above 1: the goal
cannot be met by a kernel, however lean, that pays for these parts in this interpreter); and the
log and the figures alone against the day's budget (what would be left to pay if modelled
cryptography passed messages as objects, with no envelope at all). What each budget leaves for
everything else (the cores' receive paths, routing, the driver, the events themselves) is printed
beside what a simulation spends now, per envelope, with modelled cryptography.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _floor import seal_and_open_us

from bureaus import Event
from protocol.security.suites import MODELLED, REAL
from scenarios.cli import LIBRARY
from scenarios.model import load_scenario
from scenarios.reports.evidence import ChainedLog
from scenarios.reports.running import RunningFigures
from scenarios.runner import RunOptions, simulate

DAY_S = 86_400
DAY_GOAL_S = 600.0
HOUR_RATIO = 1.25


def listener_us(events: list[Event], envelopes: int, make: str) -> float:
    """µs per envelope for a lean run's listener fed ``events`` (the log, or the figures)."""
    with tempfile.TemporaryDirectory(prefix="bureaunet-bench-") as tmp:
        log = ChainedLog(Path(tmp) / "events.jsonl") if make == "log" else None
        figures = RunningFigures(slice_s=1.0)
        listener = log if log is not None else figures
        start = time.perf_counter()
        for event in events:
            listener(event)
        if log is not None:
            log.close()
        return (time.perf_counter() - start) / envelopes * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sample", type=float, default=10.0, help="scenario seconds sampled")
    parser.add_argument("--envelopes", type=int, default=4000, help="envelopes per measurement")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    scenario = load_scenario(LIBRARY / "steady-state.yaml")
    sample = simulate(scenario, RunOptions(duration=args.sample, crypto="modelled"))
    sent = sum(1 for e in sample.events if e.kind == "sent")
    run_us = sample.wall_s / sent * 1e6
    day_envelopes = sent / args.sample * DAY_S
    # the sample's own events, for as many envelopes as are measured (repeated if need be)
    per_envelope = len(sample.events) / sent
    wanted = int(args.envelopes * per_envelope)
    events = (sample.events * (wanted // len(sample.events) + 1))[:wanted]
    n = args.envelopes // 2
    parts = {
        "modelled_seal_open_filed_us": seal_and_open_us(n, MODELLED, filed=True),
        "event_log_us": listener_us(events, args.envelopes, "log"),
        "running_figures_us": listener_us(events, args.envelopes, "figures"),
    }
    required = sum(parts.values())
    listeners = parts["event_log_us"] + parts["running_figures_us"]
    real_us = seal_and_open_us(n, REAL, filed=False)
    filed_extra = seal_and_open_us(n, REAL, filed=True) - real_us
    beyond_floor = parts["event_log_us"] + parts["running_figures_us"] + max(0.0, filed_extra)
    day_budget = DAY_GOAL_S * cores / day_envelopes * 1e6
    hour_room = (HOUR_RATIO - 1) * real_us
    figures = {
        "cores": cores,
        "day_envelopes": round(day_envelopes),
        "events_per_envelope": round(per_envelope, 2),
        **{k: round(v, 1) for k, v in parts.items()},
        "required_us": round(required, 1),
        "simulation_now_us": round(run_us, 1),
        "day_budget_us": round(day_budget, 1),
        "required_vs_day_budget": round(required / day_budget, 2),
        "log_and_figures_vs_day_budget": round(listeners / day_budget, 2),
        "day_left_without_envelopes_us": round(day_budget - listeners, 1),
        "real_seal_open_us": round(real_us, 1),
        "filed_replay_extra_us": round(filed_extra, 1),
        "hour_room_beyond_floor_us": round(hour_room, 1),
        "required_beyond_floor_us": round(beyond_floor, 1),
        "required_vs_hour_room": round(beyond_floor / hour_room, 2),
        "hour_left_for_the_rest_us": round(hour_room - beyond_floor, 1),
    }
    for name, value in figures.items():
        print(json.dumps({"bench": "day_floor", "figure": name, "value": value}))
    print(
        f"\nthe day: {day_envelopes / 1e6:.1f} million envelopes; under {DAY_GOAL_S:.0f} s on "
        f"{cores} cores leaves {day_budget:.1f} µs an envelope; the parts it must pay for take "
        f"{required:.1f} µs (modelled seal and open {parts['modelled_seal_open_filed_us']:.1f}, "
        f"event log {parts['event_log_us']:.1f}, figures {parts['running_figures_us']:.1f}): "
        f"{required / day_budget:.2f}x the budget, before any routing (the simulation now: "
        f"{run_us:.1f} µs); the log and the figures alone: {listeners / day_budget:.2f}x, "
        f"leaving {day_budget - listeners:.1f} µs for all else with no envelope at all"
        f"\nthe hour: real seal and open {real_us:.1f} µs; within "
        f"{HOUR_RATIO}x of it spread over the cores leaves {hour_room:.1f} µs for all else; the "
        f"log, the figures and the filed replay memory take {beyond_floor:.1f} µs: "
        f"{beyond_floor / hour_room:.2f}x that room, leaving {hour_room - beyond_floor:.1f} µs for "
        "the cores, their driver and the routing, and only with a perfect split over the cores"
    )


if __name__ == "__main__":
    main()
