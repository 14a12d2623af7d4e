"""From events to figures: deliveries, losses, rejections, latency percentiles, routes, traffic.

Latency percentiles come from HDR histograms (the ``hdrhistogram`` package), recorded in
microseconds with three significant digits, overall, per message kind and per route class, each
with the measured and the modelled part apart. Expectations are checked here too.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from hdrh.histogram import HdrHistogram

from bureaus import Event
from scenarios.exercise.deadlines import clock_label, span_label
from scenarios.model import (
    AcknowledgedCheck,
    BreachesCheck,
    DeadlineCheck,
    DeliveredCheck,
    Expectation,
    LatencyCheck,
    NoAcceptFromRevokedCheck,
    RejectedCheck,
    ShedCheck,
    ZeroLossCheck,
)
from scenarios.reports.running import (
    Counts,
    messages_section,
    new_histogram,
    percentiles_of,
    record_ms,
    route_class,
    routes_section,
)
from scenarios.results import RunResult, resolve

__all__ = [
    "ExpectationResult",
    "check_expectations",
    "latency_table",
    "route_class",
    "scenario_latency",
    "summarise",
]


def _histogram(values_ms: Iterable[float]) -> HdrHistogram:
    histogram = new_histogram()
    for value in values_ms:
        record_ms(histogram, value)
    return histogram


def _percentiles(values_ms: list[float]) -> dict[str, float]:
    if not values_ms:
        return {"count": 0}
    return percentiles_of(_histogram(values_ms), len(values_ms))


def latency_table(deliveries: list[Event]) -> dict[str, Any]:
    """Percentiles of total, measured and modelled latency for a set of deliveries."""
    total = [e.latency_ms for e in deliveries if e.latency_ms is not None]
    modelled = [e.modelled_ms or 0.0 for e in deliveries if e.latency_ms is not None]
    measured = [max(0.0, t - m) for t, m in zip(total, modelled, strict=True)]
    table: dict[str, Any] = dict(_percentiles(total))
    if total:
        table["measured"] = _percentiles(measured)
        table["modelled"] = _percentiles(modelled)
    return table


def scenario_latency(events: list[Event]) -> dict[str, Any]:
    """Delivery latencies in scenario seconds: from the send to the delivery, on the run's clock.

    In an exercise the clock runs at a pace and can be paused, so real milliseconds say little
    of what players lived through; this is the same latency as the scenario's timeline tells it.
    Overall and by message kind, as ``{"count", "p50", "p90", "p99", "p999", "max"}``.
    """
    sent: dict[tuple[str, str], float] = {}
    for e in events:
        if e.kind == "sent" and e.message_id:
            sent.setdefault((e.bureau, e.message_id), e.t_s)
    overall: list[float] = []
    by_kind: dict[str, list[float]] = defaultdict(list)
    for e in events:
        if e.kind != "delivered" or not e.message_id or not e.peer:
            continue
        start = sent.get((e.peer, e.message_id))
        if start is None:
            continue
        took = max(0.0, e.t_s - start)
        overall.append(took)
        by_kind[e.message_kind or "unknown"].append(took)

    def seconds(values: list[float]) -> dict[str, float]:
        # given seconds, the histogram keeps milliseconds, up to 41 days
        return {k: round(v, 3) for k, v in _percentiles(values).items()}

    return {
        "overall": seconds(overall),
        "by_kind": {k: seconds(v) for k, v in sorted(by_kind.items())},
    }


@dataclass(frozen=True)
class ExpectationResult:
    """One expectation's verdict."""

    name: str
    passed: bool
    detail: str
    reached: bool = True
    """False when the run ended (the controller stopped it) before the expectation's window
    closed: not passed, and not failed either (reports say "not reached")."""

    @property
    def verdict(self) -> str:
        """``PASS``, ``FAIL`` or ``NOT REACHED``, as reports write it."""
        return "PASS" if self.passed else "FAIL" if self.reached else "NOT REACHED"


