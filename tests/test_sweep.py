"""Sweeps: the cells of a comparison on every core and on a Dask cluster, identical to serial."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from distributed import LocalCluster

from broker import free_port
from scenarios.cli import LIBRARY, main
from scenarios.model import load_scenario, parse_scenario
from scenarios.results import ScenarioRunError
from scenarios.runner import RunOptions
from scenarios.sweep import Cell, CellResult, SweepError, sweep

# hub-outage shortened past its outage: seeded load, so seeds give different figures
OPTIONS = RunOptions(clock="virtual", duration=40.0)
CELLS = [
    Cell("hub", 16, report=True),
    Cell("hub", 17),
    Cell("mesh", 16, report=True),
    Cell("mesh", 17),
]


@pytest.fixture(scope="module")
def serial() -> list[CellResult]:
    return sweep(load_scenario(LIBRARY / "hub-outage.yaml"), CELLS, OPTIONS, jobs=1)


def test_the_cells_of_a_sweep_differ_by_seed_and_by_topology(serial: list[CellResult]) -> None:
    figures = [r.figures for r in serial]
    assert [r.cell for r in serial] == CELLS
    assert figures[0]["messages"] != figures[1]["messages"]  # the seed draws the load
    assert figures[0]["routes"] != figures[2]["routes"]
    assert figures[0]["buys"]["links"] == 40  # one link per NCB
    assert figures[2]["buys"]["links"] == 41 * 40 // 2  # every pair of bureaus
    # the cells that keep a report bring its files, signed, back as bytes
    assert {"summary.json", "events.jsonl", "events.sig", "report.html"} <= set(serial[0].files)
    assert serial[1].files == {}


def test_a_sweep_on_two_processes_gives_what_the_serial_one_gives(
    serial: list[CellResult],
) -> None:
    seen: list[tuple[str, int, int, int]] = []
    parallel = sweep(
        load_scenario(LIBRARY / "hub-outage.yaml"),
        CELLS,
        OPTIONS,
        jobs=2,
        on_done=lambda r, done, total: seen.append((r.cell.topology, r.cell.seed, done, total)),
    )
    assert [r.cell for r in parallel] == CELLS
    assert [r.figures for r in parallel] == [r.figures for r in serial]
    assert sorted((t, s) for t, s, _d, _n in seen) == sorted((c.topology, c.seed) for c in CELLS)
    assert [d for _t, _s, d, _n in seen] == [1, 2, 3, 4]


def test_a_sweep_on_a_dask_cluster_gives_what_the_serial_one_gives(
    serial: list[CellResult],
) -> None:
    with LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        on_cluster = sweep(
            load_scenario(LIBRARY / "hub-outage.yaml"),
            CELLS,
            OPTIONS,
            cluster=cluster.scheduler_address,
        )
    assert [r.figures for r in on_cluster] == [r.figures for r in serial]
    assert on_cluster[0].files.keys() == serial[0].files.keys()


def test_a_cluster_nobody_answers_is_a_clear_error() -> None:
    address = f"tcp://127.0.0.1:{free_port()}"
    scenario = load_scenario(LIBRARY / "red-notice.yaml")
    with pytest.raises(SweepError, match=r"no Dask scheduler answers at tcp://127\.0\.0\.1"):
        sweep(scenario, [Cell("hub", 1)], OPTIONS, cluster=address, connect_timeout_s=1)


def test_a_cell_that_fails_in_a_worker_process_fails_the_sweep_with_its_reason(
    tmp_path: Path,
) -> None:
    scenario = parse_scenario("name: small\nroster: [gs, FR, DE]\nduration: 2\n")
    options = dataclasses.replace(OPTIONS, pki=tmp_path / "no-such-pki")
    with pytest.raises(ScenarioRunError, match="no-such-pki"):
        sweep(scenario, [Cell("hub", 1), Cell("mesh", 1)], options, jobs=2)


def test_a_live_comparison_is_never_run_side_by_side(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["compare", "red-notice", "--clock", "wall", "--jobs", "2", "--quiet"])
    assert code == 2
    assert "one at a time" in capsys.readouterr().err
