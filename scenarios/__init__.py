"""bureaunet scenarios layer: scenario files, the runner, reports, exercises and the CLI.

The public names are loaded when first used (PEP 562), so that ``bureaunet --help`` or
``validate`` does not import the plotting and dashboard libraries the reports and the exercise
need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scenarios.errors import ControlError, ScenarioLayerError
    from scenarios.exercise.control import ExerciseControl, Snapshot
    from scenarios.launch import run, run_scenario, simulate
    from scenarios.model import (
        Scenario,
        ScenarioError,
        load_scenario,
        parse_scenario,
        scenario_json_schema,
    )
    from scenarios.reports.evidence import LogVerdict, verify_log
    from scenarios.reports.metrics import ExpectationResult, check_expectations, summarise
    from scenarios.reports.writer import write_report
    from scenarios.results import RunResult, ScenarioRunError
    from scenarios.runner import ClockKind, RunOptions

__all__ = [
    "ClockKind",
    "ControlError",
    "ExerciseControl",
    "ExpectationResult",
    "LogVerdict",
    "RunOptions",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "ScenarioLayerError",
    "ScenarioRunError",
    "Snapshot",
    "check_expectations",
    "load_scenario",
    "parse_scenario",
    "run",
    "run_scenario",
    "scenario_json_schema",
    "simulate",
    "summarise",
    "verify_log",
    "write_report",
]

_HOMES = {
    "ClockKind": "runner",
    "ControlError": "errors",
    "ExerciseControl": "exercise.control",
    "ExpectationResult": "reports.metrics",
    "LogVerdict": "reports.evidence",
    "RunOptions": "runner",
    "RunResult": "results",
    "Scenario": "model",
    "ScenarioError": "model",
    "ScenarioLayerError": "errors",
    "ScenarioRunError": "results",
    "Snapshot": "exercise.control",
    "check_expectations": "reports.metrics",
    "load_scenario": "model",
    "parse_scenario": "model",
    "run": "launch",
    "run_scenario": "launch",
    "scenario_json_schema": "model",
    "simulate": "launch",
    "summarise": "reports.metrics",
    "verify_log": "reports.evidence",
    "write_report": "reports.writer",
}
"""Where each public name lives."""


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'scenarios' has no attribute {name!r}")
    return getattr(importlib.import_module(f"scenarios.{home}"), name)


def __dir__() -> list[str]:
    return sorted(__all__)