def _expected_deliveries(events: list[Event]) -> set[tuple[str, str]]:
    return {
        (e.message_id, r) for e in events if e.kind == "sent" and e.message_id for r in e.recipients
    }


def _delivered(events: list[Event]) -> set[tuple[str, str]]:
    return {(e.message_id, e.bureau) for e in events if e.kind == "delivered" and e.message_id}


def summarise(result: RunResult) -> dict[str, Any]:
    """The run's summary, as written to ``summary.json``."""
    events = result.events
    figures = result.figures
    if figures is not None:  # a lean run: its figures were kept as it went
        messages = figures.messages(result.owed_at_end)
        latencies = figures.latencies()
        routes = figures.routes()
        rate = _rate(result, figures.delivered, figures.last_t_s)
    else:
        deliveries = [e for e in events if e.kind == "delivered"]
        messages = _message_figures(result, deliveries)
        latencies = _latencies(deliveries)
        routes = _routes(events, deliveries)
        rate = _rate(result, len(deliveries), max((e.t_s for e in events), default=0.0))
    return {
        "scenario": result.scenario.name,
        "topology": result.topology,
        "seed": result.seed,
        "broker": {"kind": result.broker_kind, "version": result.broker_version},
        "bureaus": len(result.roster),
        "messages": messages,
        "latency_ms": latencies,
        "routes": routes,
        "deadlines": [d.as_dict() for d in result.deadlines],
        "breaches": [_breach(e) for e in events if e.kind == "breach"],
        "clock": result.clock,
        "crypto": result.crypto,
        "achieved_rate_per_s": rate,
        "wall_s": round(result.wall_s, 3),
        # live, real milliseconds are not scenario time (a paced or paused exercise clock)
        **({"latency_scenario_s": scenario_latency(events)} if result.clock != "virtual" else {}),
    }


def _message_figures(result: RunResult, deliveries: list[Event]) -> dict[str, Any]:
    """Sent, owed, delivered, acknowledged, duplicates, lost, owed at the end, refused, shed."""
    events = result.events
    expected = _expected_deliveries(events)
    counts = Counts(
        sent=sum(1 for e in events if e.kind == "sent"),
        expected=len(expected),
        delivered=len(deliveries),
        acknowledged=sum(1 for e in events if e.kind == "acknowledged"),
    )
    shed = [e for e in events if e.kind == "shed"]
    return messages_section(
        counts,
        Counter(e.reason or "unknown" for e in events if e.kind == "rejected"),
        (Counter(e.reason or "unknown" for e in shed), Counter(e.bureau for e in shed)),
        expected - _delivered(events),
        result.owed_at_end,
    )


def _latencies(deliveries: list[Event]) -> dict[str, Any]:
    """Latency percentiles overall, by message kind and by route class."""
    by_kind: dict[str, list[Event]] = defaultdict(list)
    by_route: dict[str, list[Event]] = defaultdict(list)
    for event in deliveries:
        by_kind[event.message_kind or "unknown"].append(event)
        by_route[route_class(event.route)].append(event)
    return {
        "overall": latency_table(deliveries),
        "by_kind": {k: latency_table(v) for k, v in sorted(by_kind.items())},
        "by_route_class": {k: latency_table(v) for k, v in sorted(by_route.items())},
    }


def _routes(events: list[Event], deliveries: list[Event]) -> dict[str, Any]:
    """Mean hops, the busiest bureau and what went through it, bytes on the wire."""
    hops = [len(e.route) - 1 for e in deliveries if e.route]
    return routes_section(traffic_by_link(events), sum(hops), len(hops))


def _breach(event: Event) -> dict[str, Any]:
    """One caveat breach, as the summary lists it."""
    return {
        "t_s": event.t_s,
        "bureau": event.bureau,
        "rule": event.reason,
        "detail": event.detail,
        "message_id": event.message_id,
        "to": list(event.recipients),
        "blocked": bool(getattr(event, "blocked", True)),
    }


