"""Response deadlines: what a bureau owes by when, watched from the event log.

A :class:`DeadlineBook` opens a :class:`Deadline` for each injected request, watches the events
for the answer (an acknowledgement from every addressee, the General Secretariat's review, the
answer to a search) and records ``deadline`` events: met, missed at the due time, or late.
Labels for scenario times and spans, as people read them, live here too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from bureaus.events import Event, Lifecycle
from scenarios.events import DeadlineEvent

__all__ = [
    "SECONDS_FROM",
    "Deadline",
    "DeadlineBook",
    "DeadlineKind",
    "clock_label",
    "span_label",
    "when",
]

SECONDS_FROM = 7_200.0
"""Runs shorter than this (scenario seconds) write their times with seconds."""

DeadlineKind = Literal["acknowledgement", "review", "answer"]


@dataclass
class Deadline:
    """A response a bureau owes by a scenario time.

    Attributes:
        name: The inject whose message asked for the response.
        kind: ``acknowledgement`` (every recipient acknowledges), ``review`` (the General
            Secretariat publishes or refuses a notice request), ``answer`` (a search result
            comes back).
        message_id: The message whose answer closes the deadline.
        sender: The bureau waiting for the answer.
        waiting_for: Who has still to answer.
        opened_s: When the request was sent (scenario seconds).
        due_s: When the answer is due (scenario seconds).
        answered_s: When the last answer came, if it did.
        missed: Whether the due time passed first.
    """

    name: str
    kind: DeadlineKind
    message_id: str
    sender: str
    waiting_for: set[str]
    opened_s: float
    due_s: float
    answered_s: float | None = None
    missed: bool = False
    owed_by: tuple[str, ...] = ()
    """Everyone who owed an answer (``waiting_for`` as it was when the deadline opened)."""
    missed_by: tuple[str, ...] = ()
    """Who had not answered when it was due (empty unless missed)."""

    def __post_init__(self) -> None:
        self.owed_by = self.owed_by or tuple(sorted(self.waiting_for))

    @property
    def state(self) -> str:
        """``open``, ``met``, ``missed`` or ``late`` (answered after being missed)."""
        if self.answered_s is None:
            return "missed" if self.missed else "open"
        return "late" if self.missed else "met"

    def as_dict(self) -> dict[str, Any]:
        """For ``summary.json`` and the debrief."""
        return {
            "name": self.name,
            "kind": self.kind,
            "sender": self.sender,
            "opened_s": round(self.opened_s, 3),
            "due_s": round(self.due_s, 3),
            "answered_s": None if self.answered_s is None else round(self.answered_s, 3),
            "state": self.state,
            "owed_by": list(self.owed_by),
            "missed_by": list(self.missed_by),
            "waiting_for": sorted(self.waiting_for),
        }


@dataclass
class DeadlineBook:
    """Every deadline of a run, kept up to date from the event log."""

    record: Callable[[Event], None]
    """How the book records its own events (the run's event log)."""
    on_missed: Callable[[Deadline], None] = lambda _deadline: None
    deadlines: dict[str, Deadline] = field(default_factory=dict)
    """By the id of the message whose answer closes them."""

    def open(self, deadline: Deadline) -> None:
        """Start watching for an answer."""
        self.deadlines[deadline.message_id] = deadline

    def by_name(self, name: str) -> Deadline | None:
        """The deadline opened by the named inject, if any."""
        return next((d for d in self.deadlines.values() if d.name == name), None)

    def pending(self) -> list[Deadline]:
        """Deadlines still waiting for an answer, soonest first."""
        return sorted(
            (d for d in self.deadlines.values() if d.answered_s is None), key=lambda d: d.due_s
        )

    def observe(self, event: Event) -> None:
        """Close deadlines answered by ``event`` (an event-log listener)."""
        if event.message_id is None:
            return
        deadline = self.deadlines.get(event.message_id)
        if deadline is None or deadline.answered_s is not None:
            return
        if not _answers(deadline, event):
            return
        deadline.waiting_for.clear()
        deadline.answered_s = event.t_s
        self.record(
            DeadlineEvent(
                name=deadline.name,
                t_ns=event.t_ns,
                t_s=event.t_s,
                bureau=deadline.sender,
                message_id=deadline.message_id,
                reason="late" if deadline.missed else "met",
                detail=f"{deadline.name}: {deadline.kind} {_how_soon(deadline, event.t_s)}",
            )
        )

    def expire(self, deadline: Deadline, t_ns: int, t_s: float) -> None:
        """The due time has come: record a miss if no answer came."""
        if deadline.answered_s is not None or deadline.missed:
            return
        deadline.missed = True
        deadline.missed_by = tuple(sorted(deadline.waiting_for))
        self.record(
            DeadlineEvent(
                name=deadline.name,
                t_ns=t_ns,
                t_s=t_s,
                bureau=deadline.sender,
                message_id=deadline.message_id,
                recipients=tuple(sorted(deadline.waiting_for)),
                reason="missed",
                detail=f"{deadline.name}: no {deadline.kind} from "
                f"{', '.join(sorted(deadline.waiting_for))} within "
                f"{span_label(deadline.due_s - deadline.opened_s)}",
            )
        )
        self.on_missed(deadline)

    def summary(self) -> list[dict[str, Any]]:
        """Every deadline, in the order opened."""
        return [d.as_dict() for d in self.deadlines.values()]


def span_label(seconds: float) -> str:
    """A scenario-time span for people: ``45 s``, ``12 min``, ``8.0 h``, ``3.0 d``."""
    seconds = abs(seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3_600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86_400:
        return f"{seconds / 3_600:.1f} h"
    return f"{seconds / 86_400:.1f} d"


def pace_label(speed: float) -> str:
    """A clock speed as people say it: real time per scenario hour (or day, when fast).

    ``speed`` is scenario seconds per real second: 30 is ``2 min per scenario hour``, 3,840 is
    ``22 s per scenario day``, 1 is ``real time``.
    """
    if abs(speed - 1.0) < 1e-9:
        return "real time"
    per_hour = 3_600 / speed
    if per_hour >= 10:
        return f"{span_label(per_hour)} per scenario hour"
    per_day = 86_400 / speed
    return f"{span_label(per_day)} per scenario day" if per_day >= 1 else f"{speed:g}x"


def clock_label(t_s: float, *, seconds: bool = False) -> str:
    """Scenario time as the project writes it everywhere: ``D+HH:MM`` (day, hours, minutes).

    ``seconds`` adds ``:SS``, for runs short enough that seconds matter (see :func:`when`).
    """
    whole = int(max(0.0, t_s))
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    return f"{days}+{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if seconds else "")


def when(t_s: float | None, duration_s: float) -> str:
    """A scenario time for tables, logs and pages: ``D+HH:MM``.

    Runs shorter than two hours add ``:SS``, where seconds matter.
    """
    if t_s is None:
        return "-"
    return clock_label(t_s, seconds=duration_s < SECONDS_FROM)


def _answers(deadline: Deadline, event: Event) -> bool:
    """Whether ``event`` answers ``deadline`` (for an acknowledgement: the last one owed)."""
    if deadline.kind == "acknowledgement":
        if event.kind != "acknowledged" or event.bureau != deadline.sender:
            return False
        deadline.waiting_for.discard(event.peer or "")
        return not deadline.waiting_for
    if deadline.kind == "review":
        return isinstance(event, Lifecycle) and event.transition in ("publish", "refuse")
    return event.kind == "delivered" and event.bureau == deadline.sender


def _how_soon(deadline: Deadline, answered_s: float) -> str:
    late = answered_s - deadline.due_s
    if deadline.missed:
        return f"came {span_label(late)} after the deadline"
    return (
        f"in {span_label(answered_s - deadline.opened_s)}, {span_label(-late)} before the deadline"
    )
