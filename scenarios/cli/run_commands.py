"""``run``, ``exercise`` and ``compare``: scenarios run, and their reports written.

The three commands share the scenario options, the progress display and the summary; each is a
thin translation of arguments and errors around the scenario layer. A run's evidence is checked
by the commands of :mod:`~scenarios.cli.evidence_commands`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from pydantic import ValidationError
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from broker import (
    BrokerError,
)
from bureaus.connectors import MQTT_CLIENTS, MqttClient
from protocol.network.routing import TOPOLOGIES, Topology
from scenarios.cli.base import EXIT_FAILED, LIBRARY, CliError
from scenarios.cli.common import CRYPTO_OPTION, PKI_OPTION, err, out
from scenarios.launch import run as run_blocking
from scenarios.model import (
    MAX_SEED,
    MAX_SPEED,
    MIN_SPEED,
    Scenario,
    ScenarioError,
    load_scenario,
    parse_duration,
)
from scenarios.reports.metrics import ExpectationResult, check_expectations, summarise
from scenarios.reports.safety import path_component
from scenarios.reports.writer import PARTIAL_LOG, write_report
from scenarios.runner import ClockKind, CryptoKind, RunOptions, RunResult, ScenarioRunError


def _scenario_path(value: str) -> Path:
    path = Path(value)
    if path.exists():
        return path
    bundled = LIBRARY / f"{value.removesuffix('.yaml')}.yaml"
    if bundled.exists():
        return bundled
    raise CliError(f"no scenario file {value!r} (bundled: {', '.join(bundled_names())})")


def bundled_names() -> list[str]:
    """The bundled scenarios' names."""
    return sorted(p.stem for p in LIBRARY.glob("*.yaml"))


def load_named(value: str) -> Scenario:
    """A scenario by file path or bundled name; its problems as a command-line error."""
    try:
        return load_scenario(_scenario_path(value))
    except ScenarioError as exc:
        raise CliError("\n".join(exc.problems)) from exc


