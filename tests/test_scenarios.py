"""Scenarios: the file format's errors, every bundled scenario run for real, reports, compare."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from broker import free_port
from bureaus import MqttClient
from protocol import default_roster
from scenarios.cli import LIBRARY, main
from scenarios.model import (
    BreachesCheck,
    RejectedCheck,
    ScenarioError,
    load_scenario,
    parse_scenario,
)
from scenarios.reports.compare import seeds_note
from scenarios.reports.metrics import check_expectations, route_class, summarise
from scenarios.reports.writer import write_report
from scenarios.runner import RunOptions, _roster, run_scenario, simulate
from tests.browser import dom, require_chromium, screenshot
from tests.conftest import require_mosquitto

BUNDLED = sorted(p.stem for p in LIBRARY.glob("*.yaml"))
# scenario seconds in the test suite
SHORTENED = {"steady-state": 3.0, "overload": 2.0, "scale-out": 1.0, "hub-outage": 50.0}


def test_the_library_has_its_scenarios() -> None:
    assert set(BUNDLED) == {
        "red-notice",
        "fugitive-roundup",
        "terror-attack",
        "migrant-smuggling",
        "online-fraud",
        "steady-state",
        "schema-upgrade",
        "breaking-change",
        "europol-gateway",
        "broker-crash",
        "bureau-crash",
        "missing-child",
        "overload",
        "scale-out",
        "hub-outage",
    }
    for name in BUNDLED:
        scenario = load_scenario(LIBRARY / f"{name}.yaml")
        assert scenario.name == name
        assert scenario.description
        assert scenario.teaches
        assert scenario.expect


LIVE = [
    ("red-notice", "embedded:mosquitto", "gmqtt"),
    ("red-notice", "embedded:mosquitto", "aiomqtt"),
    ("broker-crash", "embedded:mosquitto", "gmqtt"),
    ("broker-crash", "embedded:mosquitto", "aiomqtt"),
    ("breaking-change", "embedded:amqtt", "gmqtt"),
    ("online-fraud", "embedded:mosquitto", "gmqtt"),
]
"""Bundled scenarios that also run live in the suite, through each MQTT client (the cluster tests
run some on NATS)."""


@pytest.mark.parametrize(("name", "broker", "transport"), LIVE)
async def test_bundled_scenarios_run_live(name: str, broker: str, transport: MqttClient) -> None:
    if broker.endswith("mosquitto"):
        require_mosquitto()
    scenario = load_scenario(LIBRARY / f"{name}.yaml")
    options = RunOptions(broker=broker, transport=transport, duration=SHORTENED.get(name))
    result = await run_scenario(scenario, options)
    assert result.clock == "wall"
    assert result.broker_kind == broker.partition(":")[2]
    # live, latencies are the host's: the verdicts that depend on time are the virtual-time
    # tests' to check; here, the ones that do not (and every message gets somewhere)
    untimed = [
        v
        for e, v in zip(scenario.expect, check_expectations(result), strict=True)
        if isinstance(e, RejectedCheck | BreachesCheck)  # (a revocation takes time too)
    ]
    assert [f"{v.name}: {v.detail}" for v in untimed if not v.passed] == []
    delivered = {e.message_id for e in result.events if e.kind == "delivered"}
    assert {i for i in result.inject_ids.values() if i} & delivered
    summary = summarise(result)
    assert set(summary["messages"]["rejected"]).isdisjoint(
        {"unauthorized_sender", "internal_error", "not_a_recipient"}
    )


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_scenario_runs_and_its_expectations_pass(name: str, tmp_path: Path) -> None:
    scenario = load_scenario(LIBRARY / f"{name}.yaml")
    result = simulate(scenario, RunOptions(duration=SHORTENED.get(name)))
    assert result.clock == "virtual"
    summary = summarise(result)
    verdicts = check_expectations(result)
    failed = [f"{v.name}: {v.detail}" for v in verdicts if not v.passed]
    assert failed == []
    assert summary["messages"]["delivered"] > 0
    # no legitimate traffic refused by the who-may-send checks, no bureau tripped over anything
    refused = set(summary["messages"]["rejected"])
    assert refused.isdisjoint({"unauthorized_sender", "internal_error", "not_a_recipient"})
    write_report(result, summary, verdicts, tmp_path)
    for produced in ("summary.json", "events.jsonl", "report.html", "report.md"):
        assert (tmp_path / produced).stat().st_size > 0
    written = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    for key in (
        "scenario",
        "topology",
        "seed",
        "broker",
        "bureaus",
        "messages",
        "latency_ms",
        "expectations",
        "wall_s",
    ):
        assert key in written
    assert {"p50", "p90", "p99", "p999", "max", "measured", "modelled"} <= set(
        written["latency_ms"]["overall"]
    )
    lines = (tmp_path / "events.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(result.events)


def test_a_typo_in_a_field_name_is_exit_2_with_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "typo.yaml"
    bad.write_text(
        "name: typo\nseed: 1\ninjects:\n  - at: 1\n    diffusion:\n"
        "      from: FR\n      to: [DE]\n      txet: hello\n",
        encoding="utf-8",
    )
    assert main(["run", str(bad), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "typo.yaml:8: injects[0].diffusion.txet: Extra inputs are not permitted" in err


def test_an_inject_at_a_negative_time_is_exit_2_with_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "negative.yaml"
    bad.write_text(
        "name: negative\ninjects:\n  - at: 3\n    search: {from: FR}\n"
        "  - at: -1\n    search: {from: DE}\n",
        encoding="utf-8",
    )
    assert main(["run", str(bad), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "negative.yaml:5: injects[1].at: Input should be greater than or equal to 0" in err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: [unclosed", "not valid YAML"),
        ("- just a list", "a scenario is a mapping"),
        ("name: x\ntopology: ring\n", "topology"),
        ("name: x\nexpect:\n  - delivered: {message: nope, to: FR}\n", "no inject named 'nope'"),
        ("name: x\ninjects:\n  - at: 1\n", "exactly one action"),
        ("name: x\nfaults:\n  - offline: {bureau: FR, from: 5, to: 2}\n", "'to' must be after"),
        (
            "name: x\nfaults:\n  - cut: {bureau: FR, from: 1, to: 2, memory: journal}\n",
            "'memory' is for a bureau that goes offline",
        ),
        ("name: x\nfaults:\n  - offline: {bureau: FR, from: 1, to: 2, memory: lost}\n", "memory"),
        ("name: x\nnetwork: {duplicate: 1.5}\n", "duplicate"),
    ],
)
def test_bad_scenarios_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "bad.yaml")
    assert message in str(info.value)
    assert all(p.startswith("bad.yaml:") for p in info.value.problems)


def test_an_unknown_bureau_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "ghost.yaml"
    bad.write_text("name: ghost\ninjects:\n  - at: 1\n    search: {from: XQ}\n", encoding="utf-8")
    assert main(["run", str(bad), "--quiet", "--out", str(tmp_path / "r")]) == 2
    assert "ghost.yaml:4: injects[0].search.from: bureau 'XQ' is not in" in capsys.readouterr().err


def test_an_unreachable_external_broker_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "run",
            "red-notice",
            "--quiet",
            "--broker",
            f"mqtt://127.0.0.1:{free_port()}",
            "--out",
            str(tmp_path / "r"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("bureaunet: error: cannot reach the broker")
    assert err.count("\n") == 1


SMALL = """
name: small
seed: 99
roster: [gs, FR, DE, KE, BR, JP]
duration: 1.5
network: {jitter_ms: 3, loss: 0.05}
injects:
  - {at: 0.2, name: d1, diffusion: {from: FR, to: [DE, KE, JP]}}
