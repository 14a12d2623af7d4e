"""The real network's load in virtual time: its wall cost against the cryptography it needs.

Run: python bench/simulated_load.py [--duration 60] [--bureaus 0] [--keep-events]
[--crypto modelled]

``steady-state`` (every NCB searching the General Secretariat's databases at 250 searches a
second in all, each search answered; real keys, every message signed, encrypted, verified and
opened) simulated on the virtual clock for ``--duration`` scenario time: ``1h`` is the simulated
hour, ``1d`` the simulated day. ``--bureaus N`` replaces the bundled roster by a synthetic one of
N NCBs (``--bureaus 10000``: ten thousand bureaus).

The run is lean (``RunOptions.lean``): its figures are kept as it goes, every event is streamed
to an ``events.jsonl`` in a temporary directory with its evidence chain, and only the notable
events stay in memory (``--keep-events``: every event kept in memory, as a normal run does).
``--crypto modelled``: the cryptography modelled by keyed digests (``run --crypto modelled``);
the floor is still the real seal and open, so the ratios say what modelling saves.

Printed: the wall time of the run (start-up, keys and network, apart), the messages sealed, and
the floor measured in the same run (before and after it, the mean): the same number of envelopes
sealed and opened by the codec alone, with no core, driver, broker or clock; and that floor
spread over the machine's cores (the floor divided by the cores: what a simulation that used
every core for nothing but the cryptography would take). The ratios say what the simulation adds
to the cryptography it cannot avoid. Also the peak resident memory of the process at ten
scenario minutes (when the run is that long) and at the end.

Goals (issue: a simulated day): the simulated hour within 1.25x of the floor spread over the
cores, its peak memory within 10 % of the peak at ten minutes; 10,000 bureaus for a simulated
hour within 2 GB.
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

from scenarios.cli import LIBRARY
from scenarios.model import load_scenario, parse_duration
from scenarios.runner import RunOptions, simulate


def peak_rss_mb() -> float:
    """The process's peak resident memory so far (``VmHWM``), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", default="60", help="scenario time: 60, 1h, 1d")
    parser.add_argument("--bureaus", type=int, default=0, help="a synthetic roster of N NCBs")
    parser.add_argument("--keep-events", action="store_true", help="keep every event in memory")
    parser.add_argument("--crypto", choices=["real", "modelled"], default="real")
    args = parser.parse_args()
    duration = float(parse_duration(args.duration))  # type: ignore[arg-type]
    scenario = load_scenario(LIBRARY / "steady-state.yaml")
    if args.bureaus:
        scenario = scenario.model_copy(update={"roster": f"synthetic:{args.bureaus}"})
    cores_here = len(os.sched_getaffinity(0))
    before_us = seal_and_open_us(1000)
    rss0 = peak_rss_mb()
    at_ten_minutes: list[float] = []

    def tick(now: float, _end: float, _events: int) -> None:
        if now >= 600 and not at_ten_minutes:
            at_ten_minutes.append(peak_rss_mb())

    with tempfile.TemporaryDirectory(prefix="bureaunet-bench-") as tmp:
        options = RunOptions(
            duration=duration,
            on_tick=tick,
            lean=not args.keep_events,
            events_path=Path(tmp) / "events.jsonl",
            crypto=args.crypto,
        )
        start = time.perf_counter()
        result = simulate(scenario, options)
        total = time.perf_counter() - start
        peak = peak_rss_mb()
        log_mb = (Path(tmp) / "events.jsonl").stat().st_size / 1e6 if options.lean else 0.0
    figures_now = result.figures
    if figures_now is not None:
        sealed, delivered = figures_now.sent, figures_now.delivered
        events = figures_now.events
    else:
        sealed = sum(1 for e in result.events if e.kind == "sent")
        delivered = sum(1 for e in result.events if e.kind == "delivered")
        events = len(result.events)
    per_envelope = (before_us + seal_and_open_us(1000)) / 2
    floor = sealed * per_envelope / 1e6
    spread = floor / cores_here
    figures = {
        "scenario_s": duration,
        "bureaus": len(result.roster),
        "lean": options.lean,
        "crypto": options.crypto,
        "startup_s": round(total - result.wall_s, 2),
        "run_wall_s": round(result.wall_s, 2),
        "envelopes_sealed": sealed,
        "deliveries": delivered,
        "events": events,
        "events_kept": len(result.events),
        "event_log_mb": round(log_mb, 1),
        "seal_open_us_per_envelope": round(per_envelope, 1),
        "floor_s": round(floor, 2),
        "cores": cores_here,
        "floor_spread_s": round(spread, 2),
        "run_vs_floor": round(result.wall_s / floor, 2) if floor else None,
        "run_vs_floor_spread": round(result.wall_s / spread, 2) if spread else None,
        "peak_rss_mb": round(peak, 0),
        "peak_rss_at_10min_mb": round(at_ten_minutes[0], 0) if at_ten_minutes else None,
        "rss_before_mb": round(rss0, 0),
    }
    for name, value in figures.items():
        print(json.dumps({"bench": "simulated_load", "figure": name, "value": value}))
    ten = (
        f"; at ten minutes {at_ten_minutes[0]:.0f} MB (ratio {peak / at_ten_minutes[0]:.2f})"
        if at_ten_minutes
        else ""
    )
    print(
        f"\n{duration:g} scenario s, {figures['bureaus']} bureaus: start-up "
        f"{figures['startup_s']} s, run {figures['run_wall_s']} s for {sealed:,} envelopes "
        f"({delivered:,} delivered, {events:,} events, {len(result.events):,} kept); floor "
        f"(seal + open alone) {figures['floor_s']} s: ratio {figures['run_vs_floor']}; spread "
        f"over {cores_here} cores {figures['floor_spread_s']} s: ratio "
        f"{figures['run_vs_floor_spread']} (goal <= 1.25); peak memory {peak:.0f} MB{ten}"
    )


if __name__ == "__main__":
    main()