def _rate(result: RunResult, delivered: int, span: float) -> float:
    """Deliveries per second: of wall time live, of simulated time (``span``) in a simulation."""
    if result.clock == "virtual":
        return round(delivered / span, 1) if span > 0 else 0.0
    return round(delivered / result.wall_s, 1) if result.wall_s else 0.0


def traffic_by_link(events: list[Event]) -> dict[tuple[str, str], tuple[int, int]]:
    """Messages and bytes carried by each link (a, b), counted once per message and link."""
    seen: set[tuple[str, str, str]] = set()
    out: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for event in events:
        if event.kind != "delivered" or not event.message_id:
            continue
        for a, b in pairwise(event.route):
            key = (event.message_id, a, b)
            if key in seen:
                continue
            seen.add(key)
            out[(a, b)][0] += 1
            out[(a, b)][1] += event.size or 0
    return {k: (v[0], v[1]) for k, v in out.items()}


def check_expectations(result: RunResult) -> list[ExpectationResult]:
    """Every expectation of the scenario, checked against the run's events."""
    stopped = next(
        (
            e.t_s
            for e in result.events
            if e.kind == "control" and getattr(e, "action", "") == "stop"
        ),
        None,
    )
    checked = [_check(result, e) for e in result.scenario.expect]
    if stopped is None:
        return checked
    return [
        _not_reached(result, e, c, stopped)
        for e, c in zip(result.scenario.expect, checked, strict=True)
    ]


def _not_reached(
    result: RunResult, expectation: Expectation, checked: ExpectationResult, stopped_s: float
) -> ExpectationResult:
    """Not reached, rather than failed: unseen when the controller ended the run early.

    Applies to a delivery or acknowledgement whose window had not closed when the run ended.
    """
    if checked.passed:
        return checked
    match expectation:
        case DeliveredCheck(delivered=spec) | AcknowledgedCheck(acknowledged=spec):
            start = result.inject_times.get(spec.message)
            closes = None if start is None else start + spec.within
            if closes is None or stopped_s < closes:
                return ExpectationResult(
                    checked.name,
                    False,
                    f"not reached: the exercise was ended at {clock_label(stopped_s)}, "
                    + (
                        f"before its window closed at {clock_label(closes)}"
                        if closes is not None
                        else "before its message was sent"
                    )
                    + f"; {checked.detail}",
                    reached=False,
                )
    return checked


def _check(result: RunResult, expectation: Expectation) -> ExpectationResult:
    """One expectation's verdict, by the check of its kind."""
    check = _CHECKS[type(expectation)]
    passed, detail = check(result, expectation)
    return ExpectationResult(expectation.label, passed, detail)


def _everyone(result: RunResult, spec: Any, group: Any, *, kind: str, who: str) -> tuple[bool, str]:
    """Whether each bureau of ``group`` but the sender is in a ``kind`` event of the message.

    Within ``spec.within`` seconds of the inject that sent ``spec.message``; ``who`` is the
    event's field naming the bureau (``bureau`` or ``peer``).
    """
    message, within = spec.message, spec.within
    mid = result.inject_ids.get(message)
    start = result.inject_times.get(message, 0.0)
    wanted = set(resolve(group, result.roster)) - {result.inject_senders.get(message, "")}
    got = {
        getattr(e, who)
        for e in result.events
        if e.kind == kind and e.message_id == mid and e.t_s - start <= within
    }
    missing = sorted(wanted - got)
    shown = f"; missing {', '.join(missing[:10])}" if missing else ""
    return not missing and mid is not None, f"{len(wanted & got)}/{len(wanted)}{shown}"


def _delivered_check(result: RunResult, expectation: Any) -> tuple[bool, str]:
    spec = expectation.delivered
    ok, counted = _everyone(result, spec, spec.to, kind="delivered", who="bureau")
    head, _, tail = counted.partition(";")
    return ok, f"{head} within {span_label(spec.within)}" + (f";{tail}" if tail else "")


