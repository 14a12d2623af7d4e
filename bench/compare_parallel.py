"""A comparison's runs side by side against one after the other, with the same results.

Run: python bench/compare_parallel.py [--seeds 30] [--topology hub,regional,mesh,hybrid]
                                      [--jobs 0] [--duration 0] [--no-serial] [--modelled]

``hub-outage`` on each topology for each seed, twice in this process's run: serially (one cell
after the other, here) and on ``--jobs`` worker processes (0: one per core), as ``bureaunet
compare`` runs them. Printed: the wall time of each, the ratio serial / parallel, and whether
every cell's figures are identical (they must be: the virtual clock and the seed decide them).
``--duration`` shortens each run (scenario seconds; 0: the scenario's own 80 s).
``--no-serial`` skips the serial sweep. ``--modelled`` also runs the parallel sweep with the
cryptography modelled (``compare --crypto modelled``): its wall time, its ratio to the real
parallel sweep, and whether every cell's figures are the real ones but for the mode's name.

Goal (issue: a simulated day): at least 1.8x faster than serial on two cores, identical results.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

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
    parser.add_argument("--no-serial", action="store_true")
    parser.add_argument("--modelled", action="store_true")
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
    parallel = sweep(scenario, cells, options, jobs=jobs)
    parallel_s = time.perf_counter() - start
    figures: dict[str, object] = {
        "cells": len(cells),
        "jobs": jobs,
        "parallel_s": round(parallel_s, 1),
    }
    lines = [f"{len(cells)} runs of hub-outage on {jobs} processes: {parallel_s:.1f} s"]
    if not args.no_serial:
        start = time.perf_counter()
        serial = sweep(scenario, cells, options, jobs=1)
        serial_s = time.perf_counter() - start
        identical = [a.figures for a in serial] == [b.figures for b in parallel]
        figures |= {
            "serial_s": round(serial_s, 1),
            "speed_up": round(serial_s / parallel_s, 2),
            "identical": identical,
        }
        lines.append(
            f"serial {serial_s:.1f} s: {serial_s / parallel_s:.2f}x faster on {jobs} processes "
            f"(goal >= 1.8), results {'identical' if identical else 'DIFFERENT'}"
        )
    if args.modelled:
        start = time.perf_counter()
        modelled = sweep(scenario, cells, replace(options, crypto="modelled"), jobs=jobs)
        modelled_s = time.perf_counter() - start
        same = [_but_crypto(a.figures) for a in parallel] == [
            _but_crypto(b.figures) for b in modelled
        ]
        figures |= {
            "modelled_parallel_s": round(modelled_s, 1),
            "modelled_vs_real": round(modelled_s / parallel_s, 2),
            "modelled_same_figures": same,
        }
        lines.append(
            f"with the cryptography modelled {modelled_s:.1f} s ({modelled_s / parallel_s:.2f}x "
            f"the real sweep), figures {'the same' if same else 'DIFFERENT'}"
        )
    for name, value in figures.items():
        print(json.dumps({"bench": "compare_parallel", "figure": name, "value": value}))
    print("\n" + "; ".join(lines))


def _but_crypto(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in figures.items() if k != "crypto"}


if __name__ == "__main__":
    main()
