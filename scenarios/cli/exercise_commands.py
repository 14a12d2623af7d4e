"""``exercise``: a scenario run live as a tabletop exercise, steered from a dashboard or pages.

The facilitator steers from a terminal dashboard or from the room's web pages; players answer
from their own pages. The run's report is written as ``run`` writes it.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from bureaus.connectors import MqttClient
from protocol.network.routing import Topology
from scenarios.cli.base import CliError
from scenarios.cli.common import err, out
from scenarios.cli.run_commands import (
    PACE,
    at_speed,
    load_named,
    run_options,
    write_reports,
)
from scenarios.errors import ControlError
from scenarios.exercise.control import PauseAt
from scenarios.model import (
    MAX_SPEED,
    MIN_SPEED,
    Scenario,
)
from scenarios.reports.safety import path_component
from scenarios.runner import RunOptions, RunResult


@click.command("exercise")
@click.argument("scenario_file", metavar="SCENARIO")
@run_options
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
    type=PACE,
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
    scenario = load_named(scenario_file)
    if speed is not None and pace is not None:
        raise CliError("give --speed or --pace, not both")
    if speed is not None or pace is not None:
        scenario = at_speed(scenario, speed or pace or 1.0)
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
    write_reports(result, out_dir)
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
