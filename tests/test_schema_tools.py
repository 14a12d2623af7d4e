"""Schema tools for engineers: AsyncAPI export, compatibility diff, generated test data."""

from __future__ import annotations

import json
import random
from pathlib import Path

import jsonschema
import pytest

from protocol import (
    MESSAGE_KINDS,
    SchemaDiffError,
    UnknownKindError,
    decode_as,
    encode,
    json_schemas,
)
from protocol.schemas.asyncapi import asyncapi_document
from protocol.schemas.diff import SchemaVersion, diff_versions
from protocol.schemas.generate import GENERATABLE, generate
from scenarios.cli import main

DATA = Path(__file__).parent / "data"
ASYNCAPI_SCHEMA = json.loads((DATA / "asyncapi-3.0.0.schema.json").read_text(encoding="utf-8"))


def asyncapi_errors(document: dict[str, object]) -> list[str]:
    validator = jsonschema.Draft7Validator(ASYNCAPI_SCHEMA)
    return [e.message for e in validator.iter_errors(document)]


def test_exported_asyncapi_document_is_valid_asyncapi_3(tmp_path: Path) -> None:
    assert main(["schema", "export", "--out", str(tmp_path)]) == 0
    document = json.loads((tmp_path / "asyncapi.json").read_text(encoding="utf-8"))
    assert document["asyncapi"] == "3.0.0"
    assert asyncapi_errors(document) == []


def test_the_validator_can_fail() -> None:
    broken = asyncapi_document()
    del broken["info"]
    broken["channels"]["inbox"]["parameters"]["bureau_id"]["pattern"] = "x"  # not allowed in 3.0
    assert len(asyncapi_errors(broken)) >= 2


def test_asyncapi_covers_channels_messages_and_mqtt_bindings() -> None:
    document = asyncapi_document()
    addresses = {c["address"] for c in document["channels"].values()}
    assert addresses == {
        "bureaunet/v1/inbox/{bureau_id}",
        "bureaunet/v1/broadcast/all",
        "bureaunet/v1/presence/{bureau_id}",
        "bureaunet/v1/crl",
    }
    names = {m["name"] for m in document["components"]["messages"].values()}
    assert set(MESSAGE_KINDS) <= names
    inbox = document["channels"]["inbox"]
    assert "FR" in inbox["parameters"]["bureau_id"]["enum"]
    ops = document["operations"]
    assert ops["bureauAnnouncePresence"]["bindings"]["mqtt"]["retain"] is True
    assert ops["ncbSend"]["bindings"]["mqtt"]["qos"] == 1
    will = document["servers"]["embedded"]["bindings"]["mqtt"]["lastWill"]
    assert will["retain"] is True
    schemas = document["components"]["schemas"]
    assert "RedNotice" in schemas
    assert isinstance(schemas["NoticeRequest"]["properties"]["notice"]["discriminator"], str)


EXPECTED = {
    ("retired", "$", "kind-removed", True),
    ("brand-new", "$", "kind-added", False),
    ("case-note", "$.kind", "discriminator-changed", True),
    ("case-note", "$.case_reference", "constraint-tightened", True),
    ("case-note", "$.body", "constraint-loosened", False),
    ("case-note", "$.author", "made-optional", False),
    ("case-note", "$.reviewer", "made-required", True),
    ("case-note", "$.priority", "enum-value-removed", True),
    ("case-note", "$.tlp", "enum-value-added", False),
    ("case-note", "$.pages", "constraint-tightened", True),
    ("case-note", "$.score", "type-narrowed", True),
    ("case-note", "$.tags", "constraint-loosened", False),
    ("case-note", "$.legacy_code", "field-removed", True),
    ("case-note", "$.contact", "type-narrowed", True),
    ("case-note", "$.contact", "type-widened", False),
    ("case-note", "$.contact.extension", "optional-field-added", False),
    ("case-note", "$.language", "required-field-added", True),
    ("case-note", "$.summary", "optional-field-added", False),
}


def test_schema_diff_classifies_every_rule(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["schema", "diff", str(DATA / "schemas" / "v1"), str(DATA / "schemas" / "v2"), "--json"]
    )
    assert code == 1
    report = json.loads(capsys.readouterr().out)
    got = {(c["schema"], c["path"], c["rule"], c["breaking"]) for c in report["changes"]}
    assert got == EXPECTED
    assert report["breaking"] == sum(1 for e in EXPECTED if e[3])


