"""Scenario files as people write them: YAML 1.2, bare country codes, mistakes with their line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from protocol import default_roster
from scenarios.model import DiffusionInject, ScenarioError, load_scenario, parse_scenario
from scenarios.model.yaml_reading import LOADER
from scenarios.runner import simulate

IDS = sorted(default_roster().ids)


def test_every_roster_id_written_bare_stays_a_string() -> None:
    listed = "\n".join(f"  - {bureau}" for bureau in IDS)
    as_values = "\n".join(f"{bureau}: {bureau}" for bureau in IDS)
    data = yaml.load(f"as_list:\n{listed}\n", Loader=LOADER)
    assert data["as_list"] == IDS
    mapping = yaml.load(as_values, Loader=LOADER)
    assert mapping == {bureau: bureau for bureau in IDS}


def test_every_roster_id_written_bare_is_accepted_in_a_scenario() -> None:
    scenario = parse_scenario(
        "name: all-bare\n"
        f"players: [{', '.join(i for i in IDS if i != 'gs')}]\n"
        "injects:\n"
        + "".join(
            f"  - {{at: 1, diffusion: {{from: {bureau}, to: [gs]}}}}\n"
            for bureau in IDS
            if bureau != "gs"
        )
    )
    assert [i.diffusion.sender for i in scenario.injects if isinstance(i, DiffusionInject)] == [
        i for i in IDS if i != "gs"
    ]


def test_a_scenario_naming_norway_runs() -> None:
    scenario = parse_scenario(
        """
name: nordic
topology: mesh
roster: [FR, NO, DE, SE]
duration: 3
injects:
  - {at: 1, name: from-oslo, diffusion: {from: NO, to: [FR, DE, SE], text: Hei.}}
  - {at: 1.5, name: to-oslo, case_message: {from: FR, to: [NO], subject: Svar}}
expect:
  - {delivered: {message: from-oslo, to: [FR, DE, SE], within: 2}}
  - {delivered: {message: to-oslo, to: [NO], within: 2}}
