"""What the controller's screens read of a running exercise: snapshots and players' views.

Plain values built by :class:`~scenarios.exercise.control.ExerciseControl` and read by the
terminal dashboard and the room's pages; also whether an expectation is met, failed or not
decided yet while the run goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from scenarios.exercise.deadlines import Deadline, clock_label
from scenarios.model import AcknowledgedCheck, DeadlineCheck, DeliveredCheck, Expectation
from scenarios.reports.metrics import ExpectationResult
from scenarios.results import RunResult

__all__ = ["LiveState", "PlayerView", "Received", "Snapshot", "full_text", "gist", "live_state"]

LiveState = Literal["met", "pending", "failed", "not reached"]


def live_state(
    expectation: Expectation,
    checked: ExpectationResult,
    result: RunResult,
    now_s: float,
    *,
    finished: bool,
) -> LiveState:
    """Whether an expectation is met, failed, or not decided yet at scenario time ``now_s``.

    Finished runs are met or failed. While running, a delivery or acknowledgement check fails
    only once its window after the inject has passed; a deadline check waits for the deadline;
    counts, latency and loss are decided at the end (pending until then, unless met so far and
    unable to change, which only the first two kinds are).
    """
    if finished:
        return "met" if checked.passed else "failed" if checked.reached else "not reached"
    match expectation:
        case DeliveredCheck(delivered=spec) | AcknowledgedCheck(acknowledged=spec):
            sent = result.inject_times.get(spec.message)
            over = sent is not None and now_s > sent + spec.within
            return "met" if checked.passed else "failed" if over else "pending"
        case DeadlineCheck(deadline=spec):
            deadline = next((d for d in result.deadlines if d.name == spec.message), None)
            if deadline is None or deadline.state == "open":
                return "pending"
            return "met" if checked.passed else "failed"
        case _:
            return "pending"


def gist(message: Any, deadlines: list[Deadline], bureau: str) -> str:
    """Priority, handling code, TLP, the deadline for ``bureau``'s answer, and the text's start."""
    parts = [str(getattr(message, "priority", "routine"))]
    handling = getattr(message, "handling_code", None)
    parts.append(f"handling {handling}" if handling else "no handling code")
    tlp = getattr(message, "tlp", None)
    if tlp:
        marking = str(tlp).upper()
        parts.append(marking if marking.startswith("TLP:") else f"TLP:{marking}")
    mid = str(message.message_id)
    due = [d.due_s for d in deadlines if d.message_id == mid and bureau in d.waiting_for]
    if due:
        parts.append(f"answer due {clock_label(min(due))}")
    text = (
        getattr(message, "text", None)
        or getattr(message, "subject", None)
        or getattr(message, "summary_of_facts", None)
        or ""
    )
    words = " ".join(str(text).split())
    if words:
        parts.append(f'"{words[:70]}{"..." if len(words) > 70 else ""}"')
    return "; ".join(parts)


def full_text(message: Any) -> str:
    """Everything a person reads of a message: subject, text, body, summary, the notice's name."""
    parts = [
        str(value)
        for name in ("subject", "text", "body", "summary_of_facts", "reason", "detail")
        if (value := getattr(message, name, None))
    ]
    notice = getattr(message, "notice", None)
    if notice is not None:
        who = " ".join(
            str(v) for v in (getattr(notice, "forename", ""), getattr(notice, "name", "")) if v
        )
        parts.insert(0, f"{getattr(notice, 'notice_type', 'notice')} notice: {who}".strip())
    return "\n".join(parts)


@dataclass(frozen=True)
class Received:
    """One message a played bureau has to answer, as its player sees it."""

    message_id: str
    kind: str
    sender: str
    priority: str
    handling_code: str
    tlp: str
    text: str
    due_s: float | None
    """Scenario time by which the player's answer is due, if a deadline waits for it."""


@dataclass(frozen=True)
class PlayerView:
    """What one played bureau's page shows: its unanswered messages and what it sent."""

    bureau: str
    scenario_s: float
    paused: bool
    finished: bool
    inbox: list[Received]
    sent: list[tuple[float, str, str]]
    """The bureau's latest sends: (scenario time, kind, recipients)."""


@dataclass(frozen=True)
class Snapshot:
    """What a dashboard shows, taken at one moment."""

    scenario_s: float
    duration_s: float
    speed: float
    paused: bool
    finished: bool
    online: dict[str, tuple[int, int]]
    """Region → (bureaus online, bureaus)."""
    delivered: dict[str, int]
    """Region → messages delivered there."""
    in_flight: dict[str, int]
    """Region → messages its bureaus sent that are not yet acknowledged by every recipient."""
    deadlines: list[Deadline]
    """Pending deadlines, soonest first."""
    expectations: list[ExpectationResult]
    """Expectations as they stand now (final only when the run has finished)."""
    states: list[LiveState]
    """For each expectation: ``met``, ``pending`` (not decided yet) or ``failed``."""
    log: list[str]
    """The latest controller-level lines: injects, faults, deadlines, breaches, control."""
    inboxes: dict[str, list[tuple[str, str, str]]]
    """Played bureau → its unanswered messages as (message id, kind, sender)."""
    gists: dict[str, str]
    """Message id → what a player needs to judge it: priority, handling code, TLP, the answer's
    deadline and the start of its text."""
