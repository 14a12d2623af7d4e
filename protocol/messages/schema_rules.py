"""Rules of the message models that their exported JSON Schemas state too.

pydantic writes a model's fields into its schema; a rule a model checks in code (a validator)
would be missing there, and documents the schema accepts would be refused. Each function here
adds one such rule to a model's schema (``json_schema_extra``), in JSON Schema's own words, so
the published schema refuses what the model's validator refuses.
"""

from __future__ import annotations

from typing import Any

__all__ = ["outcome_matches_hits_schema", "published_has_entity_id", "vin_or_plate_schema"]


def published_has_entity_id(schema: dict[str, Any]) -> None:
    """The published notice's ``entity_id`` is required in the exported schema too."""
    notice = schema["properties"]["notice"]
    has_id = {
        "type": "object",
        "required": ["entity_id"],
        "properties": {
            "entity_id": {"type": "string", "description": "Set on every published notice."}
        },
    }
    schema["properties"]["notice"] = {
        "allOf": [{k: v for k, v in notice.items() if k != "description"}, has_id],
        "description": notice.get("description", ""),
    }


def vin_or_plate_schema(schema: dict[str, Any]) -> None:
    """A VIN or a plate, in the exported schema too."""
    schema["anyOf"] = [
        {
            "required": [field],
            "properties": {field: {"type": "string", "description": f"A {name} is given."}},
        }
        for field, name in (("vin", "VIN"), ("plate", "plate"))
    ]


def outcome_matches_hits_schema(schema: dict[str, Any]) -> None:
    """A hit has records and a no-hit none, in the exported schema too."""
    schema["allOf"] = [
        {
            "if": {"properties": {"outcome": {"const": "hit", "description": "A hit..."}}},
            "then": {
                "required": ["hits"],
                "properties": {
                    "hits": {"type": "array", "minItems": 1, "description": "...has records."}
                },
            },
        },
        {
            "if": {"properties": {"outcome": {"const": "no-hit", "description": "No hit..."}}},
            "then": {
                "properties": {
                    "hits": {"type": "array", "maxItems": 0, "description": "...has none."}
                }
            },
        },
    ]