load:
  - {rate: 20, mix: {search: 1, diffusion: 1}, from: [FR, DE, KE, BR, JP], to: [FR, DE, KE, BR, JP]}
expect:
  - zero_loss: true
"""


async def test_the_same_seed_gives_the_same_traffic_and_modelled_delays() -> None:
    require_mosquitto()
    scenario = parse_scenario(SMALL)

    async def once() -> tuple[list[tuple[str, str, str]], dict[tuple[str, str], float]]:
        result = await run_scenario(scenario)
        sent = sorted(
            (e.message_id or "", e.message_kind or "", e.bureau)
            for e in result.events
            if e.kind == "sent"
        )
        modelled = {
            (e.message_id or "", e.bureau): round(e.modelled_ms or 0.0, 6)
            for e in result.events
            if e.kind == "delivered"
        }
        return sent, modelled

    first, second = await once(), await once()
    assert first[0] == second[0]
    assert len(first[0]) > 10
    assert first[1] == second[1]
    other = await run_scenario(scenario, RunOptions(seed=100))
    assert sorted(e.message_id or "" for e in other.events if e.kind == "sent") != [
        m for m, _k, _b in first[0]
    ]


def test_compare_four_topologies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cmp"
    assert main(["compare", "red-notice", "--quiet", "--out", str(out)]) == 0
    rows = {r["topology"]: r for r in json.loads((out / "compare.json").read_text("utf-8"))}
    # simulated by default: the same ranking and figures the second time
    assert main(["compare", "red-notice", "--quiet", "--out", str(tmp_path / "again")]) == 0
    again = json.loads((tmp_path / "again" / "compare.json").read_text("utf-8"))
    assert {r["topology"]: r for r in again} == rows
    assert set(rows) == {"hub", "regional", "mesh", "hybrid"}
    assert (out / "compare.png").stat().st_size > 1000
    assert "topologies compared" in (out / "compare.md").read_text("utf-8")
    assert rows["mesh"]["mean_hops"] < rows["hub"]["mean_hops"]
    assert rows["mesh"]["mean_hops"] < rows["regional"]["mean_hops"]
    hub_routes = [
        tuple(json.loads(line).get("route", ()))
        for line in (out / "hub" / "events.jsonl").read_text("utf-8").splitlines()
        if json.loads(line)["kind"] == "delivered"
    ]
    assert hub_routes
    assert all("gs" in route for route in hub_routes)
    assert {route_class(r) for r in hub_routes} <= {"direct", "via gs"}
    assert "hub" in capsys.readouterr().out


def test_html_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    require_chromium()
    require_mosquitto()
    out = tmp_path / "report"
    assert main(["run", "red-notice", "--quiet", "--out", str(out)]) == 0
    shot = tmp_path / "shot.png"
    log = screenshot(out / "report.html", shot, tmp_path)
    assert shot.exists(), log[-2000:]
    assert shot.stat().st_size > 50_000  # plots rendered, not a blank page
    assert [line for line in log.splitlines() if "CONSOLE" in line] == []
    page = dom(out / "report.html", tmp_path)
    assert page.count('src="data:image/png;base64,') == 3  # the timeline and two latency plots
    assert page.count("<svg") == 1  # and the map, drawn inline for the time slider


def test_roster_subset_gets_the_general_secretariat() -> None:
    scenario = parse_scenario("name: x\nroster: [FR, DE]\ntopology: regional\n")
    roster = _roster(scenario, "regional")
    assert {"gs", "FR", "DE"} <= roster.ids
    assert len(roster) < len(default_roster())


def test_a_failed_expectation_is_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_mosquitto()
    scenario = tmp_path / "impossible.yaml"
    scenario.write_text(
        "name: impossible\nroster: [gs, FR, DE]\nduration: 0.5\ndrain: 1\ninjects:\n"
        "  - {at: 0.1, name: d, diffusion: {from: FR, to: [DE]}}\nexpect:\n"
        "  - {name: faster than light, latency: {below_ms: 0.001}}\n"
        "  - {name: arrives, delivered: {message: d, to: [DE], within: 5}}\n",
        encoding="utf-8",
    )
    assert main(["run", str(scenario), "--quiet", "--out", str(tmp_path / "r")]) == 1
    out = capsys.readouterr().out
    assert "FAIL faster than light" in out
    assert "PASS arrives" in out


BILLION_LAUGHS = """name: laughs
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_a_scenario_file_of_nested_aliases_is_refused_before_it_is_expanded() -> None:
    # a few hundred bytes that expand to 387 million values
    assert len(BILLION_LAUGHS) < 400
    with pytest.raises(ScenarioError, match="aliases expand to more than 100,000 values"):
        parse_scenario(BILLION_LAUGHS, "laughs.yaml")


