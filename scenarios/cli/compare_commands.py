"""``compare``: one scenario on several topologies and seeds, side by side."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from broker import (
    BrokerError,
)
from protocol.network.routing import TOPOLOGIES
from scenarios.cli.base import CliError
from scenarios.cli.common import CRYPTO_OPTION, PKI_OPTION, err, out
from scenarios.cli.run_commands import (
    load_named,
    run_with_progress,
)
from scenarios.model import (
    MAX_SEED,
    Scenario,
)
from scenarios.reports.compare import (
    compare_row,
    compare_table,
    fault_windows,
    seeds_note,
    write_compare,
)
from scenarios.reports.safety import path_component
from scenarios.runner import (
    ClockKind,
    CryptoKind,
    RunOptions,
    ScenarioRunError,
    check_simulation_only,
)
from scenarios.sweep import Cell, CellResult, cell_result, local_jobs, sweep


@click.command("compare")
@click.argument("scenario_file", metavar="SCENARIO")
@click.option(
    "--topology",
    "topologies",
    default=",".join(TOPOLOGIES),
    show_default=True,
    help="Comma-separated topologies to compare.",
)
@click.option(
    "--broker",
    default="embedded",
    show_default=True,
    help="The broker of a live comparison (--clock wall).",
)
@click.option(
    "--seed",
    type=click.IntRange(0, MAX_SEED),
    default=None,
    help="The first seed (default: the file's).",
)
@click.option(
    "--seeds",
    type=click.IntRange(1, 50),
    default=1,
    show_default=True,
    help="Run each topology with this many seeds (the first, the next ...) and show the mean "
    "and the spread of the latencies: a difference smaller than the spread is no lesson.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory for compare.html and one report per topology "
    "(default: reports/<scenario>-compare).",
)
@PKI_OPTION
@click.option(
    "--jobs",
    type=click.IntRange(1, 256),
    default=None,
    help="Processes to run the simulations on, side by side (default: one per core). Live "
    "comparisons (--clock wall) run one at a time.",
)
@click.option(
    "--cluster",
    default=None,
    metavar="ADDRESS",
    help="Run the simulations on the workers of a Dask distributed scheduler "
    "(tcp://host:8786; needs bureaunet[cluster] there and here).",
)
@click.option("--quiet", is_flag=True, help="No progress display.")
@CRYPTO_OPTION
@click.option(
    "--clock",
    type=click.Choice(["virtual", "wall"]),
    default="virtual",
    show_default=True,
    help="'virtual': simulated, so the figures are the topology's, the same on every run and "
    "host. 'wall': live on a real broker, where the host's CPU shows in the figures too.",
)
def compare(
    scenario_file: str,
    topologies: str,
    broker: str,
    seed: int | None,
    seeds: int,
    out_dir: Path | None,
    pki_dir: Path | None,
    jobs: int | None,
    cluster: str | None,
    quiet: bool,
    crypto: CryptoKind,
    clock: ClockKind,
) -> None:
    """Run one scenario on several topologies with the same seed, side by side."""
    scenario = load_named(scenario_file)
    names = _topologies(topologies)
    if clock == "wall" and ((jobs or 1) > 1 or cluster):
        raise CliError(
            "live comparisons run one at a time (side by side they would share the CPU, and "
            "the host would show in each other's figures): drop --jobs and --cluster"
        )
    out_dir = out_dir or Path("reports") / path_component(f"{scenario.name}-compare")
    first = seed if seed is not None else scenario.seed
    options = RunOptions(broker=broker, pki=pki_dir, clock=clock, crypto=crypto)
    try:
        check_simulation_only(options)  # before any run starts
    except ScenarioRunError as exc:
        raise CliError(str(exc)) from exc
    cells = [
        Cell(name, s, report=s == first)  # type: ignore[arg-type]
        for name in names
        for s in range(first, first + seeds)
    ]
    processes = 1 if clock == "wall" else (jobs or local_jobs())
    done = _run_cells(scenario, cells, options, processes, cluster, quiet)
    rows = [_row(name, done, out_dir) for name in names]
    write_compare(rows, out_dir, scenario.name, fault_windows(scenario))
    _print_table(scenario.name, rows)
    out.print(f"report: {out_dir / 'compare.html'}", markup=False)


def _run_cells(
    scenario: Scenario,
    cells: list[Cell],
    options: RunOptions,
    processes: int,
    cluster: str | None,
    quiet: bool,
) -> list[CellResult]:
    """Every cell's result: one after the other with a bar each, or side by side."""
    try:
        if processes == 1 and cluster is None and not quiet:
            return [_with_progress(scenario, c, options) for c in cells]
        return _sweep_with_progress(scenario, cells, options, processes, cluster, quiet)
    except (ScenarioRunError, BrokerError) as exc:
        raise CliError(str(exc)) from exc


def _topologies(text: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    bad = [t for t in names if t not in TOPOLOGIES]
    if bad or not names:
        raise CliError(f"unknown topology {', '.join(bad) or '(none)'}; one of {TOPOLOGIES}")
    return names


def _row(name: str, done: list[CellResult], out_dir: Path) -> dict[str, Any]:
    """One topology's row, its report's files written under ``out_dir``."""
    mine = [d for d in done if d.cell.topology == name]
    for d in mine:
        for relative, data in d.files.items():
            target = out_dir / name / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    return compare_row(name, [d.figures for d in mine])


def _with_progress(scenario: Scenario, cell: Cell, options: RunOptions) -> CellResult:
    """One cell here, with its own progress bar (a serial comparison on the terminal)."""
    result = run_with_progress(
        scenario, dataclasses.replace(options, topology=cell.topology, seed=cell.seed), False
    )
    return cell_result(result, cell)


def _sweep_with_progress(
    scenario: Scenario,
    cells: list[Cell],
    options: RunOptions,
    jobs: int,
    cluster: str | None,
    quiet: bool,
) -> list[CellResult]:
    """The cells side by side, one bar counting the runs done (none if ``quiet``)."""
    where = f"on the cluster at {cluster}" if cluster else f"on {jobs} processes"
    if quiet:
        return sweep(scenario, cells, options, jobs=jobs, cluster=cluster)
    with Progress(
        TextColumn("{task.description}", style="bold", markup=False),
        BarColumn(),
        TextColumn("{task.fields[info]}", markup=False),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task(
            f"{scenario.name}: {len(cells)} runs {where}", total=len(cells), info="starting"
        )

        def done(result: CellResult, finished: int, total: int) -> None:
            cell = result.cell
            progress.update(
                task,
                completed=finished,
                info=f"{finished}/{total}, last: {cell.topology}, seed {cell.seed}",
            )

        return sweep(scenario, cells, options, jobs=jobs, cluster=cluster, on_done=done)


def _print_table(name: str, rows: list[dict[str, Any]]) -> None:
    table = Table(title=f"{name}: topologies compared", width=80)
    head, body = compare_table(rows, compact=True)
    for column in head:
        table.add_column(column, overflow="fold")
    for line in body:
        table.add_row(*line)
    out.print(table)
    for row in rows:
        out.print(f"{row['topology']}: {row['example_route']}", markup=False)
    note = seeds_note(rows)
    if note:
        out.print(note, markup=False)
