"""Scenario runs over worker processes give the results of a one-process run."""

from __future__ import annotations

import pytest

from scenarios.launch import run_scenario
from scenarios.model import parse_scenario
from scenarios.reports.metrics import check_expectations, summarise
from scenarios.runner import RunOptions, RunResult, ScenarioRunError
from tests.conftest import require_mosquitto

MIXED = """
name: mixed
seed: 21
topology: hybrid
roster: [FR, DE, IT, ES, KE, NG, BR, AR, JP, IN, ccc]
duration: 3
drain: 2
network: {model: false}
records:
  - {database: sltd, value: P1234567, country: ES, owner: ES}
injects:
  - {at: 0.2, name: red, notice_request: {from: FR, summary: Fraud in several countries.}}
  - {at: 0.4, name: alert, diffusion: {from: ccc, to: all-ncbs, priority: flash}}
  - {at: 0.6, name: check, search: {from: KE, database: sltd, value: P1234567, country: ES}}
load:
  - {rate: 25, mix: {search: 2, diffusion: 1, case-message: 1}, from: all-ncbs}
faults:
  - offline: {bureau: NG, from: 0.5, to: 1.5}
  - degrade: {region: americas, from: 1, to: 2, extra_ms: 20}
expect:
  - {delivered: {message: red, to: all-ncbs, within: 5}}
  - {acknowledged: {message: alert, by: all-ncbs, within: 5}}
  - {delivered: {message: check, to: KE, within: 5}}
  - {zero_loss: true}
"""


def facts(result: RunResult) -> dict[str, object]:
    deliveries = {(e.message_id, e.bureau): e.route for e in result.events if e.kind == "delivered"}
    return {
        "deliveries": deliveries,
        "sent": sorted(e.message_id or "" for e in result.events if e.kind == "sent"),
        "verdicts": [(v.name, v.passed) for v in check_expectations(result)],
        "deadlines": sorted((d.name, d.state) for d in result.deadlines),
    }


async def test_one_or_two_workers_give_the_same_deliveries_routes_and_verdicts() -> None:
    require_mosquitto()
    scenario = parse_scenario(MIXED)
    one = await run_scenario(scenario, RunOptions(workers=1))
    two = await run_scenario(scenario, RunOptions(workers=2))
    a, b = facts(one), facts(two)
    assert a["deliveries"] == b["deliveries"]  # the same messages, to the same bureaus, same routes
    assert a["sent"] == b["sent"]
    assert a["verdicts"] == b["verdicts"]
    assert all(passed for _name, passed in a["verdicts"])  # type: ignore[attr-defined]
    assert a["deadlines"] == b["deadlines"]
    summary = summarise(two)
    assert summary["messages"]["lost"] == 0
    # deliveries whose sender ran in the other process still have their latency
    assert all(e.latency_ms is not None for e in two.events if e.kind == "delivered")
    notes = [e.detail for e in two.events if e.kind == "fault"]
    assert notes.count("links restored") == 1  # link faults are noted once, not once per worker


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ("deck:\n  - {name: c, search: {from: FR}}", "a deck"),
        ("players: [FR]", "players"),
        ("injects:\n  - {when: {breach: true}, search: {from: FR}}", "contingency injects"),
    ],
)
async def test_what_needs_one_process_is_refused_with_workers(extra: str, named: str) -> None:
    scenario = parse_scenario(f"name: x\nroster: [FR, DE]\n{extra}\n")
    with pytest.raises(ScenarioRunError, match=named):
        await run_scenario(scenario, RunOptions(workers=2))
