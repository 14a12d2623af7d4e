"""The event log's kinds: frozen, typed records that read back from events.jsonl as they were."""

from __future__ import annotations

import dataclasses
import json

import pytest

from bureaus.errors import EventFormatError
from bureaus.events import EVENT_CLASSES, Delivered, Event, Lifecycle, event_from_dict, make
from scenarios.events import Control, DeadlineEvent, Fault, Inject
from scenarios.reports.evidence import chained_lines


def test_every_kind_has_its_own_class_including_the_scenario_layers() -> None:
    for cls in (Fault, Inject, Control, DeadlineEvent):
        kind = cls.__dataclass_fields__["kind"].default
        assert isinstance(kind, str)
        assert EVENT_CLASSES[kind] is cls
    assert isinstance(make("delivered", t_ns=1, t_s=0.0, bureau="FR"), Delivered)


@pytest.mark.parametrize("kind", sorted(EVENT_CLASSES))
def test_an_event_reads_back_from_its_json_line(kind: str) -> None:
    event = make(kind, t_ns=5, t_s=1.5, bureau="FR", message_id="m", route=("FR", "gs"))  # type: ignore[arg-type]
    line = json.dumps(event.as_dict())
    assert event_from_dict(json.loads(line)) == event


@pytest.mark.parametrize("kind", sorted(EVENT_CLASSES))
def test_an_event_reads_back_from_its_chained_line_in_events_jsonl(kind: str) -> None:
    """The evidence chain adds its own fields (``seq``, ``chain``) to each line it writes."""
    event = make(kind, t_ns=5, t_s=1.5, bureau="FR", message_id="m")  # type: ignore[arg-type]
    ((line, _link),) = chained_lines([event.as_dict()])
    assert event_from_dict(json.loads(line)) == event


def test_typed_fields_are_read_not_parsed() -> None:
    step = Lifecycle(t_ns=1, t_s=2.0, bureau="gs", transition="publish", state="published")
    again = event_from_dict(json.loads(json.dumps(step.as_dict())))
    assert isinstance(again, Lifecycle)
    assert (again.transition, again.state) == ("publish", "published")


def test_events_are_frozen() -> None:
    event = Event(kind="sent", t_ns=1, t_s=0.0, bureau="FR")
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.bureau = "DE"  # type: ignore[misc]


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "nonsense", "t_ns": 1, "t_s": 0, "bureau": "FR"},
        {"kind": "sent", "t_ns": 1, "t_s": 0, "bureau": "FR", "outcome": "hit"},
    ],
)
def test_an_unknown_kind_or_field_is_a_clear_error(data: dict[str, object]) -> None:
    with pytest.raises(EventFormatError, match=r"kind|field"):
        event_from_dict(data)
