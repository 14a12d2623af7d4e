"""The same seed gives the same run under load: a simulation idle, then beside busy processes.

Run: python bench/determinism_under_load.py [--scenario online-fraud]

Runs ``bureaunet run SCENARIO --clock virtual`` twice in fresh processes: once on an idle
machine, once with a CPU-burning process on every core. Prints whether the events and summary
(less the wall-clock fields, :mod:`scenarios.reports.comparable`) are identical, and both wall
times with their ratio (the loaded run is slower; its results must not differ). Kept out of the
test suite: a test must not load the CPU beside other tests' clocks.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scenarios.reports.comparable import comparable_run


def _burn() -> None:
    while True:
        pass


@contextmanager
def cpu_burners() -> Iterator[None]:
    """A busy process on every core for the duration of the block."""
    context = multiprocessing.get_context("spawn")
    burners = [context.Process(target=_burn, daemon=True) for _ in range(os.cpu_count() or 2)]
    for burner in burners:
        burner.start()
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.join()


def run(scenario: str, out: Path) -> float:
    """Seconds for a fresh process to simulate ``scenario`` into ``out``."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "scenarios.cli", "run", scenario, "--clock", "virtual",
         "--quiet", "--out", str(out)],
        check=True, capture_output=True, timeout=1_800,
    )  # fmt: skip
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default="online-fraud")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        idle = run(args.scenario, Path(tmp) / "idle")
        with cpu_burners():
            loaded = run(args.scenario, Path(tmp) / "loaded")
        same = comparable_run(Path(tmp) / "idle") == comparable_run(Path(tmp) / "loaded")
        events = len(comparable_run(Path(tmp) / "idle")[0])
    print(
        json.dumps(
            {
                "bench": "determinism_under_load",
                "scenario": args.scenario,
                "events": events,
                "identical": same,
                "idle_s": round(idle, 2),
                "loaded_s": round(loaded, 2),
                "ratio": round(loaded / idle, 2),
            }
        )
    )
    print(f"\n{args.scenario}: {events} events, identical idle and under load: {same}")
    print(f"idle {idle:.1f} s, beside {os.cpu_count()} busy processes {loaded:.1f} s")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
