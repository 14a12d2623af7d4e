"""What happened in a run, one record per event: the raw material of metrics and reports.

Bureaus append to one :class:`EventLog`; each event carries the clock's nanoseconds (wall-clock
in live runs, shared by every process on one machine) and the scenario time in seconds. Nothing
here reads a clock: times come from the driver's clock.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from bureaus.errors import EventFormatError

__all__ = [
    "EVENT_CLASSES",
    "Acknowledged",
    "AnyEvent",
    "Breach",
    "Delivered",
    "Event",
    "EventKind",
    "EventLog",
    "Hop",
    "Lifecycle",
    "Presence",
    "Rejected",
    "Sent",
    "Shed",
    "Tracer",
    "event_from_dict",
    "make",
    "register",
    "trace_key",
]

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


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One thing that happened at one bureau (the fields every kind shares).

    Each kind is a subclass with its own typed fields (:data:`AnyEvent`); readers match on the
    class or on ``kind`` and read fields, never the free-text ``detail``, which is for people.

    Attributes:
        kind: What happened.
        t_ns: Nanoseconds since the epoch: the wall clock in live runs; in virtual-clock runs the
            run's start (a whole second of the wall clock) plus virtual time. Documented as
            wall-clock: it differs between two runs of the same seed.
        t_s: Scenario time, seconds since the start of the run.
        bureau: Where it happened.
        message_id: The message concerned, if any.
        message_kind: Its kind, if known.
        peer: The other bureau (sender of a delivery, next hop of a relay), if any.
        route: The bureaus the message passed, for deliveries.
        recipients: The final recipients, for sends.
        latency_ms: End-to-end latency of a delivery, milliseconds (virtual in simulation).
        modelled_ms: The part of ``latency_ms`` that is modelled WAN delay.
        size: Bytes on the wire.
        reason: Rejection, shedding, deadline or breach code.
        detail: Free text, for people.
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
        out: dict[str, Any] = {}
        for name in _field_names(type(self)):
            value = getattr(self, name)
            if value is None or value == ():
                continue
            out[name] = list(value) if isinstance(value, tuple) else value
        return out


_FIELD_NAMES: dict[type[Event], tuple[str, ...]] = {}


def _field_names(cls: type[Event]) -> tuple[str, ...]:
    """An event class's fields, in order (its dictionary's keys)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


@dataclass(frozen=True, slots=True, kw_only=True)
class Sent(Event):
    """A bureau sealed a message and queued it for its first hops."""

    kind: EventKind = "sent"


@dataclass(frozen=True, slots=True, kw_only=True)
class Hop(Event):
    """A message passed on: ``via`` says how (blind relay, relay of a later copy, resend, forward).

    Attributes:
        via: ``relay``, ``relay-again``, ``resend`` or ``forward``.
        attempt: The resend attempt, for resends.
        reached: How many final recipients this hop leads to, for relays.
        source: The message a forward copies.
    """

    kind: EventKind = "hop"
    via: Literal["relay", "relay-again", "resend", "forward"] = "relay"
    attempt: int | None = None
    reached: int | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivered(Event):
    """A recipient verified, opened and accepted a message.

    Attributes:
        outcome: For search results, ``hit`` or ``no-hit``.
    """

    kind: EventKind = "delivered"
    outcome: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Acknowledged(Event):
    """A sender received an end-to-end acknowledgement (``peer`` acknowledged ``message_id``)."""

    kind: EventKind = "acknowledged"
    status: str = "received"


@dataclass(frozen=True, slots=True, kw_only=True)
class Rejected(Event):
    """An input refused, with its reason code (``reason``)."""

    kind: EventKind = "rejected"


@dataclass(frozen=True, slots=True, kw_only=True)
class Shed(Event):
    """Traffic given up, with its reason code (``reason``): outbox full, overload, unanswered."""

    kind: EventKind = "shed"


@dataclass(frozen=True, slots=True, kw_only=True)
class Lifecycle(Event):
    """A notice moved through its lifecycle table at the General Secretariat.

    Attributes:
        transition: The lifecycle event (``request``, ``publish``, ``refuse``, ``cancel`` ...).
        state: The state it led to.
    """

    kind: EventKind = "lifecycle"
    transition: str = ""
    state: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Breach(Event):
    """A forward that breaks the originator's caveats (``reason``: the rule).

    Attributes:
        blocked: Whether the forward was refused (``enforce``) or only flagged.
    """

    kind: EventKind = "breach"
    blocked: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Presence(Event):
    """A bureau came or went on its presence topic."""

    kind: EventKind = "presence"


AnyEvent = Sent | Hop | Delivered | Acknowledged | Rejected | Shed | Lifecycle | Breach | Presence
"""Every kind of event a bureau records, one frozen class each (the scenario layer adds its own
kinds, ``scenarios/events.py``, through :func:`register`)."""

EVENT_CLASSES: dict[str, type[Event]] = {
    "sent": Sent,
    "hop": Hop,
    "delivered": Delivered,
    "acknowledged": Acknowledged,
    "rejected": Rejected,
    "shed": Shed,
    "lifecycle": Lifecycle,
    "breach": Breach,
    "presence": Presence,
}


def register(cls: type[Event]) -> type[Event]:
    """Add a kind of event from a layer above (its class's default ``kind`` names it)."""
    kind = cls.__dataclass_fields__["kind"].default
    assert isinstance(kind, str)
    EVENT_CLASSES[kind] = cls
    return cls


