"""Parsing a scenario: YAML read safely, validated, each problem named by file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    ValidationError,
)

from scenarios.model.document import Scenario, ScenarioError
from scenarios.model.references import reference_problems
from scenarios.model.yaml_reading import (
    LOADER,
    MAX_SCENARIO_BYTES,
    MAX_VALUES,
    dotted,
    duplicates,
    expanded_size,
    node_lines,
)

_TAGGED = frozenset({"injects", "deck", "faults", "expect"})
"""The lists whose items are tagged unions."""


def _as_written(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """A validation error's location as the file spells it.

    Inside a tagged union pydantic names the member it tried (``injects.0.search.search.from``);
    the file has the tag once, as the key (``injects[0].search.from``).
    """
    if len(loc) > 2 and loc[0] in _TAGGED and isinstance(loc[1], int):
        return (*loc[:2], *loc[3:])
    return loc


def _read_yaml(text: str, source: str) -> tuple[yaml.Node, dict[str, Any]]:
    """The YAML document (node tree and data), read safely and bounded.

    Raises:
        ScenarioError: Not YAML, too large once aliases expand, duplicate keys, not a mapping.
    """
    try:
        node = yaml.compose(text, Loader=LOADER)
        if node is not None and expanded_size(node, {}) > MAX_VALUES:
            # anchors and aliases are shared when parsed but walked once per use afterwards: a
            # few hundred bytes of nested aliases would otherwise take minutes and gigabytes
            raise ScenarioError([f"{source}:1: aliases expand to more than {MAX_VALUES:,} values"])
        twice = duplicates(node) if node is not None else []
        if twice:
            raise ScenarioError([f"{source}:{line}: {problem}" for line, problem in twice])
        data = yaml.load(text, Loader=LOADER)  # noqa: S506 - a safe loader (C or Python)
    except RecursionError:
        raise ScenarioError([f"{source}:1: nested too deeply to be a scenario"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{mark.line + 1}:{mark.column + 1}" if mark is not None else "?"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError([f"{source}:{where}: not valid YAML: {problem}"]) from None
    if not isinstance(data, dict) or node is None:
        raise ScenarioError([f"{source}:1: a scenario is a mapping with at least a name"])
    return node, data


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """Validate scenario YAML.

    Raises:
        ScenarioError: Not YAML, or not a valid scenario; every problem with file and line.
    """
    if len(text.encode("utf-8", "surrogatepass")) > MAX_SCENARIO_BYTES:
        raise ScenarioError(
            [f"{source}:1: larger than the {MAX_SCENARIO_BYTES // 1024} KiB a scenario may have"]
        )
    node, data = _read_yaml(text, source)
    lines = node_lines(node)

    def located(loc: tuple[Any, ...], message: str) -> str:
        probe = loc
        while probe and probe not in lines:
            probe = probe[:-1]
        return f"{source}:{lines.get(probe, 1)}: {dotted(loc)}: {message}"

    try:
        scenario = Scenario.model_validate(data)
    except RecursionError:
        raise ScenarioError([f"{source}:1: nested too deeply to be a scenario"]) from None
    except ValidationError as exc:
        raise ScenarioError(
            [
                located(_as_written(tuple(err["loc"])), err["msg"].removeprefix("Value error, "))
                for err in exc.errors(include_url=False)
            ]
        ) from None
    wrong = reference_problems(scenario)
    if wrong:
        raise ScenarioError([located(loc, message) for loc, message in wrong])
    return scenario


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file.

    Raises:
        ScenarioError: Unreadable, not YAML, or not a valid scenario.
    """
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_SCENARIO_BYTES + 1)  # never more than the bound, whatever size
    except OSError as exc:
        raise ScenarioError([f"{path}: cannot read: {exc}"]) from None
    if len(raw) > MAX_SCENARIO_BYTES:  # bytes, before decoding (a cut character is not an error)
        kib = MAX_SCENARIO_BYTES // 1024
        raise ScenarioError([f"{path.name}:1: larger than the {kib} KiB a scenario may have"])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError([f"{path}: cannot read: {exc}"]) from None
    return parse_scenario(text, path.name)
