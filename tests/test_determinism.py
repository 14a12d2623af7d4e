"""Same seed, same result: simulations on the virtual clock do not depend on the host.

Each run is a separate ``bureaunet run --clock virtual`` process (its own hash seed, its own
keys and nonces); the wall-clock fields are left out of the comparison
(:mod:`scenarios.reports.comparable`). The same under load is ``bench/determinism_under_load.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scenarios.cli import LIBRARY
from scenarios.model import load_scenario
from scenarios.reports.comparable import comparable_run, comparable_summary
from scenarios.reports.metrics import summarise
from scenarios.runner import RunOptions, simulate


def run_cli(scenario: str, out: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from scenarios.cli import main; sys.exit(main())",
            "run",
            scenario,
            "--clock",
            "virtual",
            "--quiet",
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return comparable_run(out)


def test_the_same_seed_gives_the_same_events_and_summary_in_two_processes(tmp_path: Path) -> None:
    # two interpreters, two hash seeds, two sets of keys and nonces: the same run. (The same
    # under a CPU-burning process on every core: bench/determinism_under_load.py, kept out of the
    # suite so that no test loads the CPU beside other tests' clocks.)
    first = run_cli("online-fraud", tmp_path / "first")
    second = run_cli("online-fraud", tmp_path / "second")
    assert len(first[0]) > 50  # a run with something in it
    assert first == second


def test_another_seed_gives_other_figures() -> None:
    scenario = load_scenario(LIBRARY / "hub-outage.yaml")
    one = simulate(scenario, RunOptions(duration=20))
    two = simulate(scenario, RunOptions(duration=20, seed=99))
    assert [e.message_id for e in one.events[:50]] != [e.message_id for e in two.events[:50]]


def test_the_hub_queues_and_carries_the_traffic_the_mesh_spreads() -> None:
    """hub-outage on hub and mesh: the hub's share of traffic and its queueing show in latency."""
    scenario = load_scenario(LIBRARY / "hub-outage.yaml")
    hub = simulate(scenario, RunOptions(topology="hub", duration=25))
    mesh = simulate(scenario, RunOptions(topology="mesh", duration=25))

    def ncb_latencies(result: Any) -> list[float]:
        return sorted(
            e.latency_ms
            for e in result.events
            if e.kind == "delivered"
            and e.peer != "gs"
            and e.latency_ms is not None
            and e.message_kind in ("diffusion", "case-message")
        )

    def through_gs(result: Any) -> int:
        return sum(1 for e in result.events if e.kind == "hop" and e.bureau == "gs")

    hub_ms, mesh_ms = ncb_latencies(hub), ncb_latencies(mesh)
    # the hub relays every NCB-to-NCB message; the mesh none
    assert through_gs(hub) > 500
    assert through_gs(mesh) == 0
    # one more WAN hop and the queue at the hub's desk: slower, in simulated time
    assert hub_ms[len(hub_ms) // 2] > mesh_ms[len(mesh_ms) // 2] + 10


GOLDEN = Path(__file__).parent / "data" / "golden"
"""Where ``tools/golden.py`` records the summaries (``python tools/golden.py`` to record again)."""


@pytest.mark.parametrize("name", ["red-notice", "missing-child"])
def test_a_bundled_scenario_gives_its_recorded_summary(name: str) -> None:
    result = simulate(load_scenario(LIBRARY / f"{name}.yaml"), RunOptions())
    summary = comparable_summary(summarise(result))  # as written to summary.json
    assert summary == json.loads((GOLDEN / f"{name}.summary.json").read_text(encoding="utf-8"))
