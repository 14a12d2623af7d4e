"""Same seed, same result: simulations on the virtual clock do not depend on the host.

Each run is a separate ``bureaunet run --clock virtual`` process (its own hash seed, its own
keys and nonces), once more with a CPU-burning process on every core beside it. The documented
wall-clock fields are left out of the comparison: ``t_ns`` and ``chain`` of each event (anchored
at the run's start on the wall clock), and ``wall_s`` and ``evidence`` of the summary (real
duration; the throwaway PKI's fingerprint).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from scenarios.cli import LIBRARY
from scenarios.model import load_scenario
from scenarios.reports.metrics import summarise
from scenarios.runner import RunOptions, simulate

WALL_CLOCK_EVENT_FIELDS = ("t_ns", "chain")
WALL_CLOCK_SUMMARY_FIELDS = ("wall_s", "evidence")


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
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    for event in events:
        for name in WALL_CLOCK_EVENT_FIELDS:
            event.pop(name)
    summary = json.loads((out / "summary.json").read_text())
    for name in WALL_CLOCK_SUMMARY_FIELDS:
        summary.pop(name)
    return events, summary


def test_the_same_seed_gives_the_same_events_and_summary_even_under_load(tmp_path: Path) -> None:
    first = run_cli("online-fraud", tmp_path / "first")
    second = run_cli("online-fraud", tmp_path / "second")
    with cpu_burners():
        loaded = run_cli("online-fraud", tmp_path / "loaded")
    assert len(first[0]) > 50  # a run with something in it
    assert first == second
    assert first == loaded


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


@pytest.mark.parametrize("name", ["red-notice", "missing-child"])
def test_a_bundled_scenario_gives_its_recorded_summary(name: str) -> None:
    result = simulate(load_scenario(LIBRARY / f"{name}.yaml"), RunOptions())
    summary = json.loads(json.dumps(summarise(result)))  # as written to summary.json
    for field in WALL_CLOCK_SUMMARY_FIELDS:
        summary.pop(field, None)  # (the evidence is added when the report is written)
    assert summary == json.loads((GOLDEN / f"{name}.summary.json").read_text(encoding="utf-8"))