"""
    )
    result = simulate(scenario)
    delivered = {(e.bureau, e.peer) for e in result.events if e.kind == "delivered"}
    assert {("FR", "NO"), ("DE", "NO"), ("SE", "NO"), ("NO", "FR")} <= delivered


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("012", 12),
        ("0o17", 15),
        ("0x1f", 31),
        ("1e3", 1000.0),
        ("1.5", 1.5),
        ("true", True),
        ("~", None),
        ("yes", "yes"),
        ("off", "off"),
        ("NO", "NO"),
        ("1:30", "1:30"),
        ("2026-01-05", "2026-01-05"),
    ],
)
def test_plain_scalars_are_read_as_yaml_1_2_reads_them(text: str, value: object) -> None:
    assert yaml.load(f"v: {text}", Loader=LOADER) == {"v": value}


def test_a_key_given_twice_is_refused_with_its_line() -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(
            "name: a\nseed: 1\nnetwork:\n  jitter_ms: 1\n  jitter_ms: 2\nseed: 2\n", "twice.yaml"
        )
    assert caught.value.problems == [
        "twice.yaml:5: network.jitter_ms: given twice (first on line 4)",
        "twice.yaml:6: seed: given twice (first on line 2)",
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "roster: [FR, DE]\ninjects:\n  - {at: 1, diffusion: {from: QQ, to: [DE]}}\n",
            "s.yaml:4: injects[0].diffusion.from: bureau 'QQ' is not in this scenario's roster",
        ),
        (
            "injects:\n  - {at: 1, diffusion: {from: FR, to: [de]}}\n",
            "s.yaml:3: injects[0].diffusion.to[0]: bureau 'de' is not in this scenario's roster "
            "(ids are upper case: DE)",
        ),
        (
            "load:\n  - {rate: 1, mix: {search: 1}, from: region:atlantis}\n",
            "s.yaml:3: load[0].from: no region 'region:atlantis'",
        ),
        (
            "duration: 10\ninjects:\n  - {at: 1, diffusion: {from: FR, to: [DE]}}\n"
            "expect:\n  - {delivered: {message: ghost, to: [DE], within: 5}}\n",
            "s.yaml:6: expect[0].delivered.message: refers to no inject named 'ghost'",
        ),
        (
            "duration: 10\ninjects:\n  - {at: 12, diffusion: {from: FR, to: [DE]}}\n",
            "s.yaml:4: injects[0].at: at 12 s, after the scenario's end (10 s)",
        ),
        (
            "duration: 10\nfaults:\n  - offline: {bureau: FR, from: 11, to: 20}\n",
            "s.yaml:4: faults[0].offline.from: at 11 s, after the scenario's end (10 s)",
        ),
        (
            "faults:\n  - offline: {bureau: XX, from: 1, to: 2}\n",
            "s.yaml:3: faults[0].offline.bureau: bureau 'XX' is not in this scenario's roster",
        ),
    ],
)
def test_every_mistake_names_its_line_and_field(body: str, expected: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(f"name: s\n{body}", "s.yaml")
    assert [p for p in caught.value.problems if p.startswith(expected)], caught.value.problems


def test_a_yaml_syntax_error_names_its_line_and_column() -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario("name: a\ninjects:\n  - {at: 1, diffusion: {from: FR\n", "bad.yaml")
    [problem] = caught.value.problems
    assert problem.startswith("bad.yaml:4:1: not valid YAML")


def test_a_notice_inject_with_a_bad_nationality_is_refused_when_the_file_is_read() -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(
            "name: n\ninjects:\n  - at: 1\n"
            "    notice_request: {from: FR, nationalities: [XX], date_of_birth: 1980/13}\n",
            "n.yaml",
        )
    assert [p.split(": ", 2)[1] for p in caught.value.problems] == [
        "injects[0].notice_request.date_of_birth",
        "injects[0].notice_request.nationalities[0]",
    ]


LIBRARY_FILES = sorted((Path(__file__).parent.parent / "scenarios" / "library").glob("*.yaml"))


@pytest.mark.parametrize("path", LIBRARY_FILES, ids=lambda p: p.stem)
def test_each_inject_fault_and_expectation_is_the_class_its_key_names(path: Path) -> None:
    raw = yaml.load(path.read_text(encoding="utf-8"), Loader=LOADER)
    scenario = load_scenario(path)
    for group, items in (
        ("injects", scenario.injects),
        ("deck", scenario.deck),
        ("faults", scenario.faults),
        ("expect", scenario.expect),
    ):
        for written, parsed in zip(raw.get(group) or [], items, strict=True):
            assert parsed.tag in written  # the one key that names the kind chose the class
            assert parsed.spec == getattr(parsed, parsed.tag)
            others = {type(p) for p in items if p.tag != parsed.tag}
            assert type(parsed) not in others


def test_two_actions_in_one_inject_are_refused_at_the_inject() -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(
            "name: s\ninjects:\n  - at: 1\n    search: {from: FR}\n    revoke: {bureau: FR}\n",
            "s.yaml",
        )
    assert caught.value.problems == [
        "s.yaml:3: injects[0]: an inject needs exactly one action of: notice_request, "
        "diffusion, case_message, search, cancel_notice, revoke, rotate_key, siena, forward"
    ]


@pytest.mark.parametrize(
    ("expectation", "where", "what"),
    [
        ("{delivered: {message: d, to: [DE, NG]}}", "expect[0].delivered.to[1]", "'NG'"),
        ("{acknowledged: {message: d, by: de}}", "expect[0].acknowledged.by", "upper case: DE"),
        ("{delivered: {message: d, to: 'region:atlantis'}}", "expect[0].delivered.to", "no region"),
    ],
)
def test_an_expectation_naming_a_bureau_outside_the_roster_is_refused_at_load(
    expectation: str, where: str, what: str
) -> None:
    # it loaded, ran the whole exercise, then ended in a traceback with no report
    text = (
        "name: x\nroster: [gs, FR, DE]\nduration: 10\n"
        "injects:\n  - {at: 1, name: d, diffusion: {from: FR, to: [DE]}}\n"
        f"expect:\n  - {expectation}\n"
    )
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "x.yaml")
    [problem] = info.value.problems
    assert problem.startswith(f"x.yaml:7: {where}: ")
    assert what in problem
