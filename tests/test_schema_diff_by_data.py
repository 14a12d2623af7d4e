"""``schema diff``'s verdicts, checked by data.

For every change, documents are generated from one side and validated by the other:
backward is "a reader on the new schema takes what the old one wrote" (documents from old,
judged by new), forward is "a reader on the old schema takes what the new one writes". A mode's
verdict says breaking exactly when some generated document is refused. The exported schemas are
closed (``additionalProperties: false``), and the verdicts must hold for closed and open objects.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from protocol.schemas.diff import Mode, breaking_under, diff_asyncapi, diff_schemas
from scenarios.cli import main
from tests.from_schemas import documents_from

SERIES = [Path(__file__).parent / "data" / "series" / f"v{n}.asyncapi.json" for n in (1, 2, 3)]

BASE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "maxLength": 8},
        "note": {"type": "string", "maxLength": 8},
        "level": {"enum": ["low", "high"]},
    },
    "required": ["id"],
}


def edit(change: Callable[[dict[str, Any]], object], base: dict[str, Any] = BASE) -> dict[str, Any]:
    schema = copy.deepcopy(base)
    change(schema)
    return schema


def opened(schema: dict[str, Any]) -> None:
    del schema["additionalProperties"]


OPEN = edit(opened)

CHANGES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "optional field added (closed)": (
        BASE,
        edit(lambda s: s["properties"].update(seen={"type": "string"})),
    ),
    "optional field added (open)": (
        OPEN,
        edit(lambda s: s["properties"].update(seen={"type": "string"}), OPEN),
    ),
    "optional field removed (closed)": (BASE, edit(lambda s: s["properties"].pop("note"))),
    "optional field removed (open)": (OPEN, edit(lambda s: s["properties"].pop("note"), OPEN)),
    "required field added": (
        BASE,
        edit(lambda s: (s["properties"].update(seen={}), s["required"].append("seen"))),
    ),
    "required field removed": (
        BASE,
        edit(lambda s: (s["properties"].pop("id"), s.update(required=[]))),
    ),
    "made required": (BASE, edit(lambda s: s["required"].append("note"))),
    "type changed": (BASE, edit(lambda s: s["properties"].update(note={"type": "integer"}))),
    "type removed": (BASE, edit(lambda s: s["properties"]["note"].pop("type"))),
    "enum value added": (
        BASE,
        edit(lambda s: s["properties"]["level"].update(enum=["low", "high", "mid"])),
    ),
    "enum value removed": (
        BASE,
        edit(lambda s: s["properties"]["level"].update(enum=["low"])),
    ),
    "additionalProperties opened": (BASE, OPEN),
    "additionalProperties closed": (OPEN, BASE),
    "const added": (BASE, edit(lambda s: s["properties"]["note"].update(const="x"))),
    "const removed": (
        edit(lambda s: s["properties"]["note"].update(const="x")),
        BASE,
    ),
    "maxLength tightened": (BASE, edit(lambda s: s["properties"]["id"].update(maxLength=2))),
}


def documents(schema: dict[str, Any]) -> list[Any]:
    return documents_from(schema, 150)


def refused(written: dict[str, Any], reader: dict[str, Any]) -> bool:
    """Whether a reader on ``reader`` refuses some document written to ``written``."""
    judge = jsonschema.Draft202012Validator(reader)
    return any(not judge.is_valid(document) for document in documents(written))


def observed(old: dict[str, Any], new: dict[str, Any]) -> dict[str, bool]:
    return {"backward": refused(old, new), "forward": refused(new, old)}


def predicted(changes: list[Any]) -> dict[str, bool]:
    modes: tuple[Mode, ...] = ("backward", "forward")
    return {mode: any(breaking_under(c, mode) for c in changes) for mode in modes}


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_each_single_change_gets_the_verdict_the_data_gives(name: str) -> None:
    old, new = CHANGES[name]
    changes = diff_schemas("toy", old, new)
    assert changes, "the change was not seen"
    assert predicted(changes) == observed(old, new), [c.as_dict() for c in changes]


def channel(document: dict[str, Any], name: str) -> dict[str, Any]:
    """What a reader of channel ``name`` takes: any of its messages' payloads."""
    payloads = []
    for ref in document["channels"][name]["messages"].values():
        message = document["components"]["messages"][ref["$ref"].rsplit("/", 1)[-1]]
        payloads.append(message["payload"])
    return {"anyOf": payloads, "components": document["components"]}


def series(n: int) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SERIES[n - 1].read_text(encoding="utf-8"))
    return loaded


@pytest.mark.parametrize(("old", "new"), [(1, 2), (2, 3), (1, 3)])
def test_the_committed_series_gets_the_verdict_the_data_gives(old: int, new: int) -> None:
    # before: forward was "compatible" from 1 to 2, while 1's readers refuse every document 2
    # writes (a closed Sighting and a new required field)
    before, after = series(old), series(new)
    changes = diff_asyncapi(before, after)
    data = observed(channel(before, "sightings"), channel(after, "sightings"))
    assert predicted(changes) == data


def test_a_message_added_to_a_channel_breaks_forward_as_the_data_says() -> None:
    before = series(1)
    after = copy.deepcopy(before)
    after["components"]["schemas"]["Retraction"] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"retracts": {"type": "integer"}},
        "required": ["retracts"],
    }
    after["components"]["messages"]["Retraction"] = {
        "payload": {"$ref": "#/components/schemas/Retraction"}
    }
    after["channels"]["sightings"]["messages"]["Retraction"] = {
        "$ref": "#/components/messages/Retraction"
    }
    changes = diff_asyncapi(before, after)
    assert {c.rule for c in changes} == {"message-added"}
    assert predicted(changes) == observed(channel(before, "sightings"), channel(after, "sightings"))
    removed = diff_asyncapi(after, before)  # and the way back
    assert predicted(removed) == observed(channel(after, "sightings"), channel(before, "sightings"))


@pytest.mark.parametrize(
    ("mode", "verdict"),
    [
        ("none", 0),
        ("backward", 1),
        ("backward-transitive", 1),
        ("forward", 1),  # 1.0's closed readers refuse 2.0's seen_at
        ("forward-transitive", 1),
        ("full", 1),
        ("full-transitive", 1),
    ],
)
def test_each_mode_of_the_command_on_the_series(
    mode: str, verdict: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema", "diff", *map(str, SERIES), "--mode", mode, "--format", "json"]) == (
        verdict
    )
    report = json.loads(capsys.readouterr().out)
    assert (report["breaking"] > 0) == bool(verdict)
