"""JSON Schema export: one schema per message kind and notice document, plus the union.

Pure: returns dictionaries; writing them to files is the CLI's job.
"""

from __future__ import annotations

from typing import Any

from protocol.messages.codec import DOCUMENT_TYPES, PAGE_TYPES
from protocol.messages.models import MESSAGE_ADAPTER, MESSAGE_KINDS, SCHEMA_VERSION

__all__ = ["json_schemas"]

_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_ID_BASE = f"https://bureaunet.invalid/schemas/v{SCHEMA_VERSION}"


def json_schemas() -> dict[str, dict[str, Any]]:
    """Every schema bureaunet defines, by name.

    Returns:
        ``{"message": union, "<kind>": ..., "<colour>-notice": ..., "<colour>-notices": ...}``
        (the last: a page of the public API's lists); each a JSON Schema 2020-12
        document with ``$schema``, ``$id`` and ``title`` set.
    """
    schemas: dict[str, dict[str, Any]] = {
        "message": MESSAGE_ADAPTER.json_schema(mode="validation"),
    }
    for name, cls in MESSAGE_KINDS.items():
        schemas[name] = cls.model_json_schema(mode="validation")
    for name, doc in DOCUMENT_TYPES.items():
        schemas[name] = doc.model_json_schema(mode="validation")
    for name, page in PAGE_TYPES.items():
        schemas[name] = {**page.model_json_schema(mode="validation"), "title": name}
    for name, schema in schemas.items():
        schema.setdefault("title", name)
        schemas[name] = {
            "$schema": _DIALECT,
            "$id": f"{_ID_BASE}/{name}.schema.json",
            "x-bureaunet-schema-version": SCHEMA_VERSION,
            **schema,
        }
    return schemas
