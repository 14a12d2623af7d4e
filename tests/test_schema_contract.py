"""One contract: what the exported JSON Schemas publish is what ``validate`` enforces.

Both ways, judged by tools nobody here wrote:

* documents generated from every exported schema by hypothesis-jsonschema are accepted by
  ``validate``, but for the few rules JSON Schema cannot say (``BEYOND_JSON_SCHEMA``), each
  named in the refusal;
* documents ``validate`` accepts (the generator's test data, the public API's shapes) pass the
  exported schemas in python-jsonschema with format checking on;
* the cases that once slipped through one side and not the other are refused by both.

The generator is slow on the largest schemas (a notice union inside a message), so the number
of documents per schema is set by ``BUREAUNET_CONTRACT_EXAMPLES`` (default 40, and a quarter of
it for the four largest); ``BUREAUNET_CONTRACT_EXAMPLES=150`` is the full run.
"""

from __future__ import annotations

import copy
import json
import os
import random
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from protocol import MESSAGE_KINDS, decode_as, encode, json_schemas
from protocol.errors import DecodeError
from protocol.schemas.export import BEYOND_JSON_SCHEMA
from protocol.schemas.generate import GENERATABLE, generate
from scenarios.cli import main
from scenarios.model import ScenarioError, parse_scenario, scenario_json_schema
from tests.from_schemas import documents_from
from tests.node_tools import require_node_tools, run_node
from tests.test_public_api_shapes import RED, UN_ENTITY, UN_PERSON, YELLOW, page

SCHEMAS = json_schemas()
FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER
EXAMPLES = int(os.environ.get("BUREAUNET_CONTRACT_EXAMPLES", "40"))
LARGEST = {"message", "notice-request", "notice-published", "notice-updated"}


def judge(name: str) -> jsonschema.Draft202012Validator:
    """python-jsonschema with the exported schema ``name``, checking formats."""
    return jsonschema.Draft202012Validator(SCHEMAS[name], format_checker=FORMATS)