def test_anchors_and_aliases_of_a_reasonable_size_still_work() -> None:
    text = (
        "name: anchors\nroster: [gs, FR, DE]\nduration: 2\ninjects:\n"
        "  - {at: 0.1, name: one, diffusion: &warn {from: FR, to: [DE], type: warning}}\n"
        "  - {at: 0.2, name: two, diffusion: *warn}\n"
    )
    scenario = parse_scenario(text)
    assert len(scenario.injects) == 2


def test_the_topology_lab_teaches_hub_against_mesh(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "lab"
    capsys.readouterr()
    assert main(["compare", "hub-outage", "--quiet", "--seeds", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    table = [line for line in printed.splitlines() if line[:1] in "┏┃┡│└"]
    assert table
    assert max(len(line) for line in table) <= 80  # the terminal table fits
    rows = {r["topology"]: r for r in json.loads((out / "compare.json").read_text("utf-8"))}
    hub, mesh = rows["hub"], rows["mesh"]
    assert hub["seeds"] == [hub["seeds"][0], hub["seeds"][0] + 1]
    assert hub["hub_share"] > 0.9 > 0.1 > mesh["hub_share"]  # the hub carries everything
    assert hub["example_route"].count("→") == 2  # sender → GS → recipient
    assert mesh["example_route"].count("→") == 1
    outage = [ms for t, ms in hub["latency_over_time"] if 30 <= t <= 50 and ms is not None]
    calm = [ms for t, ms in mesh["latency_over_time"] if 30 <= t <= 50]
    assert max(outage) > 10 * max(calm)  # the hub's outage is a spike on the hub only
    # while the hub is down nothing arrives on the hub: a gap in its line, not a ramp across it
    down = [ms for t, ms in hub["latency_over_time"] if 32 <= t <= 44]
    assert down
    assert set(down) == {None}
    assert None not in calm
    spread = {t: (lo, hi) for t, lo, hi in hub["latency_spread_over_seeds"]}
    assert all(
        lo is None or lo <= ms <= hi
        for t, ms in hub["latency_over_time"]
        for lo, hi in [spread[t]]
        if ms is not None
    )
    assert hub["p99_min_ms"] <= hub["p99_ms"] <= hub["p99_max_ms"]
    assert hub["p99_by_seed"] != mesh["p99_by_seed"]
    # what each topology buys for its cost: 40 NCBs, one link each to the hub, or every pair
    assert (hub["buys"]["links"], mesh["buys"]["links"]) == (40, 41 * 40 // 2)
    assert (hub["buys"]["peers_per_ncb"], mesh["buys"]["peers_per_ncb"]) == (1, 40)
    assert hub["buys"]["reviews"] == mesh["buys"]["reviews"] == 1
    page = (out / "compare.html").read_text("utf-8")
    assert "What each topology buys" in page
    assert "What this shows" in page
    assert "820 links" in page
    for topology in rows:
        assert f'href="{topology}/report.html"' in page
        assert (out / topology / "map.png").is_file()


def test_the_bureau_that_crashes_without_a_journal_loses_its_message() -> None:
    """``bureau-crash``: the same fault with and without a journal, side by side."""
    result = simulate(load_scenario(LIBRARY / "bureau-crash.yaml"), RunOptions())
    arrived = {
        (e.peer, e.bureau)
        for e in result.events
        if e.kind == "delivered" and e.message_kind == "case-message"
    }
    assert arrived == {("FR", "KE")}
    assert summarise(result)["messages"]["lost"] == 1
    crashes = [
        e.detail for e in result.events if e.kind == "fault" and "crashed" in (e.detail or "")
    ]
    assert crashes == [
        "crashed: will start again from its journal",
        "crashed: will start again remembering nothing",
    ]


def test_seeds_that_change_nothing_are_said_to_change_nothing() -> None:
    same = [{"topology": t, "seeds": [1, 2, 3], "same_over_seeds": True} for t in ("hub", "mesh")]
    note = seeds_note(same)
    assert note is not None
    assert "3 seeds" in note
    assert "nothing at random" in note
    assert seeds_note([same[0], {**same[1], "same_over_seeds": False}]) is None
    assert seeds_note([{"topology": "hub", "seeds": [1], "same_over_seeds": False}]) is None


def test_compare_over_seeds_of_a_scenario_without_randomness_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cmp"
    args = ["compare", "red-notice", "--quiet", "--seeds", "2", "--topology", "hub,mesh"]
    assert main([*args, "--out", str(out)]) == 0
    rows = json.loads((out / "compare.json").read_text("utf-8"))
    assert [r["same_over_seeds"] for r in rows] == [True, True]
    assert "2 seeds gave the same figures" in capsys.readouterr().out
    assert "nothing at random" in (out / "compare.md").read_text("utf-8")
    assert "nothing at random" in (out / "compare.html").read_text("utf-8")
