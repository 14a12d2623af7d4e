"""What goes into and comes out of a bureau core: the time, bytes to send, events, work done.

:class:`Emitter` collects one input's outputs for one bureau. Every part of the core records
through it, and it keeps the bureau's counters: each event is counted by :func:`counter_of`
as it is recorded, so a counter and the events it counts cannot disagree. The few tallies that
have no event (a transmission the broker acknowledged, a revocation list applied) are counted
by name with :meth:`Emitter.tally`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bureaus.events import Acknowledged, Breach, Delivered, Event, Hop, Rejected, Sent, Shed
from bureaus.outbox import Transmission
from protocol.errors import Reason
from protocol.messages.caveats import Breach as CaveatBreach

__all__ = ["Emitter", "Hold", "Now", "Outputs", "Send", "Work", "counter_of"]


@dataclass(frozen=True, slots=True)
class Now:
    """The time, as the driver's clock tells it.

    Attributes:
        s: Scenario seconds since the start of the run.
        t: Link seconds (monotonic): real seconds live, virtual seconds in a simulation.
        ns: Nanoseconds since the epoch (for events and latencies).
        wall: The UTC date and time (for certificates and message timestamps).
    """

    s: float
    t: float
    ns: int
    wall: datetime


@dataclass(frozen=True, slots=True)
class Send:
    """Bytes to publish on a topic, after holding them for the modelled delay.

    Attributes:
        topic: Where.
        payload: What.
        delay_s: Link seconds to hold the bytes first (the modelled WAN delay).
        retain: Publish as retained (revocation lists, clearing a retained message).
        item: The outbox transmission this is (tell the core whether it was published).
    """

    topic: str
    payload: bytes
    delay_s: float = 0.0
    retain: bool = False
    item: Transmission | None = None


@dataclass(slots=True)
class Work:
    """What handling one input cost, in units a service-time model charges for."""

    verified: int = 0
    """Envelopes whose signature and certificate were checked."""
    opened: int = 0
    """Envelopes decrypted and validated."""
    sealed: int = 0
    """Envelopes signed."""
    wrapped: int = 0
    """Recipient key wraps (one per final recipient of each sealed envelope)."""
    relayed: int = 0
    """Transmissions passed on unchanged."""


@dataclass(frozen=True, slots=True)
class Hold:
    """The link model held a transmission of a message on one hop (for its timing).

    Attributes:
        key: The message (:func:`~bureaus.events.trace_key`: its origin and id).
        a: From.
        b: To.
        ms: How long, modelled milliseconds.
    """

    key: str
    a: str
    b: str
    ms: float


@dataclass(slots=True)
class Outputs:
    """What one input produced.

    Attributes:
        sends: Bytes to publish, in order.
        events: What happened, in order.
        work: What it cost.
        envelope: For a submit, the sealed envelope.
        breaches: For a forward, the caveats it breaks.
        ok: For a command that can be refused (cancel, a blocked forward), whether it was done.
        holds: What the link model held, hop by hop (the driver times deliveries with them).
    """

    sends: list[Send] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    work: Work = field(default_factory=Work)
    envelope: bytes | None = None
    breaches: list[CaveatBreach] = field(default_factory=list)
    ok: bool = True
    holds: list[Hold] = field(default_factory=list)


_BY_CLASS: dict[type[Event], str] = {
    Sent: "sent",
    Delivered: "delivered",
    Acknowledged: "acknowledged",
}
_BY_VIA = {"relay": "relayed", "relay-again": "relayed", "resend": "resent"}


def counter_of(event: Event) -> str | None:
    """The counter an event of a bureau core adds one to (``None``: it is counted by none)."""
    named = _BY_CLASS.get(type(event))
    if named is not None:
        return named
    if isinstance(event, Rejected):
        return f"rejected:{event.reason}"
    if isinstance(event, Shed):
        return "send_failed" if event.reason == "send_failed" else f"shed:{event.reason}"
    if isinstance(event, Breach):
        return f"breach:{event.reason}"
    if isinstance(event, Hop):
        return _BY_VIA.get(event.via)
    return None


class Emitter:
    """One bureau's outputs in the making, and its counters.

    Args:
        bureau: The bureau every event is recorded at.
    """

    def __init__(self, bureau: str) -> None:
        self.bureau = bureau
        self.counters: Counter[str] = Counter()
        self.out = Outputs()

    def take(self) -> Outputs:
        """What was produced since the last take (and a fresh collection for the next input)."""
        out, self.out = self.out, Outputs()
        return out

    def record(self, cls: type[Event], now: Now, **fields: Any) -> None:
        """Record an event of kind ``cls`` now, and count it."""
        event = cls(t_ns=now.ns, t_s=round(now.s, 6), bureau=self.bureau, **fields)
        self.out.events.append(event)
        counter = counter_of(event)
        if counter is not None:
            self.counters[counter] += 1

    def refuse(self, now: Now, reason: Reason | str, detail: str, **fields: Any) -> None:
        """Record a refusal with its reason."""
        self.record(Rejected, now, reason=str(reason), detail=detail, **fields)

    def tally(self, name: str) -> None:
        """Count something that has no event of its own."""
        self.counters[name] += 1

    def send(self, send: Send) -> None:
        """Ask the driver to publish ``send``."""
        self.out.sends.append(send)

    def hold(self, key: str, a: str, b: str, ms: float) -> None:
        """Tell the driver that the link model held a message on hop a → b."""
        self.out.holds.append(Hold(key, a, b, ms))
