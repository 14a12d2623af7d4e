"""Sweeps: one scenario over many (topology, seed) cells, on every core or on a cluster.

Each cell is a whole simulation, independent of the others, and gives the same figures wherever
it runs: the seed fixes every draw and the virtual clock fixes every time (keys differ, and no
figure depends on them). So cells are spread over worker processes, or over the workers of an
existing Dask distributed cluster, and the results are put back in cell order: a parallel sweep
gives exactly what the serial one gives (``tests/test_sweep.py``).

A cell sends back its figures (:func:`scenarios.reports.compare.cell_figures`), not its events,
and the report files of the cells that keep one, as bytes: a cluster's worker may have another
disk. Live runs (``--clock wall``) are never run side by side: they would share the CPU, and the
host shows in their figures.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from protocol.network.routing import Topology
from scenarios.launch import run
from scenarios.model import Scenario
from scenarios.reports.compare import cell_figures
from scenarios.reports.metrics import check_expectations, summarise
from scenarios.reports.writer import write_report
from scenarios.results import RunResult, ScenarioRunError
from scenarios.runner import RunOptions

__all__ = [
    "Cell",
    "CellResult",
    "SweepError",
    "cell_result",
    "local_jobs",
    "run_cell",
    "sweep",
]


class SweepError(ScenarioRunError):
    """A sweep cannot run as asked (no cluster at that address, a cell that failed there)."""


@dataclass(frozen=True)
class Cell:
    """One run of a sweep: the scenario on ``topology`` with ``seed``.

    Attributes:
        report: Whether the run's report is kept (the first seed of each topology's is).
    """

    topology: Topology
    seed: int
    report: bool = False


@dataclass
class CellResult:
    """What one cell gives back: its figures and, if it kept one, its report's files."""

    cell: Cell
    figures: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    """Report files by path relative to the report directory."""


def local_jobs() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def run_cell(scenario: Scenario, cell: Cell, options: RunOptions) -> CellResult:
    """Run one cell where this is called (a worker process, a cluster's worker, or here)."""
    result = run(scenario, dataclasses.replace(options, topology=cell.topology, seed=cell.seed))
    return cell_result(result, cell)


def cell_result(result: RunResult, cell: Cell) -> CellResult:
    """A finished run's figures, and its report's files if the cell keeps one."""
    summary = summarise(result)
    results = check_expectations(result)
    files: dict[str, bytes] = {}
    if cell.report:
        with tempfile.TemporaryDirectory(prefix="bureaunet-cell-") as tmp:
            write_report(result, summary, results, Path(tmp))
            files = {
                str(path.relative_to(tmp)): path.read_bytes()
                for path in sorted(Path(tmp).rglob("*"))
                if path.is_file()
            }
    return CellResult(cell, cell_figures(result, summary, results), files)


Done = Callable[[CellResult, int, int], None]
"""Told of each finished cell, with how many are finished and how many there are."""


def sweep(
    scenario: Scenario,
    cells: Sequence[Cell],
    options: RunOptions,
    *,
    jobs: int = 1,
    cluster: str | None = None,
    on_done: Done | None = None,
    connect_timeout_s: float = 10.0,
) -> list[CellResult]:
    """Run every cell and give their results in the order of ``cells``.

    ``jobs`` processes of this machine run the cells (1: one after the other, here), or the
    workers of the Dask distributed scheduler at ``cluster`` (``tcp://host:8786``) do.

    Raises:
        ScenarioRunError: A cell could not run (its own error; side by side, the first cell to
            fail, which need not be the first in order).
        SweepError: The cluster cannot be reached, or Dask distributed is not installed.
    """
    options = dataclasses.replace(options, on_tick=None, control=None)
    if cluster is not None:
        runs = _on_cluster(scenario, cells, options, cluster, connect_timeout_s)
    elif jobs > 1 and len(cells) > 1:
        runs = _on_processes(scenario, cells, options, min(jobs, len(cells)))
    else:
        runs = ((k, run_cell(scenario, cell, options)) for k, cell in enumerate(cells))
    results: dict[int, CellResult] = {}
    for index, result in runs:
        results[index] = result
        if on_done is not None:
            on_done(result, len(results), len(cells))
    return [results[k] for k in range(len(cells))]


def _on_processes(
    scenario: Scenario, cells: Sequence[Cell], options: RunOptions, jobs: int
) -> Iterator[tuple[int, CellResult]]:
    # spawned, not forked: the parent may run threads (a progress display), which a fork copies
    # in whatever state they are in
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {pool.submit(run_cell, scenario, c, options): k for k, c in enumerate(cells)}
        try:
            yield from _in_turn(futures)
        finally:
            for future in futures:
                future.cancel()


def _in_turn(futures: dict[Future[CellResult], int]) -> Iterator[tuple[int, CellResult]]:
    """Results as they finish; a cell that failed raises its error here."""
    for future in as_completed(futures):
        yield futures[future], future.result()


def _on_cluster(
    scenario: Scenario, cells: Sequence[Cell], options: RunOptions, address: str, timeout_s: float
) -> Iterator[tuple[int, CellResult]]:
    try:
        from distributed import Client  # noqa: PLC0415 - an optional extra, for --cluster only
        from distributed import as_completed as cluster_completed  # noqa: PLC0415
    except ImportError as exc:
        raise SweepError(
            "--cluster needs Dask distributed: pip install 'bureaunet[cluster]'"
        ) from exc
    try:
        client = Client(address, timeout=f"{timeout_s}s")  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError) as exc:
        raise SweepError(f"no Dask scheduler answers at {address}: {exc}") from exc
    with client:
        futures = [client.submit(run_cell, scenario, cell, options, pure=False) for cell in cells]
        index = {f.key: k for k, f in enumerate(futures)}
        try:
            for future in cluster_completed(futures):  # type: ignore[no-untyped-call]
                yield index[future.key], future.result()
        finally:
            client.cancel(futures)  # type: ignore[no-untyped-call]