_CHAIN_FIELDS = frozenset({"seq", "chain"})
"""What the evidence chain adds to each line of ``events.jsonl`` (its number and link)."""


def event_from_dict(data: dict[str, Any]) -> Event:
    """An event read back from its dictionary (``events.jsonl``).

    Raises:
        EventFormatError: No such kind, or fields the kind does not have.
    """
    cls = EVENT_CLASSES.get(str(data.get("kind")))
    if cls is None:
        raise EventFormatError(f"no event kind {data.get('kind')!r}")
    names = {f.name for f in fields(cls)}
    unknown = set(data) - names - _CHAIN_FIELDS
    if unknown:
        raise EventFormatError(f"a {cls.__name__} event has no field {sorted(unknown)[0]!r}")
    values: dict[str, Any] = {
        k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items() if k in names
    }
    return cls(**values)


def make(kind: EventKind, **values: Any) -> Event:
    """An event of ``kind``, of its own class (the plain :class:`Event` for one not registered)."""
    return EVENT_CLASSES.get(kind, Event)(kind=kind, **values)


@dataclass
class EventLog:
    """An append-only list of events with optional listeners (for live displays).

    Attributes:
        keep: Which events the list keeps (all, when ``None``); every event reaches the
            listeners. A long run keeps only what it will look for again and has listeners
            count and stream the rest.
    """

    events: list[Event] = field(default_factory=list)
    listeners: list[Callable[[Event], None]] = field(default_factory=list)
    keep: Callable[[Event], bool] | None = None
    recorded: int = 0
    """Events recorded, kept or not."""

    def add(self, event: Event) -> None:
        """Record an event (if it is kept) and tell the listeners."""
        self.recorded += 1
        if self.keep is None or self.keep(event):
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


def trace_key(sender: str, message_id: str) -> str:
    """What names one message in the tracer: its sender and its id (an id is its sender's)."""
    return f"{sender}/{message_id}"


@dataclass
class Tracer:
    """Per-message timing kept by the drivers of one process: send times, link holds, and load.

    The cores know nothing of it (no core reads another's state): a driver hands it each core's
    events and holds as it applies them (:meth:`timed`), and it times each delivery, from the
    origin's send and the holds applied on each hop of its route. Messages are named by
    :func:`trace_key` (sender and id), so a member sealing under another's id cannot change
    the other's figures.
    """

    sent_ns: dict[str, int] = field(default_factory=dict)
    holds_ms: dict[tuple[str, str, str], float] = field(default_factory=dict)
    in_flight: int = 0
    """Deliveries owed: final recipients of messages sent, less deliveries made (a load gauge)."""
    _owed: dict[str, int] = field(default_factory=dict)
    """Per message sent here: the deliveries still to be timed here."""
    _hops: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    """Per message: the hops with a recorded hold, to forget them with it."""

    def timed(self, event: Event) -> None:
        """Take note of an event fresh from a core; a delivery gets its latency and modelled part.

        Those two fields are filled in place, before anyone else has seen the event (it is
        frozen for everyone after: a copy per delivery cost more than the rest of the tracing).
        Once every recipient of a message has had its delivery timed here, the message's send
        time and holds are forgotten: what the tracer keeps is bounded by the traffic in flight,
        not by the length of the run.
        """
        if isinstance(event, Sent) and event.message_id:
            key = trace_key(event.bureau, event.message_id)
            self.sent(key, event.t_ns)
            self.in_flight += len(event.recipients)
            self._owed[key] = self._owed.get(key, 0) + len(event.recipients)
        elif isinstance(event, Delivered) and event.message_id and event.latency_ms is None:
            self.in_flight = max(0, self.in_flight - 1)
            key = trace_key(event.peer or "", event.message_id)
            sent = self.sent_ns.get(key)
            latency = (event.t_ns - sent) / 1e6 if sent is not None else None
            object.__setattr__(event, "latency_ms", latency)
            object.__setattr__(event, "modelled_ms", self.modelled_ms(key, event.route))
            owed = self._owed.get(key)
            if owed is not None:
                if owed > 1:
                    self._owed[key] = owed - 1
                else:
                    self._forget(key)

    def _forget(self, key: str) -> None:
        del self._owed[key]
        self.sent_ns.pop(key, None)
        for a, b in self._hops.pop(key, ()):
            self.holds_ms.pop((key, a, b), None)

    def __len__(self) -> int:
        """Messages whose timing is still kept."""
        return len(self.sent_ns)

    def sent(self, message_id: str, t_ns: int) -> None:
        """Record when a message was handed to the network (the first time only)."""
        self.sent_ns.setdefault(message_id, t_ns)

    def hold(self, message_id: str, a: str, b: str, ms: float) -> None:
        """Record the modelled delay applied on hop a → b."""
        if (message_id, a, b) not in self.holds_ms:
            self._hops.setdefault(message_id, []).append((a, b))
        self.holds_ms[(message_id, a, b)] = ms

    def modelled_ms(self, message_id: str, route: tuple[str, ...]) -> float:
        """The modelled delay along a route (0 for hops with no recorded hold)."""
        return sum(self.holds_ms.get((message_id, a, b), 0.0) for a, b in itertools.pairwise(route))
