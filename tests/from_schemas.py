"""Documents generated from a JSON Schema by hypothesis-jsonschema (a judge nobody here wrote)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis_jsonschema import from_schema


def documents_from(schema: dict[str, Any], count: int) -> list[Any]:
    """``count`` documents valid under ``schema``, the same ones on every run."""
    found: list[Any] = []

    @settings(
        max_examples=count,
        suppress_health_check=list(HealthCheck),
        deadline=None,
        database=None,
        derandomize=True,
    )
    @given(from_schema(schema))
    def collect(document: Any) -> None:
        found.append(document)

    collect()
    return found