def test_schema_diff_text_and_exit_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v1 = str(DATA / "schemas" / "v1")
    assert main(["schema", "diff", v1, v1]) == 0
    assert "0 breaking, 0 compatible" in capsys.readouterr().out
    assert main(["schema", "diff", v1, str(DATA / "schemas" / "v2")]) == 1
    text = capsys.readouterr().out
    assert "BREAKING    case-note  $.legacy_code: field-removed" in text
    assert main(["schema", "diff", v1, str(tmp_path / "missing")]) == 2
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.schema.json").write_text("{", encoding="utf-8")
    assert main(["schema", "diff", v1, str(tmp_path / "bad")]) == 2


def test_the_current_schemas_are_compatible_with_themselves(tmp_path: Path) -> None:
    assert main(["schema", "export", "--out", str(tmp_path / "a")]) == 0
    assert main(["schema", "diff", str(tmp_path / "a"), str(tmp_path / "a")]) == 0


@pytest.mark.parametrize("kind", GENERATABLE)
def test_generated_examples_are_valid(kind: str) -> None:
    examples = generate(kind, 25, random.Random(3))
    assert len(examples) == 25
    for example in examples:
        assert decode_as(encode(example), kind) == example


def test_generation_is_seeded_and_has_the_awkward_cases(tmp_path: Path) -> None:
    first = [encode(m) for m in generate("red-notice", 60, random.Random(8))]
    assert first == [encode(m) for m in generate("red-notice", 60, random.Random(8))]
    docs = [json.loads(m) for m in first]
    assert any(len(d["date_of_birth"]) < 10 for d in docs)  # partial dates
    assert any(len(d["arrest_warrants"]) > 1 for d in docs)
    assert any(w["charge_translation"] is None for d in docs for w in d["arrest_warrants"])
    assert any(d["distinguishing_marks"] and len(d["distinguishing_marks"]) > 200 for d in docs)
    un = [json.loads(encode(m)) for m in generate("un-special-notice", 30, random.Random(2))]
    assert any(not d["name_in_original_script"].isascii() for d in un)
    out = tmp_path / "red.jsonl"
    assert main(["generate", "red-notice", "--count", "5", "--seed", "1", "--out", str(out)]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 5
    (tmp_path / "one.json").write_text(lines[0], encoding="utf-8")
    assert main(["validate", "--as", "red-notice", str(tmp_path / "one.json")]) == 0


def test_generate_unknown_kind_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "pink-notice"]) == 2
    assert "unknown kind 'pink-notice'" in capsys.readouterr().err


SERIES = [str(DATA / "series" / f"v{n}.asyncapi.json") for n in (1, 2, 3)]


def test_the_series_changes_are_named_by_channel_operation_and_payload(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["schema", "diff", *SERIES[:2], "--mode", "backward", "--format", "json"])
    changes = {
        (c["schema"], c["path"], c["rule"], c["breaking"])
        for c in json.loads(capsys.readouterr().out)["changes"]
    }
    assert changes == {
        # the Sighting is closed: a new reader refuses an old one that has a note
        ("message:Sighting", "$.note", "field-removed", True),
        ("message:Sighting", "$.seen_at", "required-field-added", True),
    }
    main(["schema", "diff", SERIES[0], SERIES[2], "--mode", "forward", "--format", "json"])
    widened = [c for c in json.loads(capsys.readouterr().out)["changes"] if c["breaking"]]
    assert [(c["path"], c["rule"]) for c in widened] == [
        ("$.note", "type-widened"),
        ("$.seen_at", "required-field-added"),  # 1.0's closed readers refuse it
    ]


def test_except_leaves_a_rule_out(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["schema", "diff", *SERIES[:2], "--mode", "backward"]
    assert main(args) == 1
    capsys.readouterr()
    assert main([*args, "--except", "required-field-added"]) == 1  # the closed note still breaks
    assert main([*args, "--except", "required-field-added", "--except", "field-removed"]) == 0
    assert main([*args, "--except", "no-such-rule"]) == 2
    assert "unknown rule 'no-such-rule'" in capsys.readouterr().err


def test_markdown_for_a_pull_request(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "diff", *SERIES, "--mode", "full", "--format", "markdown"]) == 1
    text = capsys.readouterr().out
    assert text.startswith("**Schema changes: ")
    assert "| **breaking** | " in text
    assert "`$.seen_at`" in text


def test_asyncapi_changes_have_their_paths(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["schema", "export", "--out", str(tmp_path / "a")]) == 0
    capsys.readouterr()
    old = tmp_path / "a" / "asyncapi.json"
    document = json.loads(old.read_text(encoding="utf-8"))
    del document["components"]["schemas"]["Diffusion"]["properties"]["text"]
    del document["channels"]["crl"]
    document["operations"]["ncbSend"]["action"] = "receive"
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(document), encoding="utf-8")
    assert main(["schema", "diff", str(old), str(edited), "--format", "json"]) == 1
    found = {
        (c["schema"], c["path"], c["rule"]) for c in json.loads(capsys.readouterr().out)["changes"]
    }
    assert ("message:Diffusion", "$.text", "field-removed") in found
    assert ("channel:crl", "$", "channel-removed") in found
    assert ("operation:ncbSend", "$.action", "action-changed") in found


def test_an_unknown_kind_to_generate_is_the_protocols_error() -> None:
    with pytest.raises(UnknownKindError) as caught:
        generate("no-such-kind", 1, random.Random(0))
    assert caught.value.name == "no-such-kind"
    assert caught.value.known == GENERATABLE


def test_versions_with_nothing_in_common_are_refused_by_name(tmp_path: Path) -> None:
    only_schemas = SchemaVersion("v1", json_schemas())
    only_asyncapi = SchemaVersion("v2", {}, asyncapi_document())
    with pytest.raises(SchemaDiffError) as caught:
        diff_versions(only_schemas, only_asyncapi)
    assert (caught.value.old, caught.value.new) == ("v1", "v2")
    assert diff_versions(only_asyncapi, only_asyncapi) == []
    (tmp_path / "v1").mkdir()
    for name, schema in json_schemas().items():
        (tmp_path / "v1" / f"{name}.schema.json").write_text(json.dumps(schema), encoding="utf-8")
    (tmp_path / "v2.json").write_text(json.dumps(asyncapi_document()), encoding="utf-8")
    assert main(["schema", "diff", str(tmp_path / "v1"), str(tmp_path / "v2.json")]) == 2