def _acknowledged_check(result: RunResult, expectation: Any) -> tuple[bool, str]:
    spec = expectation.acknowledged
    ok, counted = _everyone(result, spec, spec.by, kind="acknowledged", who="peer")
    head, _, tail = counted.partition(";")
    return ok, f"{head} acknowledged within {span_label(spec.within)}" + (
        f";{tail}" if tail else ""
    )


def _latency_check(result: RunResult, expectation: Any) -> tuple[bool, str]:
    spec = expectation.latency
    if result.figures is not None:
        measured = result.figures.latency_at(spec.percentile, spec.kind)
    else:
        values = [
            e.latency_ms
            for e in result.events
            if e.kind == "delivered"
            and e.latency_ms is not None
            and (spec.kind is None or e.message_kind == spec.kind)
        ]
        measured = (
            (_histogram(values).get_value_at_percentile(spec.percentile) / 1000, len(values))
            if values
            else None
        )
    if measured is None:
        return False, "no deliveries to measure"
    value, count = measured
    return value < spec.below_ms, (
        f"p{spec.percentile:g} {value:.2f} ms (bound {spec.below_ms:g} ms, {count} deliveries)"
    )


def _counted_check(result: RunResult, expectation: Any) -> tuple[bool, str]:
    what = expectation.tag
    spec = getattr(expectation, what)
    count = sum(1 for e in result.events if e.kind == what and e.reason == spec.reason)
    ok = count >= spec.at_least and (spec.at_most is None or count <= spec.at_most)
    return ok, f"{count} {what} as {spec.reason}"


def _revoked_check(result: RunResult, _expectation: Any) -> tuple[bool, str]:
    bad = [
        e
        for e in result.events
        if e.kind == "delivered"
        and e.peer in result.revoked_at
        and e.t_s > result.revoked_at[e.peer] + 1.0 * result.scenario.speed
    ]
    which = f"({', '.join(sorted(result.revoked_at))})" if result.revoked_at else "(none revoked)"
    return not bad, f"{len(bad)} messages accepted from revoked bureaus {which}"


def _zero_loss_check(result: RunResult, _expectation: Any) -> tuple[bool, str]:
    lost = (
        set(result.figures.owed)
        if result.figures is not None
        else _expected_deliveries(result.events) - _delivered(result.events)
    )
    example = f", e.g. {sorted(lost)[0][1]}" if lost else ""
    return not lost, f"{len(lost)} expected deliveries missing{example}"


def _breaches_check(result: RunResult, expectation: Any) -> tuple[bool, str]:
    spec = expectation.breaches
    found = [e for e in result.events if e.kind == "breach"]
    ok = len(found) >= spec.at_least and (spec.at_most is None or len(found) <= spec.at_most)
    rules = f" ({', '.join(sorted({e.reason or '?' for e in found}))})" if found else ""
    return ok, f"{len(found)} caveat breaches{rules}"


def _deadline_check(result: RunResult, expectation: Any) -> tuple[bool, str]:
    spec = expectation.deadline
    deadline = next((d for d in result.deadlines if d.name == spec.message), None)
    if deadline is None:
        return False, f"{spec.message} opened no deadline"
    decided = deadline.state != "open"  # an open deadline is neither met nor missed yet
    answered = (
        f", answered {clock_label(deadline.answered_s)}" if deadline.answered_s is not None else ""
    )
    return decided and (deadline.state == "met") == spec.met, (
        f"{deadline.name}: {deadline.state} (due {clock_label(deadline.due_s)}{answered})"
    )


_CHECKS: dict[type, Callable[[RunResult, Any], tuple[bool, str]]] = {
    DeliveredCheck: _delivered_check,
    AcknowledgedCheck: _acknowledged_check,
    LatencyCheck: _latency_check,
    RejectedCheck: _counted_check,
    ShedCheck: _counted_check,
    NoAcceptFromRevokedCheck: _revoked_check,
    ZeroLossCheck: _zero_loss_check,
    BreachesCheck: _breaches_check,
    DeadlineCheck: _deadline_check,
}
"""Each kind of expectation and its check: (passed, what was seen)."""
