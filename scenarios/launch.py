"""Running a scenario, whichever way it asks: one process, worker processes, or a simulation.

The one entry point above the runner (``scenarios/runner.py``, one process) and the worker
processes (``scenarios/workers.py``, which build on the runner): the CLI and library users call
:func:`run` (blocking) or :func:`run_scenario` (async).
"""

from __future__ import annotations

import asyncio

from scenarios.model import Scenario
from scenarios.results import RunResult, ScenarioRunError
from scenarios.runner import RunOptions, check_simulation_only, prepared, simulate
from scenarios.runner import run_scenario as run_here
from scenarios.workers import run_sharded

__all__ = ["run", "run_scenario", "simulate"]


async def run_scenario(scenario: Scenario, options: RunOptions | None = None) -> RunResult:
    """Run a live scenario, in this process or split over ``options.workers`` processes.

    Raises:
        ScenarioRunError: As :func:`scenarios.runner.run_scenario`; a simulation asked for
            worker processes.
    """
    options = options or RunOptions()
    check_simulation_only(options)  # before any worker process is started
    if options.workers <= 1:
        return await run_here(scenario, options)
    if options.clock == "virtual":
        raise ScenarioRunError("--workers needs the wall clock (a simulation is one process)")
    with prepared(scenario, options) as (changed, topology, seed, roster):
        return await run_sharded(changed, options, topology, seed, roster)


def run(scenario: Scenario, options: RunOptions | None = None) -> RunResult:
    """Run a scenario on the clock ``options`` names (blocking): live, or simulated.

    Raises:
        ScenarioRunError: As :func:`run_scenario`.
    """
    options = options or RunOptions()
    if options.clock == "virtual":
        if options.workers > 1:
            raise ScenarioRunError("--workers needs the wall clock (a simulation is one process)")
        return simulate(scenario, options)
    return asyncio.run(run_scenario(scenario, options))