def for_the_generator(node: Any) -> Any:
    """The same schema with each long list of strings (countries, bureaus) as an alternation.

    ``{"enum": [...]}`` and ``{"pattern": "^(?:A|B|...)$"}`` accept the same strings; the
    generator spends quadratic time on long enums and none on the pattern. Every document it
    makes is checked against the exported schema itself as well.
    """
    if isinstance(node, list):
        return [for_the_generator(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: for_the_generator(v) for k, v in node.items()}
    values = out.get("enum")
    if isinstance(values, list) and len(values) > 20 and all(isinstance(v, str) for v in values):
        del out["enum"]
        out["pattern"] = "^(?:" + "|".join(re.escape(v) for v in values) + ")$"
    return out


def generated(name: str, count: int) -> list[Any]:
    return documents_from(for_the_generator(copy.deepcopy(SCHEMAS[name])), count)


def rule_behind(name: str, issues: list[str]) -> str | None:
    """The documented rule beyond JSON Schema a refusal falls under, if any."""
    for rule in BEYOND_JSON_SCHEMA:
        if name in rule.schemas and any(rule.refusal in reason for reason in issues):
            return rule.name
    return None


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_documents_generated_from_each_exported_schema_pass_validate(name: str) -> None:
    documents = generated(name, max(8, EXAMPLES // 4) if name in LARGEST else EXAMPLES)
    assert len(documents) >= 8
    schema = judge(name)
    unexplained = []
    refused = 0
    for document in documents:
        assert schema.is_valid(document)  # the rewrite for the generator changed nothing
        try:
            decode_as(json.dumps(document), name)
        except DecodeError as exc:
            refused += 1
            reasons = [issue.reason for issue in exc.issues]
            if rule_behind(name, reasons) is None:
                unexplained.append((reasons, document))
    assert unexplained == []
    # a documented rule may refuse a generated document now and then (two ages in the wrong
    # order), not a large share: one in twenty, and one at least (hypothesis draws other
    # documents in a loaded worker than in an idle process, even derandomized)
    assert refused <= max(1, len(documents) // 20)


@pytest.mark.parametrize("kind", GENERATABLE)
def test_what_validate_accepts_passes_the_exported_schemas(kind: str) -> None:
    schema, union = judge(kind), judge("message")
    for example in generate(kind, 100, random.Random(7)):
        document = json.loads(encode(example))
        decode_as(json.dumps(document), kind)  # validate accepts it
        assert [e.message for e in schema.iter_errors(document)] == []
        if kind in MESSAGE_KINDS:
            assert union.is_valid(document)


PUBLIC_API = [
    ("red-notice", RED),
    ("yellow-notice", YELLOW),
    ("un-special-notice", UN_PERSON),
    ("un-special-notice", UN_ENTITY),
    ("red-notices", page("red", [{"name": "KLETTE", "nationalities": ["DE"]}])),
    ("yellow-notices", page("yellow", ["https://ws-public.interpol.int/notices/v1/yellow/1"])),
    ("un-notices", page("un", [])),
]


@pytest.mark.parametrize(("name", "document"), PUBLIC_API)
def test_the_public_apis_documents_pass_both(name: str, document: dict[str, Any]) -> None:
    decode_as(json.dumps(document), name)
    assert [e.message for e in judge(name).iter_errors(document)] == []


def base_diffusion() -> dict[str, Any]:
    return {
        "kind": "diffusion",
        "message_id": "6f1c8d52-3c3e-4c41-9a53-2b8e3f0c9d10",
        "sender": "FR",
        "recipients": {"scope": "bureaus", "bureaus": ["DE", "IT"]},
        "created_at": "2026-11-23T09:00:00Z",
        "diffusion_type": "wanted",
        "text": "Locate and report.",
        "subject": {"name": "EXAMPLE", "nationalities": ["FR"], "date_of_birth": "1979/02/03"},
    }


def changed(path: str, value: Any) -> dict[str, Any]:
    """The base diffusion with one value changed (``None`` removes it)."""
    document = base_diffusion()
    *parents, last = path.split("/")
    node = document
    for part in parents:
        node = node[part]
    if value is None:
        del node[last]
    else:
        node[last] = value
    return document


DISAGREED = {  # each once passed one side and not the other
    "unknown nationality": changed("subject/nationalities", ["XX"]),
    "no 30 February": changed("subject/date_of_birth", "1979/02/30"),
    "unknown sender": changed("sender", "ZZ"),
    "recipient twice": changed("recipients/bureaus", ["DE", "DE"]),
    "no kind": changed("kind", None),
    "no scope": changed("recipients/scope", None),
    "text for a boolean": changed("response_requested", "yes"),
    "a number for a time": changed("created_at", 1_764_000_000),
    "a time another way": changed("created_at", "2026-11-23 09:00:00Z"),
    "text for a number": changed("subject/height", "1.78"),
    "a boolean for a number": changed("subject/weight", True),
    "braced UUID": changed("message_id", "{6f1c8d52-3c3e-4c41-9a53-2b8e3f0c9d10}"),
    "UUID without dashes": changed("message_id", "6f1c8d523c3e4c419a532b8e3f0c9d10"),
    "a boolean for a grade": changed("information_accuracy", True),
}


@pytest.mark.parametrize("case", sorted(DISAGREED))
def test_what_one_side_once_let_through_both_refuse(case: str) -> None:
    document = DISAGREED[case]
    assert judge("diffusion").is_valid(base_diffusion())  # the base is fine for both
    decode_as(json.dumps(base_diffusion()), "diffusion")
    assert not judge("diffusion").is_valid(document)
    assert not judge("message").is_valid(document)
    with pytest.raises(DecodeError):
        decode_as(json.dumps(document), "diffusion")


def test_a_notice_inside_a_message_needs_its_type_on_both_sides() -> None:
    request = json.loads(encode(generate("notice-request", 1, random.Random(3))[0]))
    del request["notice"]["notice_type"]
    assert not judge("notice-request").is_valid(request)
    with pytest.raises(DecodeError):
        decode_as(json.dumps(request), "notice-request")


def test_blank_means_null_on_both_sides() -> None:
    document = {**YELLOW, "place_of_birth": "", "mother_name": " \u3000"}
    decode_as(json.dumps(document), "yellow-notice")
    assert judge("yellow-notice").is_valid(document)


def test_each_rule_beyond_json_schema_is_applied_by_validate_alone() -> None:
    assert {rule.name for rule in BEYOND_JSON_SCHEMA} == {"black-age-range"}
    black = json.loads(encode(generate("black-notice", 1, random.Random(5))[0]))
    black.update(estimated_age_min=40, estimated_age_max=30)
    assert judge("black-notice").is_valid(black)  # JSON Schema cannot compare the two
    with pytest.raises(DecodeError) as caught:
        decode_as(json.dumps(black), "black-notice")
    assert rule_behind("black-notice", [i.reason for i in caught.value.issues]) == (
        "black-age-range"
    )
    assert "black-age-range" in SCHEMAS["black-notice"]["$comment"]


def test_every_exported_schema_compiles_in_ajv_strict_mode(tmp_path: Path) -> None:
    # before: ajv refused the scenario schema (pydantic's "gt" is no JSON Schema keyword) and
    # the message schemas (OpenAPI's discriminator, bounds away from their type)
    require_node_tools()
    assert main(["schema", "export", "--out", str(tmp_path)]) == 0
    result = run_node("ajv-compile.mjs", str(tmp_path))
    assert result["errors"] == {}
    assert len(result["compiled"]) == len(SCHEMAS) + 1  # and scenario.schema.json


def test_the_scenario_schema_bounds_what_the_loader_bounds_and_describes_everything() -> None:
    schema = scenario_json_schema()
    judge_scenario = jsonschema.Draft202012Validator(schema)
    base = {"name": "s", "roster": ["FR", "DE"], "duration": 600}
    assert judge_scenario.is_valid(base)
    for wrong in ({**base, "duration": -10}, {**base, "speed": 0}):
        assert not judge_scenario.is_valid(wrong)
        with pytest.raises(ScenarioError):
            parse_scenario(json.dumps(wrong))
    late = {**base, "injects": [{"at": -5, "diffusion": {"from": "FR", "to": ["DE"]}}]}
    assert not judge_scenario.is_valid(late)
    with pytest.raises(ScenarioError):
        parse_scenario(json.dumps(late))
    assert undescribed(schema, "") == []
    leftovers = re.findall(r'"(ge|gt|le|lt|min_length|max_length)":', json.dumps(schema))
    assert leftovers == []


def undescribed(node: Any, path: str) -> list[str]:
    """Every property under ``node`` without a description (a ``$ref`` has its target's)."""
    found = []
    if isinstance(node, dict):
        for name, value in node.get("properties", {}).items():
            if isinstance(value, dict) and "$ref" not in value and not value.get("description"):
                found.append(f"{path}/{name}")
        for key, value in node.items():
            found += undescribed(value, f"{path}/{key}")
    elif isinstance(node, list):
        for item in node:
            found += undescribed(item, path)
    return found


def test_every_property_of_every_exported_schema_is_described() -> None:
    assert [path for name, schema in SCHEMAS.items() for path in undescribed(schema, name)] == []
