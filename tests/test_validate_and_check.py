"""``validate`` without ``--as``, on JSON Lines and on scenarios, and ``check``.

Before: ``{}`` was a valid Yellow notice; a page of a list was never recognised; a bad
nationality was not named without ``--as``; page entries took typos; a UN entity served with
null entity fields was taken for a person though its reference says ``QDe``; ``validate`` could
not read what ``generate`` writes; a scenario could only be checked by running it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from protocol import decode_as
from protocol.messages.notices import UnSpecialNotice
from scenarios.cli import main
from tests.test_public_api_shapes import RED, UN_ENTITY, YELLOW, page


def run(tmp_path: Path, name: str, content: str, *args: str) -> int:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return main(["validate", str(path), *args])


def test_an_empty_object_is_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(tmp_path, "empty.json", "{}") == 1
    assert "not recognised" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("document", "kind"),
    [
        (page("red", [{"name": "KLETTE"}]), "red-notices"),
        (page("yellow", []), "yellow-notices"),
        (page("un", []), "un-notices"),
        (RED, "red-notice"),
        (YELLOW, "yellow-notice"),
        (UN_ENTITY, "un-special-notice"),
        (
            {"notice_type": "black", "date_of_event": "2026", "place": "X", "country": "FR"},
            "black-notice",
        ),
    ],
)
def test_pages_and_notices_are_recognised_by_what_they_have(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], document: dict[str, Any], kind: str
) -> None:
    assert run(tmp_path, "doc.json", json.dumps(document)) == 0
    assert f"valid {kind} (recognised:" in capsys.readouterr().out


def test_a_bad_nationality_is_named_without_as(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(tmp_path, "red.json", json.dumps({**RED, "nationalities": ["XX"]})) == 1
    assert "/nationalities/0:" in capsys.readouterr().out


def test_a_typo_in_a_page_entry_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = page("red", [{"name": "KLETTE", "nationalitiez": ["DE"]}])
    assert run(tmp_path, "page.json", json.dumps(document)) == 1
    assert "/_embedded/notices/0/nationalitiez" in capsys.readouterr().out


def test_a_un_listing_says_person_or_entity_by_its_reference() -> None:
    served = {  # an entity as the API serves it: every entity field null
        **UN_ENTITY,
        "un_reference": "QDe.045",
        "legal_form": None,
        "registration_number": None,
        "administrators": None,
        "formerly_known_as": None,
    }
    entity = decode_as(json.dumps(served), "un-special-notice")
    assert isinstance(entity, UnSpecialNotice)
    assert entity.subject_type == "entity"
    person = decode_as(json.dumps({**served, "un_reference": "QDi.432"}), "un-special-notice")
    assert isinstance(person, UnSpecialNotice)
    assert person.subject_type == "person"


def test_what_generate_writes_is_read_line_by_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = tmp_path / "examples.jsonl"
    assert main(["generate", "diffusion", "--count", "5", "--out", str(lines)]) == 0
    assert main(["validate", str(lines)]) == 0
    assert f"{lines}: 5 valid, 0 invalid" in capsys.readouterr().out
    text = lines.read_text(encoding="utf-8").splitlines()
    broken = json.loads(text[2])
    broken["sender"] = "ZZ"
    text[2] = json.dumps(broken)
    text.insert(4, "not json")
    lines.write_text("\n".join(text) + "\n", encoding="utf-8")
    assert main(["validate", str(lines)]) == 1
    captured = capsys.readouterr()
    assert f"{lines}:3: /sender:" in captured.out
    assert f"{lines}:5: not a JSON document" in captured.err
    assert f"{lines}: 4 valid, 2 invalid" in captured.out


SCENARIO = """name: checked
roster: [FR, DE]
duration: 1h
injects:
  - {at: 10m, name: alert, diffusion: {from: FR, to: [DE]}}
expect:
  - delivered: {message: alert, to: [DE]}
"""


def test_check_reads_a_scenario_fully_without_running_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(SCENARIO, encoding="utf-8")
    assert main(["check", str(good)]) == 0
    assert "valid scenario 'checked': 1 injects" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text(SCENARIO.replace("to: [DE]}\n", "to: [NG]}\n"), encoding="utf-8")
    assert main(["check", str(bad)]) == 1
    said = capsys.readouterr().out
    assert "bad.yaml:7:" in said  # the expectation's line, naming the bureau not in the roster
    assert "NG" in said
    assert main(["validate", str(bad)]) == 1  # validate on a YAML file checks it the same way
    assert main(["check", str(tmp_path / "missing.yaml")]) == 2


def test_schema_export_lists_a_deployments_own_bureaus(tmp_path: Path) -> None:
    assert main(["schema", "export", "--out", str(tmp_path), "--roster", "FR,DE,gs"]) == 0
    diffusion = json.loads((tmp_path / "diffusion.schema.json").read_text(encoding="utf-8"))
    assert diffusion["properties"]["sender"]["enum"] == ["DE", "FR", "gs"]
    asyncapi = json.loads((tmp_path / "asyncapi.json").read_text(encoding="utf-8"))
    assert asyncapi["channels"]["inbox"]["parameters"]["bureau_id"]["enum"] == ["DE", "FR", "gs"]
