"""A run's figures kept as it goes: counters and histograms, nothing per message once it is done.

For long simulations (``RunOptions.lean``): every event passes through :class:`RunningFigures`
as the run records it, and only the notable events are kept in memory (:func:`notable`): the
ones expectations, deadlines and people look for (injects, faults, rejections, shed traffic,
breaches, lifecycle steps, and the traffic of the scripted messages). The routine traffic
(sends, deliveries, acknowledgements and hops of load messages) is counted and streamed to
``events.jsonl`` with its evidence chain (:class:`~scenarios.reports.evidence.ChainedLog`), not
kept. What a message needs until it is delivered (which recipients still owe a delivery, which
links it was counted on) is dropped when its last recipient has it.

The summary made from these figures is the one :func:`~scenarios.reports.metrics.summarise`
makes from every event: the same counts, the same HDR histograms fed the same values in the same
order (``tests/test_running_figures.py`` holds the two to equality on the bundled scenarios).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from hdrh.histogram import HdrHistogram

from bureaus import Event
from bureaus.events import Breach
from protocol.errors import Reason

__all__ = [
    "MAP_COUNTED",
    "ROUTINE",
    "TIMELINE_BINS",
    "Counts",
    "MapTally",
    "RunningFigures",
    "messages_section",
    "new_histogram",
    "notable",
    "percentiles_of",
    "record_ms",
    "route_class",
    "routes_section",
]

ROUTINE = frozenset({"sent", "delivered", "acknowledged", "hop"})
"""The kinds of event a lean run counts and streams but does not keep (but for scripted
messages)."""


_HIGHEST_US = 3_600_000_000  # one hour


def route_class(route: tuple[str, ...]) -> str:
    """A short name for the shape of a route: ``direct``, ``via gs``, ``via rb+gs+rb``."""
    if len(route) <= 2:
        return "direct"
    middle = ["rb" if hop.startswith(("rb-", "lo-")) else hop for hop in route[1:-1]]
    return "via " + "+".join(middle)


def as_us(value_ms: float) -> int:
    """A latency in milliseconds as the histograms keep it: whole microseconds, 1 µs to an hour."""
    return min(_HIGHEST_US, max(1, round(value_ms * 1000)))


def record_ms(histogram: HdrHistogram, value_ms: float) -> None:
    """Record a latency in milliseconds (kept in microseconds, from 1 µs to an hour)."""
    histogram.record_value(as_us(value_ms))


def new_histogram() -> HdrHistogram:
    """A latency histogram: microseconds up to an hour, three significant digits."""
    return HdrHistogram(1, _HIGHEST_US, 3)


def percentiles_of(h: HdrHistogram, count: int) -> dict[str, float]:
    """The percentiles the reports show, of ``count`` values recorded in ``h``."""
    return {
        "count": count,
        "p50": h.get_value_at_percentile(50) / 1000,
        "p90": h.get_value_at_percentile(90) / 1000,
        "p99": h.get_value_at_percentile(99) / 1000,
        "p999": h.get_value_at_percentile(99.9) / 1000,
        "max": h.get_max_value() / 1000,
    }


_PENDING = 4096
"""The most distinct values a latency keeps counted before it records them in its histograms
(a run's latencies repeat: recording each distinct value once, with its count, is the cost)."""


@dataclass
class _Latency:
    """Total, measured and modelled latency of a set of deliveries, as histograms.

    Values are counted as they come and recorded in the histograms, each distinct value once with
    its count, when :data:`_PENDING` distinct ones are waiting or a histogram is read: the same
    histograms as recording each value (a histogram's counts do not depend on the order).
    """

    count: int = 0
    _total: HdrHistogram = field(default_factory=new_histogram)
    _measured: HdrHistogram = field(default_factory=new_histogram)
    _modelled: HdrHistogram = field(default_factory=new_histogram)
    _pending: Counter[tuple[int, int, int]] = field(default_factory=Counter)

    def add_us(self, values: tuple[int, int, int]) -> None:
        """Count one delivery's (total, measured, modelled) latency, in microseconds."""
        self.count += 1
        pending = self._pending
        pending[values] += 1
        if len(pending) >= _PENDING:
            self._record()

    def _record(self) -> None:
        for (total, measured, modelled), n in self._pending.items():
            self._total.record_value(total, n)
            self._measured.record_value(measured, n)
            self._modelled.record_value(modelled, n)
        self._pending.clear()

    @property
    def total(self) -> HdrHistogram:
        """The total latencies (µs)."""
        self._record()
        return self._total

    @property
    def measured(self) -> HdrHistogram:
        """The measured part of each latency (µs)."""
        self._record()
        return self._measured

    @property
    def modelled(self) -> HdrHistogram:
        """The modelled part of each latency (µs)."""
        self._record()
        return self._modelled

    def table(self) -> dict[str, Any]:
        if not self.count:
            return {"count": 0}
        return {
            **percentiles_of(self.total, self.count),
            "measured": percentiles_of(self.measured, self.count),
            "modelled": percentiles_of(self.modelled, self.count),
        }


MAP_COUNTED = ("sent", "received", "carried", "acknowledged", "refused forwards", "rejected")
"""What the map's hover counts for each bureau."""


@dataclass
class MapTally:
    """What the map and its slider draw, counted one event at a time (memory: the roster's size).

    ``taking_part``: the bureaus that sent, carried or received something, in the order first
    seen; ``by_bureau``: each bureau's :data:`MAP_COUNTED`; ``first_link``: when each link first
    carried a delivery; ``first_blocked``: when a forward from A to B was first refused under its
    caveats. The same tally is made from a whole run's events or as a lean run goes.
    """

    taking_part: dict[str, None] = field(default_factory=dict)
    by_bureau: dict[str, dict[str, int]] = field(default_factory=dict)
    first_link: dict[tuple[str, str], float] = field(default_factory=dict)
    first_blocked: dict[tuple[str, str], float] = field(default_factory=dict)

    def _add(self, bureau: str, what: str) -> None:
        counts = self.by_bureau.get(bureau)
        if counts is None:
            counts = self.by_bureau[bureau] = dict.fromkeys(MAP_COUNTED, 0)
        counts[what] += 1

    def __call__(self, event: Event) -> None:
        """Count one event."""
        kind = event.kind
        if kind == "sent":
            self._add(event.bureau, "sent")
            self.taking_part.setdefault(event.bureau)
        elif kind == "delivered":
            route = event.route
            self._add(event.bureau, "received")
            for hop in route[1:-1]:
                self._add(hop, "carried")
            for bureau in route:
                self.taking_part.setdefault(bureau)
            for pair in pairwise(route):
                self.first_link.setdefault(pair, event.t_s)
        elif kind == "acknowledged":
            if event.peer:
                self._add(event.peer, "acknowledged")
        elif isinstance(event, Breach):
            self.taking_part.setdefault(event.bureau)
            if event.blocked:
                self._add(event.bureau, "refused forwards")
                for target in event.recipients:
                    self.first_blocked.setdefault((event.bureau, target), event.t_s)
        elif kind == "rejected":
            self._add(event.bureau, "rejected")

    @classmethod
    def of(cls, events: list[Event]) -> MapTally:
        """The tally of a whole run's events."""
        tally = cls()
        for event in events:
            tally(event)
        return tally


TIMELINE_BINS = 600
"""The slices a lean run counts its deliveries in over the scenario's length (the timeline draws
them regrouped; deliveries after the end fall in further slices of the same width)."""


@dataclass
class RunningFigures:
    """The figures of :func:`~scenarios.reports.metrics.summarise`, fed one event at a time."""

    sent: int = 0
    delivered: int = 0
    acknowledged: int = 0
    expected: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    shed: Counter[str] = field(default_factory=Counter)
    shed_where: Counter[str] = field(default_factory=Counter)
    last_t_s: float = 0.0
    events: int = 0
    overall: _Latency = field(default_factory=_Latency)
    by_kind: dict[str, _Latency] = field(default_factory=dict)
    by_route: dict[str, _Latency] = field(default_factory=dict)
    hops: int = 0
    routed: int = 0
    traffic: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    owed: dict[tuple[str, str], None] = field(default_factory=dict)
    """(message id, recipient) sent and not yet delivered, in the order sent."""
    _owed_of: Counter[str] = field(default_factory=Counter)
    _links_of: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    """Per message not yet delivered everywhere: the links it has been counted on."""
    slice_s: float = 1.0
    """The width of the slices deliveries are counted in (:data:`TIMELINE_BINS` per run)."""
    delivered_in: Counter[int] = field(default_factory=Counter)
    """Deliveries per slice of scenario time (slice k: from ``k * slice_s``)."""
    tally: MapTally = field(default_factory=MapTally)

    def __call__(self, event: Event) -> None:
        """Take one event into the figures (an event log's listener)."""
        self.events += 1
        self.last_t_s = max(self.last_t_s, event.t_s)
        self.tally(event)
        kind = event.kind
        if kind == "sent":
            self.sent += 1
            if event.message_id:
                self._sent(event.message_id, event.recipients)
        elif kind == "delivered":
            self._delivered(event)
        elif kind == "acknowledged":
            self.acknowledged += 1
        elif kind == "rejected":
            self.rejected[event.reason or "unknown"] += 1
        elif kind == "shed":
            self.shed[event.reason or "unknown"] += 1
            self.shed_where[event.bureau] += 1

    def _sent(self, mid: str, recipients: tuple[str, ...]) -> None:
        for recipient in recipients:
            pair = (mid, recipient)
            if pair not in self.owed:
                self.owed[pair] = None
                self.expected += 1
                self._owed_of[mid] += 1

    def _delivered(self, event: Event) -> None:
        self.delivered += 1
        self.delivered_in[int(event.t_s / self.slice_s)] += 1
        mid = event.message_id
        if event.latency_ms is not None:
            total, modelled = event.latency_ms, event.modelled_ms or 0.0
            values = (as_us(total), as_us(max(0.0, total - modelled)), as_us(modelled))
            self.overall.add_us(values)
            for groups, name in (
                (self.by_kind, event.message_kind or "unknown"),
                (self.by_route, route_class(event.route)),
            ):
                latency = groups.get(name)
                if latency is None:
                    latency = groups[name] = _Latency()
                latency.add_us(values)
        if event.route:
            self.hops += len(event.route) - 1
            self.routed += 1
        if not mid:
            return
        links = self._links_of.setdefault(mid, set())
        for a, b in pairwise(event.route):
            if (a, b) in links:
                continue
            links.add((a, b))
            counted = self.traffic.setdefault((a, b), [0, 0])
            counted[0] += 1
            counted[1] += event.size or 0
        pair = (mid, event.bureau)
        if pair in self.owed:
            del self.owed[pair]
            left = self._owed_of[mid] - 1
            if left:
                self._owed_of[mid] = left
            else:
                del self._owed_of[mid]
                del self._links_of[mid]
        elif mid not in self._owed_of:
            # delivered without a send seen here: its links are counted, and kept no longer
            del self._links_of[mid]

    def __len__(self) -> int:
        """Messages still followed (sent here, not yet delivered to every recipient)."""
        return len(self._owed_of)

    def messages(self, owed_at_end: set[tuple[str, str]]) -> dict[str, Any]:
        """The summary's ``messages`` section (``owed_at_end``: deliveries still being tried)."""
        return messages_section(
            Counts(self.sent, self.expected, self.delivered, self.acknowledged),
            self.rejected,
            (self.shed, self.shed_where),
            set(self.owed),
            owed_at_end,
        )

    def latencies(self) -> dict[str, Any]:
        """The summary's ``latency_ms`` section."""
        return {
            "overall": self.overall.table(),
            "by_kind": {k: v.table() for k, v in sorted(self.by_kind.items())},
            "by_route_class": {k: v.table() for k, v in sorted(self.by_route.items())},
        }

    def routes(self) -> dict[str, Any]:
        """The summary's ``routes`` section."""
        traffic = {link: (count, size) for link, (count, size) in self.traffic.items()}
        return routes_section(traffic, self.hops, self.routed)

    def latency_at(self, percentile: float, kind: str | None) -> tuple[float, int] | None:
        """A latency percentile (ms) of one kind or of all, and how many deliveries it is of."""
        latency = self.overall if kind is None else self.by_kind.get(kind)
        if latency is None or not latency.count:
            return None
        return latency.total.get_value_at_percentile(percentile) / 1000, latency.count


@dataclass(frozen=True)
class Counts:
    """How many messages were sent, owed to recipients, delivered and acknowledged."""

    sent: int
    expected: int
    delivered: int
    acknowledged: int


def messages_section(
    counts: Counts,
    rejected: Counter[str],
    shed: tuple[Counter[str], Counter[str]],
    undelivered: set[tuple[str, str]],
    owed_at_end: set[tuple[str, str]],
) -> dict[str, Any]:
    """The summary's ``messages`` section, however the figures were counted.

    ``shed``: by reason and by bureau; ``undelivered``: (message id, recipient) sent and never
    delivered, of which ``owed_at_end`` are still being tried (unfinished, not lost).
    """
    refused = Counter(rejected)
    # duplicates are what at-least-once delivery makes, not attacks: counted apart
    duplicates = refused.pop(str(Reason.DUPLICATE), 0)
    owed = undelivered & owed_at_end
    by_reason, by_bureau = shed
    return {
        "sent": counts.sent,
        "expected_deliveries": counts.expected,
        "delivered": counts.delivered,
        "acknowledged": counts.acknowledged,
        "duplicates": duplicates,
        "lost": len(undelivered - owed),
        "still_owed_at_end": len(owed),
        "rejected": dict(sorted(refused.items())),
        "shed": dict(sorted(by_reason.items())),
        "shed_by_bureau": dict(by_bureau.most_common(10)),
    }


def routes_section(
    traffic: dict[tuple[str, str], tuple[int, int]], hops: int, routed: int
) -> dict[str, Any]:
    """The summary's ``routes`` section: mean hops, the busiest bureau, bytes on the wire.

    ``traffic``: messages and bytes per link; ``hops`` over ``routed`` deliveries.
    """
    through = Counter[str]()
    for (a, b), (count, _bytes) in traffic.items():
        through[a] += count
        through[b] += count
    busiest = through.most_common(1)
    return {
        "mean_hops": round(hops / routed, 3) if routed else 0.0,
        "busiest_bureau": busiest[0][0] if busiest else None,
        "messages_through_busiest": busiest[0][1] if busiest else 0,
        "bytes_on_the_wire": sum(b for _c, b in traffic.values()),
    }


def notable(followed: set[str], revoked_at: dict[str, float]) -> Callable[[Event], bool]:
    """Which events a lean run keeps: all but the routine traffic of unscripted messages.

    Kept besides: the traffic of the scripted messages (``followed``: their ids, each added as
    the run goes before its message is sent, :attr:`~scenarios.results.RunResult.followed`), and
    deliveries from a bureau once it is revoked (``revoked_at``, also filled in as the run goes:
    what ``no_accept_from_revoked`` looks for).
    """

    def keep(event: Event) -> bool:
        if event.kind not in ROUTINE:
            return True
        if event.message_id is not None and event.message_id in followed:
            return True
        return event.kind == "delivered" and event.peer in revoked_at

    return keep
