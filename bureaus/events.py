"""What happened in a run, one record per event: the raw material of metrics and reports.

Bureaus append to one :class:`EventLog`; times are wall-clock nanoseconds (``time.time_ns``,
shared by every process on one machine) plus the scenario time in seconds.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["Event", "EventKind", "EventLog", "Tracer"]

EventKind = Literal[
    "sent",
    "hop",
    "delivered",
    "acknowledged",
    "rejected",
    "shed",
    "fault",
    "inject",
    "presence",
    "lifecycle",
    "control",
    "breach",
    "deadline",
]


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened at one bureau.

    Attributes:
        kind: What happened.
        t_ns: Wall-clock time, nanoseconds since the epoch.
        t_s: Scenario time, seconds since the start of the run.
        bureau: Where it happened.
        message_id: The message concerned, if any.
        message_kind: Its kind, if known.
        peer: The other bureau (sender of a delivery, next hop of a relay), if any.
        route: The bureaus the message passed, for deliveries.
        recipients: The final recipients, for sends.
        latency_ms: End-to-end latency of a delivery, real milliseconds.
        modelled_ms: The part of ``latency_ms`` that is modelled WAN delay.
        size: Bytes on the wire.
        reason: Rejection or shedding reason code.
        detail: Free text.
    """

    kind: EventKind
    t_ns: int
    t_s: float
    bureau: str
    message_id: str | None = None
    message_kind: str | None = None
    peer: str | None = None
    route: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()
    latency_ms: float | None = None
    modelled_ms: float | None = None
    size: int | None = None
    reason: str | None = None
    detail: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The event as a JSON-ready dictionary (empty fields left out)."""
        return {
            k: (list(v) if isinstance(v, tuple) else v)
            for k, v in asdict(self).items()
            if v not in (None, ())
        }


@dataclass
class EventLog:
    """An append-only list of events with optional listeners (for live displays)."""

    events: list[Event] = field(default_factory=list)
    listeners: list[Callable[[Event], None]] = field(default_factory=list)

    def add(self, event: Event) -> None:
        """Record an event and tell the listeners."""
        self.events.append(event)
        for listener in self.listeners:
            listener(event)

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)

    def of(self, kind: EventKind, **match: object) -> list[Event]:
        """The events of one kind whose fields equal ``match``."""
        return [
            e
            for e in self.events
            if e.kind == kind and all(getattr(e, k) == v for k, v in match.items())
        ]

    def counts(self) -> Counter[str]:
        """How many events of each kind."""
        return Counter(e.kind for e in self.events)


@dataclass
class Tracer:
    """Per-message timing shared by the bureaus of one process: send times and link holds.

    The receiving bureau computes a delivery's latency from the origin's send time and the
    modelled part from the holds applied on each hop of its route.
    """

    sent_ns: dict[str, int] = field(default_factory=dict)
    holds_ms: dict[tuple[str, str, str], float] = field(default_factory=dict)

    @staticmethod
    def now_ns() -> int:
        """Wall-clock nanoseconds."""
        return time.time_ns()

    def sent(self, message_id: str, t_ns: int) -> None:
        """Record when a message was handed to the network (the first time only)."""
        self.sent_ns.setdefault(message_id, t_ns)

    def hold(self, message_id: str, a: str, b: str, ms: float) -> None:
        """Record the modelled delay applied on hop a → b."""
        self.holds_ms[(message_id, a, b)] = ms

    def modelled_ms(self, message_id: str, route: tuple[str, ...]) -> float:
        """The modelled delay along a route (0 for hops with no recorded hold)."""
        return sum(self.holds_ms.get((message_id, a, b), 0.0) for a, b in itertools.pairwise(route))
