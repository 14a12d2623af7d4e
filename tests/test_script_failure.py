"""A part of the script that raises fails the run with its cause; it is never only a note."""

from __future__ import annotations

from typing import Any

import pytest

from scenarios import injects
from scenarios.model import parse_scenario
from scenarios.results import ScenarioRunError
from scenarios.runner import RunOptions, simulate

SCENARIO = """
name: a broken inject
roster: [gs, FR, DE]
duration: 600
injects:
  - {at: 10, name: first, diffusion: {from: FR, to: DE}}
  - {at: 20, name: broken, diffusion: {from: DE, to: FR}}
"""


def test_an_inject_that_raises_fails_the_run_with_its_cause(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    act = injects.act

    async def breaks(stage: Any, name: str, inject: Any, mid: Any, now: Any) -> str:
        if name == "broken":
            raise RuntimeError("the inject's own bug")
        return await act(stage, name, inject, mid, now)

    monkeypatch.setattr(injects, "act", breaks)
    with pytest.raises(ScenarioRunError, match=r"inject.*failed.*the inject's own bug") as caught:
        simulate(parse_scenario(SCENARIO), RunOptions(seed=1))
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_the_same_script_without_the_bug_runs_to_its_end() -> None:
    result = simulate(parse_scenario(SCENARIO), RunOptions(seed=1))
    diffusions = [
        e for e in result.events if e.kind == "delivered" and e.message_kind == "diffusion"
    ]
    assert len(diffusions) == 2
