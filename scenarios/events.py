"""The kinds of event only the scenario layer records: faults, injects, controls, deadlines.

Registered with the event log's kinds (:func:`bureaus.events.register`), so ``events.jsonl``
reads back into these classes too.
"""

from __future__ import annotations

from dataclasses import dataclass

from bureaus.events import Event, EventKind, register

__all__ = ["Control", "DeadlineEvent", "Fault", "Inject"]


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class Fault(Event):
    """A scripted fault began or ended (scenario layer)."""

    kind: EventKind = "fault"


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class Inject(Event):
    """A scenario inject was played (scenario layer).

    Attributes:
        name: The inject's name.
    """

    kind: EventKind = "inject"
    name: str | None = None


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class Control(Event):
    """A controller's action in a live exercise (scenario layer).

    Attributes:
        action: ``pause``, ``resume``, ``speed``, ``card``, ``bookmark``, ``reply``, ``forward``,
            ``stop``.
    """

    kind: EventKind = "control"
    action: str | None = None


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class DeadlineEvent(Event):
    """A response deadline met, missed or answered late (``reason``) (scenario layer).

    Attributes:
        name: The deadline's inject.
    """

    kind: EventKind = "deadline"
    name: str | None = None
