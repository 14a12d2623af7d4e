"""A comparison's runs side by side against one after the other, with the same results.

Run: python bench/compare_parallel.py [--seeds 30] [--topology hub,regional,mesh,hybrid]
                                      [--jobs 0] [--duration 0]

``hub-outage`` on each topology for each seed, twice in this process's run: serially (one cell
after the other, here) and on ``--jobs`` worker processes (0: one per core), as ``bureaunet
compare`` runs them. Printed: the wall time of each, the ratio serial / parallel, and whether
every cell's figures are identical (they must be: the virtual clock and the seed decide them).
``--duration`` shortens each run (scenario seconds; 0: the scenario's own 80 s).

Goal (issue: a simulated day): at least 1.8x faster than serial on two cores, identical results.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scenarios.cli import LIBRARY
from scenarios.model import load_scenario
from scenarios.runner import RunOptions
from scenarios.sweep import Cell, local_jobs, sweep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--topology", default="hub,regional,mesh,hybrid")
    parser.add_argument("--jobs", type=int, default=0)
    parser.add_argument("--duration", type=float, default=0.0)
    args = parser.parse_args()
    scenario = load_scenario(LIBRARY / "hub-outage.yaml")
    jobs = args.jobs or local_jobs()
    options = RunOptions(clock="virtual", duration=args.duration or None)
    cells = [
        Cell(t, seed, report=seed == scenario.seed)  # type: ignore[arg-type]
        for t in args.topology.split(",")
        for seed in range(scenario.seed, scenario.seed + args.seeds)
    ]
    start = time.perf_counter()
    serial = sweep(scenario, cells, options, jobs=1)
    serial_s = time.perf_counter() - start
    start = time.perf_counter()
    parallel = sweep(scenario, cells, options, jobs=jobs)
    parallel_s = time.perf_counter() - start
    identical = [a.figures for a in serial] == [b.figures for b in parallel]
    figures = {
        "cells": len(cells),
        "jobs": jobs,
        "serial_s": round(serial_s, 1),
        "parallel_s": round(parallel_s, 1),
        "speed_up": round(serial_s / parallel_s, 2),
        "identical": identical,
    }
    for name, value in figures.items():
        print(json.dumps({"bench": "compare_parallel", "figure": name, "value": value}))
    print(
        f"\n{len(cells)} runs of hub-outage: serial {serial_s:.1f} s, on {jobs} processes "
        f"{parallel_s:.1f} s: {serial_s / parallel_s:.2f}x faster (goal >= 1.8), results "
        f"{'identical' if identical else 'DIFFERENT'}"
    )


if __name__ == "__main__":
    main()