def run_with_progress(scenario: Scenario, options: RunOptions, quiet: bool) -> RunResult:
    """Run a scenario, with a progress bar on the terminal unless ``quiet``."""
    if quiet:
        return run_blocking(scenario, options)
    with Progress(
        TextColumn("{task.description}", style="bold", markup=False),
        BarColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        topology = options.topology or scenario.topology
        seed = options.seed if options.seed is not None else scenario.seed
        name = f"{scenario.name} on {topology}, seed {seed}"
        task = progress.add_task(name, total=scenario.duration, info="starting")

        def tick(now: float, end: float, events: int) -> None:
            progress.update(
                task, completed=min(now, end), info=f"t={now:.1f}/{end:g} s, {events} events"
            )

        options.on_tick = tick
        return run_blocking(scenario, options)


def _print_summary(
    summary: dict[str, Any], results: list[ExpectationResult], out_dir: Path
) -> None:
    messages = summary["messages"]
    overall = summary["latency_ms"]["overall"]
    table = Table(
        title=f"{summary['scenario']} on {summary['topology']} "
        f"({summary['bureaus']} bureaus, {summary['broker']['kind']})"
    )
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key in ("sent", "delivered", "acknowledged", "duplicates", "lost"):
        table.add_row(key, str(messages[key]))
    if messages.get("still_owed_at_end"):
        # deliveries still being resent when the run ended (a bureau away, an exercise ended
        # early): unfinished, not lost
        table.add_row("still owed at the end", str(messages["still_owed_at_end"]))
    table.add_row("rejected", str(sum(messages["rejected"].values())))
    if overall.get("count"):
        table.add_row("latency p50 / p99 (ms)", f"{overall['p50']:.2f} / {overall['p99']:.2f}")
    table.add_row("wall time (s)", f"{summary['wall_s']:.1f}")
    out.print(table)
    for result in results:
        mark = Text(
            result.verdict, "green" if result.passed else "red" if result.reached else "yellow"
        )
        out.print(Text.assemble(mark, f" {result.name}: {result.detail}"))
    page = out_dir / "report.html"
    out.print(f"report: {page if page.exists() else out_dir / 'summary.json'}", markup=False)
    try:
        written = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
        signer = written["evidence"]["signer_fingerprint"]
    except (OSError, ValueError, KeyError, TypeError):
        return
    out.print(
        f"evidence: signed by certificate {signer}; keep this fingerprint to check the run "
        f"later (bureaunet verify-log {out_dir} --fingerprint {signer})",
        markup=False,
    )


if TYPE_CHECKING:  # click's ParamType is generic only in its newer releases
    _FloatParam = click.ParamType[float]
else:
    _FloatParam = click.ParamType


class _Duration(_FloatParam):
    """Scenario time on the command line: ``90``, ``2h``, ``1d 12h``."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        try:
            seconds = float(parse_duration(value))  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            self.fail(str(exc), param, ctx)
        if seconds <= 0:
            self.fail(f"{value!r} is not a positive duration", param, ctx)
        return seconds


_DURATION = _Duration()


def at_speed(scenario: Scenario, speed: float) -> Scenario:
    """``scenario`` at another clock speed, checked as the file's own speed is.

    Raises:
        CliError: The speed is out of bounds, or makes the run longer than a run may take.
    """
    try:
        return Scenario.model_validate({**dict(scenario), "speed": speed})
    except ValidationError as exc:
        problem = exc.errors(include_url=False)[0]["msg"].removeprefix("Value error, ")
        raise CliError(f"speed {speed:g}: {problem}") from None


class _Pace(_FloatParam):
    """A pace as a facilitator says it: ``2m/h`` (two real minutes per scenario hour) → speed."""

    name = "pace"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            return value
        real, slash, per = str(value).partition("/")
        try:
            real_s = float(parse_duration(real))  # type: ignore[arg-type]
            unit = per.strip() if per.strip()[:1].isdigit() else f"1{per.strip()}"
            scenario_s = float(parse_duration(unit))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            real_s = scenario_s = 0.0
        if (
            not slash
            or not per.strip()
            or real_s <= 0
            or scenario_s <= 0
            or not MIN_SPEED <= scenario_s / real_s <= MAX_SPEED
        ):
            self.fail(
                f"{value!r} is not a pace: real time per scenario time, like 2m/h (two real "
                "minutes per scenario hour), 30s/h or 10m/d",
                param,
                ctx,
            )
        return scenario_s / real_s


PACE = _Pace()


def run_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options ``run`` and ``exercise`` share: broker, topology, seed, duration, report."""
    for option in reversed(
        [
            click.option(
                "--broker",
                default="embedded",
                show_default=True,
                help="'embedded' (Mosquitto if installed, else amqtt), 'embedded:mosquitto', "
                "'embedded:amqtt', 'embedded:nats' (a three-node NATS cluster), 'embedded:nats-r1' "
                "(the same with each subscription's queue on one node: faster), mqtt://host:port, "
                "or several URLs separated by commas (the nodes of one clustered broker).",
            ),
            click.option(
                "--transport",
                type=click.Choice(MQTT_CLIENTS),
                default="gmqtt",
                show_default=True,
                help="The MQTT client bureaus speak through on a real broker: 'gmqtt' (about a "
                "fifth of aiomqtt's CPU per message) or 'aiomqtt'.",
            ),
            click.option(
                "--topology",
                type=click.Choice(TOPOLOGIES),
                default=None,
                help="Override the scenario's topology.",
            ),
            click.option(
                "--seed",
                type=click.IntRange(0, MAX_SEED),
                default=None,
                help="Override the scenario's seed.",
            ),
            click.option(
                "--duration",
                type=_DURATION,
                default=None,
                help="Override the scenario's duration (seconds, or like 2h, 1d 12h), for a "
                "shortened run.",
            ),
            click.option(
                "--out",
                "out_dir",
                type=click.Path(file_okay=False, path_type=Path),
                default=None,
                help="Report directory (default: reports/<scenario>).",
            ),
            PKI_OPTION,
        ]
    ):
        command = option(command)
    return command


@click.command("run")
@click.argument("scenario_file", metavar="SCENARIO")
@run_options
@click.option("--quiet", is_flag=True, help="No progress display.")
@click.option(
    "--clock",
    type=click.Choice(["wall", "virtual"]),
    default="wall",
    show_default=True,
    help="'wall': live, on a real broker. 'virtual': a simulation on the in-memory broker and a "
    "discrete-event clock with modelled service times: the same seed gives the same "
    "summary.json and events.jsonl on any host.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Split the bureaus over this many worker processes (each its own event loop).",
)
@click.option(
    "--verifiers",
    type=click.IntRange(0, 16),
    default=0,
    show_default=True,
    help="Live runs: helper processes (per worker) that verify received envelopes' signatures "
    "on other cores, ahead of the bureaus. Worth it when a run is CPU-bound on one core.",
)
@click.option(
    "--auto-answer",
    "auto_answer",
    type=_DURATION,
    default=None,
    help="Rehearse an exercise: each played bureau acknowledges ('actioned') every message it "
    "gets this long after it arrives (scenario time, like 5m), as a player pressing the "
    "button would; see whether the expectations pass before the day.",
)
@CRYPTO_OPTION
@click.option(
    "--lean",
    is_flag=True,
    help="Long simulations (--clock virtual): keep the figures as the run goes and stream "
    "every event to events.jsonl, keeping only notable events in memory (memory stays flat "
    "however long the run); the pages are drawn from those figures (latency from histograms, "
    "the timeline in slices), and the message list has the scripted messages.",
)
def run(
    scenario_file: str,
    broker: str,
    transport: MqttClient,
    topology: Topology | None,
    seed: int | None,
    duration: float | None,
    out_dir: Path | None,
    pki_dir: Path | None,
    quiet: bool,
    clock: ClockKind,
    workers: int,
    verifiers: int,
    auto_answer: float | None,
    crypto: CryptoKind,
    lean: bool,
) -> None:
    """Run a scenario (a file, or a bundled one by name) and write its report.

    Exit 0 when every expectation passed, 1 when any failed, 2 for bad input.
    """
    scenario = load_named(scenario_file)
    out_dir = out_dir or Path("reports") / path_component(scenario.name)
    if lean:
        try:  # the log is written beside its place as the run goes, renamed over it at the end
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CliError(f"cannot write the report to {out_dir}: {exc.strerror or exc}") from exc
    try:
        options = RunOptions(
            broker=broker,
            transport=transport,
            topology=topology,
            seed=seed,
            duration=duration,
            workers=workers,
            verifiers=verifiers,
            pki=pki_dir,
            clock=clock,
            auto_answer=auto_answer,
            crypto=crypto,
            lean=lean,
            events_path=out_dir / PARTIAL_LOG if lean else None,
        )
        result = run_with_progress(scenario, options, quiet or workers > 1)
    except (ScenarioRunError, BrokerError) as exc:
        raise CliError(str(exc)) from exc
    write_reports(result, out_dir)


def write_reports(result: RunResult, out_dir: Path) -> None:
    """Write the report, print the summary, exit 1 when an expectation failed."""
    summary = summarise(result)
    results = check_expectations(result)
    try:
        write_report(result, summary, results, out_dir)
    except OSError as exc:
        raise CliError(f"cannot write the report to {out_dir}: {exc.strerror or exc}") from exc
    _print_summary(summary, results, out_dir)
    if not all(r.passed for r in results):
        sys.exit(EXIT_FAILED)
