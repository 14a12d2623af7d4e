"""``run``, ``exercise``, ``compare``, ``verify-log`` and ``debrief``: scenarios and their evidence.

Why one long module: the five commands share the scenario options, the progress display and the
summary; each is a thin translation of arguments and errors around the scenario layer.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from cryptography import x509
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
from scenarios.cli.common import PKI_OPTION, err, out
from scenarios.errors import ControlError
from scenarios.exercise.control import PauseAt
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
from scenarios.reports.compare import compare_row, compare_table, write_compare
from scenarios.reports.debrief import DebriefError, write_debrief
from scenarios.reports.evidence import verify_log
from scenarios.reports.metrics import ExpectationResult, check_expectations, summarise
from scenarios.reports.safety import path_component
from scenarios.reports.templating import TemplateError
from scenarios.reports.writer import write_report
from scenarios.runner import ClockKind, RunOptions, RunResult, ScenarioRunError


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


def _load(value: str) -> Scenario:
    try:
        return load_scenario(_scenario_path(value))
    except ScenarioError as exc:
        raise CliError("\n".join(exc.problems)) from exc


def _run(scenario: Scenario, options: RunOptions, quiet: bool) -> RunResult:
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
        task = progress.add_task(scenario.name, total=scenario.duration, info="starting")

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
    out.print(f"report: {out_dir / 'report.html'}", markup=False)
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


def _at_speed(scenario: Scenario, speed: float) -> Scenario:
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


_PACE = _Pace()


def _run_options(command: Callable[..., None]) -> Callable[..., None]:
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
@_run_options
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
    "--auto-answer",
    "auto_answer",
    type=_DURATION,
    default=None,
    help="Rehearse an exercise: each played bureau acknowledges ('actioned') every message it "
    "gets this long after it arrives (scenario time, like 5m), as a player pressing the "
    "button would; see whether the expectations pass before the day.",
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
    auto_answer: float | None,
) -> None:
    """Run a scenario (a file, or a bundled one by name) and write its report.

    Exit 0 when every expectation passed, 1 when any failed, 2 for bad input.
    """
    scenario = _load(scenario_file)
    out_dir = out_dir or Path("reports") / path_component(scenario.name)
    try:
        options = RunOptions(
            broker=broker,
            transport=transport,
            topology=topology,
            seed=seed,
            duration=duration,
            workers=workers,
            pki=pki_dir,
            clock=clock,
            auto_answer=auto_answer,
        )
        result = _run(scenario, options, quiet or workers > 1)
    except (ScenarioRunError, BrokerError) as exc:
        raise CliError(str(exc)) from exc
    _report(result, out_dir)


def _report(result: RunResult, out_dir: Path) -> None:
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


@click.command("exercise")
@click.argument("scenario_file", metavar="SCENARIO")
@_run_options
@click.option(
    "--speed",
    type=click.FloatRange(min=MIN_SPEED, max=MAX_SPEED),
    default=None,
    help="Start at this clock speed (scenario seconds per real second) instead of the file's.",
)
@click.option(
    "--pause-at",
    "pause_at",
    type=click.Choice(["inject", "player"]),
    multiple=True,
    help="Stop the clock by itself at each scripted inject ('inject') and whenever a played "
    "bureau gets something to answer ('player'); give it once for each. Space resumes.",
)
@click.option(
    "--pace",
    type=_PACE,
    default=None,
    help="The clock speed as real time per scenario time: '2m/h' plays a scenario hour in two "
    "real minutes (speed 30), '10m/d' a day in ten minutes. Instead of --speed.",
)
@click.option(
    "--serve",
    is_flag=True,
    help="Run for a room instead of one terminal: a page per played bureau and one for the "
    "facilitator, served on this machine; their links are printed to hand out.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Where --serve listens: loopback by default; the room's network only when given "
    "(for example 0.0.0.0), and then anyone on it who has a link can use it.",
)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, help="--serve's port (0: any free one)."
)
def exercise(
    scenario_file: str,
    broker: str,
    transport: MqttClient,
    topology: Topology | None,
    seed: int | None,
    duration: float | None,
    out_dir: Path | None,
    pki_dir: Path | None,
    speed: float | None,
    pause_at: tuple[PauseAt, ...],
    pace: float | None,
    serve: bool,
    host: str,
    port: int,
) -> None:
    """Run a scenario as a live exercise, steered from a terminal dashboard or from web pages.

    With --serve: a page per played bureau and one for the facilitator, their links printed.
    Keys: space pause/resume, +/- clock speed, 1-9 fire a prepared inject from the deck,
    b bookmark, a answer for a played bureau, q end (asks first). The report is written when
    the exercise ends; then `bureaunet debrief` makes the handout. Exit codes as for `run`.
    """
    if not serve and not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise CliError(
            "exercise draws a dashboard and reads keys: it needs an interactive terminal "
            "(for an unattended run of the same scenario, use 'bureaunet run'; for web pages, "
            "--serve)"
        )
    scenario = _load(scenario_file)
    if speed is not None and pace is not None:
        raise CliError("give --speed or --pace, not both")
    if speed is not None or pace is not None:
        scenario = _at_speed(scenario, speed or pace or 1.0)
    out_dir = out_dir or Path("reports") / path_component(scenario.name)
    options = RunOptions(
        broker=broker,
        transport=transport,
        topology=topology,
        seed=seed,
        duration=duration,
        pki=pki_dir,
    )
    if serve:
        result = asyncio.run(_in_a_room(scenario, options, frozenset(pause_at), host, port))
    else:
        from scenarios.exercise.dashboard import ExerciseApp  # noqa: PLC0415 - Textual loads only when used

        app = ExerciseApp(scenario, options, pause_at=frozenset(pause_at))
        ended = app.run()
        if app.failure is not None:
            raise CliError(app.failure)
        if ended is None:
            raise CliError("the exercise ended before it started")
        result = ended
    _report(result, out_dir)
    out.print(f"debrief: bureaunet debrief {out_dir}", markup=False)


async def _in_a_room(
    scenario: Scenario, options: RunOptions, pause_at: frozenset[PauseAt], host: str, port: int
) -> RunResult:
    """Run the exercise with its room served; print the links; return when it has ended."""
    from scenarios.exercise.control import ExerciseControl  # noqa: PLC0415 - only for --serve
    from scenarios.exercise.room import Room, serve  # noqa: PLC0415
    from scenarios.launch import run_scenario  # noqa: PLC0415

    control = ExerciseControl(pause_at=pause_at)
    options.control = control
    room = Room(control)
    try:
        async with serve(room, host, port):
            running = asyncio.create_task(run_scenario(scenario, options), name="exercise")
            while not control.ready and not running.done():
                await asyncio.sleep(0.05)
            if control.ready:
                room.open_for(control.played())
                for who, link in room.links().items():
                    out.print(f"{who}: {link}", markup=False)
                if host not in ("127.0.0.1", "::1", "localhost"):
                    err.print(
                        f"the room listens on {host}: anyone on that network with a link can "
                        "use it; hand each link to its player only",
                        markup=False,
                    )
            return await running
    except ControlError as exc:
        raise CliError(str(exc)) from exc


ROOT_OPTION = click.option(
    "--root",
    "root_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The GS root certificate that must have signed (root.crt.pem of the run's PKI).",
)
FINGERPRINT_OPTION = click.option(
    "--fingerprint",
    help="The SHA-256 fingerprint of that certificate instead (the one the run printed).",
)
PKI_ANCHOR_OPTION = click.option(
    "--pki",
    "pki_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The PKI directory the run used: its root.crt.pem must have signed.",
)


def _expected_root(root_file: Path | None, pki_dir: Path | None = None) -> x509.Certificate | None:
    if root_file is None and pki_dir is not None:
        root_file = pki_dir / "root.crt.pem"
    if root_file is None:
        return None
    try:
        return x509.load_pem_x509_certificate(root_file.read_bytes())
    except (OSError, ValueError) as exc:
        raise CliError(f"--root {root_file}: not a readable PEM certificate ({exc})") from exc


@click.command("verify-log")
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@ROOT_OPTION
@PKI_ANCHOR_OPTION
@FINGERPRINT_OPTION
def verify_log_command(
    run_dir: Path, root_file: Path | None, pki_dir: Path | None, fingerprint: str | None
) -> None:
    """Check a run's event log, summary, scenario and report files against their signed manifest.

    The run is called intact only when the signer is checked against an anchor you kept
    (--root, --pki or --fingerprint); without one it is at most "consistent, signed by X, not
    anchored": compare X with the fingerprint you kept. Exit 0 when consistent (intact when
    anchored), 1 when altered, re-signed or unsigned (naming the first altered line or file),
    2 when the directory holds no run.
    """
    root = _expected_root(root_file, pki_dir)
    try:
        verdict = verify_log(run_dir, root=root, fingerprint=fingerprint)
    except OSError as exc:
        raise CliError(f"cannot check {run_dir}: {exc}") from exc
    if verdict.intact:
        out.print(
            f"{run_dir}: {verdict.lines} lines and {len(verdict.covered) - 1} report files "
            f"intact, signed by certificate {verdict.fingerprint} (checked against "
            f"{verdict.expected})",
            markup=False,
        )
        return
    if verdict.ok:
        out.print(f"{run_dir}: {verdict.lines} lines, {verdict.reason}", markup=False)
        return
    where = f"events.jsonl: line {verdict.first_bad_line}: " if verdict.first_bad_line else ""
    out.print(f"{run_dir}: {where}{verdict.reason}", markup=False)
    sys.exit(EXIT_FAILED)


@click.command("debrief")
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--pdf/--no-pdf",
    default=None,
    help="Also print to debrief.pdf (default: when Chromium is installed).",
)
@ROOT_OPTION
@PKI_ANCHOR_OPTION
@FINGERPRINT_OPTION
@click.option(
    "--templates",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="A directory whose debrief.html replaces the shipped page template (a logo, a house "
    "style, another language); copy scenarios/reports/templates/debrief.html as a start.",
)
def debrief_command(
    run_dir: Path,
    pdf: bool | None,
    root_file: Path | None,
    pki_dir: Path | None,
    fingerprint: str | None,
    templates: Path | None,
) -> None:
    """Write a printable debrief (debrief.html, and debrief.pdf) of a run's report directory.

    The page calls the run intact only when the signer is checked against an anchor you kept
    (--root, --pki or --fingerprint); without one it says who signed and that it is not
    anchored. Exit 0 when written from consistent, signed evidence; 1 when a file was altered,
    re-signed or is unsigned (the debrief says so); 2 when the directory cannot be read.
    """
    root = _expected_root(root_file, pki_dir)
    try:
        files = write_debrief(
            run_dir, pdf=pdf, root=root, fingerprint=fingerprint, templates=templates
        )
    except (DebriefError, TemplateError) as exc:
        raise CliError(str(exc)) from exc
    out.print(f"debrief: {files.html}", markup=False)
    if files.pdf is not None:
        out.print(f"debrief: {files.pdf}", markup=False)
    if not files.verdict.ok:
        err.print(f"warning: the evidence does not verify: {files.verdict.reason}", markup=False)
        sys.exit(EXIT_FAILED)
    if not files.verdict.intact:
        err.print(f"note: {files.verdict.reason}", markup=False)


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
    scenario = _load(scenario_file)
    names = [t.strip() for t in topologies.split(",") if t.strip()]
    bad = [t for t in names if t not in TOPOLOGIES]
    if bad or not names:
        raise CliError(f"unknown topology {', '.join(bad) or '(none)'}; one of {TOPOLOGIES}")
    out_dir = out_dir or Path("reports") / path_component(f"{scenario.name}-compare")
    first = seed if seed is not None else scenario.seed
    rows = []
    for name in names:
        topology: Topology = name  # type: ignore[assignment]
        runs = []
        for k in range(seeds):
            try:
                options = RunOptions(
                    broker=broker, topology=topology, seed=first + k, pki=pki_dir, clock=clock
                )
                result = _run(scenario, options, quiet)
            except (ScenarioRunError, BrokerError) as exc:
                raise CliError(str(exc)) from exc
            summary = summarise(result)
            results = check_expectations(result)
            if k == 0:  # the report of the first seed stands for the topology
                write_report(result, summary, results, out_dir / name)
            runs.append((result, summary, results))
        rows.append(compare_row(name, runs))
    write_compare(rows, out_dir, scenario.name)
    table = Table(title=f"{scenario.name}: topologies compared", width=80)
    head, body = compare_table(rows, compact=True)
    for column in head:
        table.add_column(column, overflow="fold")
    for line in body:
        table.add_row(*line)
    out.print(table)
    for row in rows:
        out.print(f"{row['topology']}: {row['example_route']}", markup=False)
    out.print(f"report: {out_dir / 'compare.html'}", markup=False)
