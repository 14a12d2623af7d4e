"""JSON Schema export: one schema per message kind and notice document, plus the union.

The schemas are the contract ``validate`` enforces: what one accepts the other accepts. pydantic
writes them from the models; this module then makes them say what validation does:

* every union tag (``kind``, ``scope``, ``database``, a nested notice's ``notice_type``) is
  required, and OpenAPI's ``discriminator`` keyword (which JSON Schema validators ignore) is left
  out: a union is ``anyOf`` over branches whose required tags differ (at most one matches, so
  this says what ``oneOf`` would, without making a validator try every branch);
* bureau ids are the roster's, as an ``enum`` (the bundled roster unless another is given);
* a few rules JSON Schema cannot say are listed in :data:`BEYOND_JSON_SCHEMA`, each with the
  schemas it concerns; every schema names them in its ``$comment``.

Pure: returns dictionaries; writing them to files is the CLI's job.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from protocol.messages.codec import DOCUMENT_TYPES, PAGE_TYPES
from protocol.messages.models import MESSAGE_ADAPTER, MESSAGE_KINDS, SCHEMA_VERSION
from protocol.network.roster import BUREAU_ID_PATTERN, Roster, default_roster

__all__ = ["BEYOND_JSON_SCHEMA", "TAGS", "Rule", "json_schemas", "published", "standard_keywords"]

_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_ID_BASE = f"https://bureaunet.invalid/schemas/v{SCHEMA_VERSION}"

TAGS = ("kind", "scope", "database", "notice_type")
"""The properties that tell a union's branches apart; required wherever they appear (but at the
top of a notice on its own, which the public API serves without one)."""


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule ``validate`` applies that JSON Schema cannot express.

    Attributes:
        name: A short, stable name (tests and the exported list use it).
        says: The rule, for people.
        schemas: The exported schemas it concerns.
        refusal: What ``validate``'s reason says when a document breaks it.
    """

    name: str
    says: str
    schemas: tuple[str, ...]
    refusal: str


BEYOND_JSON_SCHEMA: tuple[Rule, ...] = (
    Rule(
        "black-age-range",
        "A Black notice's estimated_age_min is not above its estimated_age_max (JSON Schema "
        "cannot compare two values of a document).",
        ("black-notice", "message", "notice-request", "notice-published", "notice-updated"),
        "is above estimated_age_max",
    ),
)
"""Every rule beyond JSON Schema that ``validate`` applies to the exported schemas' documents."""


def json_schemas(roster: Roster | None = None) -> dict[str, dict[str, Any]]:
    """Every schema bureaunet defines, by name.

    Args:
        roster: Whose bureau ids the schemas enumerate (the bundled roster when ``None``).

    Returns:
        ``{"message": union, "<kind>": ..., "<colour>-notice": ..., "<colour>-notices": ...}``
        (the last: a page of the public API's lists); each a JSON Schema 2020-12
        document with ``$schema``, ``$id`` and ``title`` set.
    """
    ids = sorted(b.id for b in (roster or default_roster()))
    schemas: dict[str, dict[str, Any]] = {
        "message": MESSAGE_ADAPTER.json_schema(mode="validation"),
    }
    for name, cls in MESSAGE_KINDS.items():
        schemas[name] = cls.model_json_schema(mode="validation")
    for name, doc in DOCUMENT_TYPES.items():
        schemas[name] = doc.model_json_schema(mode="validation")
    for name, page in PAGE_TYPES.items():
        schemas[name] = {**page.model_json_schema(mode="validation"), "title": name}
    out = {}
    for name, schema in schemas.items():
        document = published(copy.deepcopy(schema), ids, standalone=name in DOCUMENT_TYPES)
        document.setdefault("title", name)
        rules = [rule.name for rule in BEYOND_JSON_SCHEMA if name in rule.schemas]
        out[name] = {
            "$schema": _DIALECT,
            "$id": f"{_ID_BASE}/{name}.schema.json",
            "$comment": f"bureaunet message schema {SCHEMA_VERSION}"
            + (f"; rules beyond JSON Schema: {', '.join(rules)}" if rules else ""),
            **document,
        }
    return out


