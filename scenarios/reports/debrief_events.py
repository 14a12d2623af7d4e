"""What the debrief reads from the run's event log: typed events, and the tables built from them.

``events.jsonl`` is read back into the event classes (:func:`read_events`); a line that is no
event bureaunet writes is left out and counted, never guessed at. The activity table, the
timeline and the players' answers to the planners' questions are built from the typed events.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, fields
from typing import Any

from pydantic import TypeAdapter, ValidationError

from bureaus.errors import EventFormatError
from bureaus.events import Breach, Delivered, Event, Hop, Rejected, Sent, event_from_dict
from scenarios.events import Control, DeadlineEvent, Inject
from scenarios.exercise.deadlines import when
from scenarios.model import Scenario, bureau_references
from scenarios.reports.report_model import TIMELINE_KINDS

__all__ = ["EventsRead", "activity", "lesson_answers", "named_bureaus", "read_events", "timeline"]


@dataclass(frozen=True, slots=True)
class EventsRead:
    """``events.jsonl`` read back into typed events.

    Attributes:
        events: The lines that are events bureaunet writes, in order, as their own classes.
        lines: How many lines the log has.
        unread: The lines that are no event bureaunet writes (unknown kind or field): left out
            of every section, and counted on the page.
    """

    events: list[Event]
    lines: int
    unread: int


_ADAPTERS: dict[type[Event], TypeAdapter[Any]] = {}


def _checked(event: Event) -> Event:
    """The event, once each field holds a value of its declared type.

    A string where a name is due, a number where a time is: an edited line could carry anything.

    Raises:
        ValidationError: A field of the wrong type.
    """
    cls = type(event)
    adapter = _ADAPTERS.get(cls)
    if adapter is None:
        adapter = _ADAPTERS[cls] = TypeAdapter(cls)
    values = {f.name: getattr(event, f.name) for f in fields(event)}
    checked = adapter.validate_python(values)
    assert isinstance(checked, Event)
    return checked


def read_events(lines: list[dict[str, Any]]) -> EventsRead:
    """Typed events from the log's lines (each already a JSON object)."""
    events: list[Event] = []
    for line in lines:
        try:
            events.append(_checked(event_from_dict(line)))
        except (EventFormatError, TypeError, ValidationError):
            continue
    return EventsRead(events, len(lines), len(lines) - len(events))


def lesson_answers(events: list[Event]) -> dict[int, list[tuple[str, str]]]:
    """What the players answered to each of the planners' questions (by its index), and who."""
    answers: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for e in events:
        detail = e.detail or ""
        if isinstance(e, Control) and e.action == "lesson" and detail.startswith("lesson "):
            number, _, text = detail.removeprefix("lesson ").partition(": ")
            if number.isdigit():
                answers[int(number) - 1].append((e.bureau, text))
    return answers


def named_bureaus(scenario: Scenario | None) -> list[str]:
    """Bureaus the script names (they get a row each in the activity table)."""
    if scenario is None:
        return []
    names: list[str] = list(scenario.players)
    for where, name in bureau_references(scenario):
        scripted = where[0] in ("injects", "deck") or (
            where[0] == "faults" and where[2] != "compromised"
        )
        if scripted and name != "all-ncbs" and ":" not in name:
            names.append(name)
    return list(dict.fromkeys(names))


def _tally(events: list[Event]) -> tuple[dict[str, Counter[str]], dict[str, Counter[str]]]:
    """What each bureau received (by message kind) and did (sent, acknowledged, ...)."""
    received: dict[str, Counter[str]] = defaultdict(Counter)
    did: dict[str, Counter[str]] = defaultdict(Counter)
    for e in events:
        message_kind = e.message_kind or "?"
        if isinstance(e, Delivered) and message_kind != "acknowledgement":
            received[e.bureau][message_kind] += 1
        elif isinstance(e, Sent):
            did[e.bureau]["acknowledged" if message_kind == "acknowledgement" else "sent"] += 1
        elif isinstance(e, Hop) and e.via == "forward":
            did[e.bureau]["forwarded"] += 1
        elif isinstance(e, Breach) or (isinstance(e, Rejected) and e.reason != "duplicate"):
            did[e.bureau][e.kind] += 1
    return received, did


def activity(events: list[Event], named: list[str]) -> list[list[str]]:
    """One row per bureau the script names, and one for all the others: received and did."""
    received, did = _tally(events)

    def row(label: str, bureaus: list[str]) -> list[str]:
        got: Counter[str] = Counter()
        done: Counter[str] = Counter()
        for b in bureaus:
            got.update(received.get(b, Counter()))
            done.update(did.get(b, Counter()))
        counts = [str(done[k]) for k in ("sent", "acknowledged", "forwarded", "breach", "rejected")]
        return [label, ", ".join(f"{n} {k}" for k, n in sorted(got.items())) or "-", *counts]

    everyone = sorted(set(received) | set(did) - {"controller", "broker"})
    rows = [row(b, [b]) for b in named if b in everyone]
    others = [b for b in everyone if b not in named and "," not in b]
    if others:
        rows.append(row(f"{len(others)} other bureaus", others))
    return rows


def timeline(
    events: list[Event], scenario: Scenario | None, duration: float
) -> tuple[list[list[str]], list[str]]:
    """The timeline's rows (when, kind, where, what) and how each stands out."""
    comments: dict[str, str] = {}
    if scenario is not None:
        comments = {
            i.name: i.comment for i in (*scenario.injects, *scenario.deck) if i.name and i.comment
        }
    rows, classes = [], []
    for e in events:
        if e.kind not in TIMELINE_KINDS:
            continue
        detail = e.detail or ""
        if isinstance(e, Inject) and e.name in comments:
            detail = f"{detail} - {comments[e.name]}"
        rows.append([when(e.t_s, duration), e.kind, e.bureau, detail])
        classes.append(_timeline_class(e))
    return rows, classes


def _timeline_class(e: Event) -> str:
    """How a timeline row stands out: a bookmark, a breach or a missed deadline, or not."""
    if isinstance(e, Control) and e.action == "bookmark":
        return "bookmark"
    if isinstance(e, Breach) or (isinstance(e, DeadlineEvent) and e.reason in ("missed", "late")):
        return "bad"
    return ""
