"""``compare``: one scenario on several topologies and seeds, side by side."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from broker import (
    BrokerError,
)
from protocol.network.routing import TOPOLOGIES, Topology
from scenarios.cli.base import CliError
from scenarios.cli.common import PKI_OPTION, out
from scenarios.cli.run_commands import (
    load_named,
    run_with_progress,
)
from scenarios.model import (
    MAX_SEED,
    Scenario,
)
from scenarios.reports.compare import compare_row, compare_table, seeds_note, write_compare
from scenarios.reports.metrics import check_expectations, summarise
from scenarios.reports.safety import path_component
from scenarios.reports.writer import write_report
from scenarios.runner import ClockKind, RunOptions, ScenarioRunError


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
@click.option("--quiet", is_flag=True, help="No progress display.")
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
    quiet: bool,
    clock: ClockKind,
) -> None:
    """Run one scenario on several topologies with the same seed, side by side."""
    scenario = load_named(scenario_file)
    names = [t.strip() for t in topologies.split(",") if t.strip()]
    bad = [t for t in names if t not in TOPOLOGIES]
    if bad or not names:
        raise CliError(f"unknown topology {', '.join(bad) or '(none)'}; one of {TOPOLOGIES}")
    out_dir = out_dir or Path("reports") / path_component(f"{scenario.name}-compare")
    first = seed if seed is not None else scenario.seed
    options = RunOptions(broker=broker, pki=pki_dir, clock=clock)
    rows = [
        _topology_row(scenario, name, range(first, first + seeds), options, out_dir, quiet)
        for name in names
    ]
    write_compare(rows, out_dir, scenario.name)
    _print_table(scenario.name, rows)
    out.print(f"report: {out_dir / 'compare.html'}", markup=False)


def _topology_row(
    scenario: Scenario,
    name: str,
    seeds: range,
    base: RunOptions,
    out_dir: Path,
    quiet: bool,
) -> dict[str, Any]:
    """Run the scenario on one topology for each seed; the comparison's row for it."""
    topology: Topology = name  # type: ignore[assignment]
    runs = []
    for seed in seeds:
        options = dataclasses.replace(base, topology=topology, seed=seed)
        try:
            result = run_with_progress(scenario, options, quiet)
        except (ScenarioRunError, BrokerError) as exc:
            raise CliError(str(exc)) from exc
        summary = summarise(result)
        results = check_expectations(result)
        if seed == seeds.start:  # the report of the first seed stands for the topology
            write_report(result, summary, results, out_dir / name)
        runs.append((result, summary, results))
    return compare_row(name, runs)


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