def published(
    schema: dict[str, Any], ids: list[str], *, standalone: bool = False, asyncapi: bool = False
) -> dict[str, Any]:
    """The schema as ``validate`` enforces it (see the module's description), in place.

    ``ids``: the roster's bureau ids. ``standalone``: a notice on its own, whose tag is
    optional. ``asyncapi``: for an AsyncAPI document, whose schema object names a union's tag
    with ``discriminator`` (a property name), which is kept.
    """
    standard_keywords(schema)
    _walk(schema, ids, asyncapi=asyncapi)
    if standalone:  # the public API serves a notice without its tag
        schema["required"] = [r for r in schema.get("required", []) if r != "notice_type"]
        if not schema["required"]:
            del schema["required"]
    return schema


_PYDANTIC_TO_STANDARD = {
    "ge": "minimum",
    "gt": "exclusiveMinimum",
    "le": "maximum",
    "lt": "exclusiveMaximum",
    "multiple_of": "multipleOf",
}
"""Constraints pydantic writes under its own names where it cannot place them (a constraint on
a value that a function validates first); JSON Schema's names for them."""
_LENGTHS = {
    "array": ("minItems", "maxItems"),
    "object": ("minProperties", "maxProperties"),
    "string": ("minLength", "maxLength"),
}


def standard_keywords(node: Any) -> None:
    """Rename pydantic's leftover constraint names to JSON Schema's, in place, everywhere.

    Under ``properties`` the keys are field names, never keywords, and are left alone.
    """
    if isinstance(node, list):
        for item in node:
            standard_keywords(item)
        return
    if not isinstance(node, dict):
        return
    names = dict(_PYDANTIC_TO_STANDARD)
    shortest, longest = _LENGTHS.get(str(node.get("type")), ("minLength", "maxLength"))
    names.update(min_length=shortest, max_length=longest)
    for ours, theirs in names.items():
        if ours in node and not isinstance(node[ours], dict):
            node[theirs] = node.pop(ours)
    _bounds_into_number_branches(node)
    for key, value in node.items():
        if key in ("properties", "$defs", "patternProperties"):
            for child in value.values():
                standard_keywords(child)
        else:
            standard_keywords(value)


_NUMERIC = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")


def _bounds_into_number_branches(node: dict[str, Any]) -> None:
    """Move numeric bounds beside an ``anyOf`` into its number branches.

    Numeric keywords only ever judge numbers, so this says the same, and a strict validator
    (Ajv's strictTypes) sees each bound beside the type it applies to.
    """
    branches = node.get("anyOf")
    bounds = {k: node[k] for k in _NUMERIC if k in node and "type" not in node}
    if not bounds or not isinstance(branches, list):
        return
    for branch in branches:
        if isinstance(branch, dict) and branch.get("type") in ("number", "integer"):
            branch.update(bounds)
    for key in bounds:
        del node[key]


def _tags_required(node: dict[str, Any], properties: dict[str, Any]) -> None:
    """Every union tag among ``properties`` required; pydantic's property titles dropped."""
    tags = [t for t in TAGS if isinstance(properties.get(t), dict) and "const" in properties[t]]
    required = node.get("required", [])
    node["required"] = [*required, *(t for t in tags if t not in required)]
    if not node["required"]:
        del node["required"]
    for value in properties.values():
        if isinstance(value, dict):
            # pydantic titles each property after its name ("Kind", "Status"): code
            # generators name types after titles, so every kind's tag, or the statuses of
            # an acknowledgement and of presence, would become one type with one set of
            # values; the property's name says as much, and its description more
            value.pop("title", None)


def _walk(node: Any, ids: list[str], *, asyncapi: bool) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, ids, asyncapi=asyncapi)
        return
    if not isinstance(node, dict):
        return
    tag = node.pop("discriminator", None)
    if tag is not None and "oneOf" in node:
        # a tagged union: its branches have distinct required tags, so at most one can match
        # and "anyOf" says the same as "oneOf", without asking a validator to try them all
        node["anyOf"] = node.pop("oneOf")
    if asyncapi and isinstance(tag, dict):
        node["discriminator"] = tag.get("propertyName", "")
    if node.get("pattern") == BUREAU_ID_PATTERN:
        node["enum"] = ids
    properties = node.get("properties")
    if isinstance(properties, dict):
        _tags_required(node, properties)
    for value in node.values():
        _walk(value, ids, asyncapi=asyncapi)
