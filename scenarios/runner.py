"""The scenario runner: a network of bureaus, a broker, a clock, and the script played on them.

Theory of operation. ``run_scenario`` builds the roster, a throwaway PKI, the link model and one
:class:`~bureaus.Network`; gets a broker (embedded and secured by default, or an external URL);
starts every bureau; then plays the script on the scenario clock as named tasks: one per inject,
one per load generator, one per fault. When the scenario's duration has passed it lets traffic
settle, stops everything, and checks the expectations against the event log.

Every random draw (load arrivals, senders, recipients, link jitter and loss, message ids) comes
from the scenario's seed, so the same seed gives the same injects, traffic and modelled delays.
Keys and nonces never do: they come from the operating system.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

import looptime

from broker import BrokerError, BrokerTarget, EmbeddedBroker, parse_broker_url
from broker.cluster import NatsCluster
from broker.embedded import BrokerKind
from broker.memory import MemoryBroker
from bureaus import (
    Clock,
    Databases,
    LinkModel,
    LinkOverride,
    Network,
    NetworkContext,
    Outage,
    ReviewPolicy,
    ServiceTimes,
    VirtualClock,
    generate_pki,
    memory_connector,
    virtual_loop,
)
from bureaus.events import Delivered, Event, EventKind, make
from bureaus.keystore import KeystoreError, load_pki
from bureaus.network import Pki
from protocol import (
    ArrestWarrant,
    Asset,
    BlueNotice,
    CaseMessage,
    Diffusion,
    DocumentQuery,
    GreenNotice,
    MessageBase,
    NominalQuery,
    NoticeRequest,
    RedNotice,
    Roster,
    SearchHit,
    SearchRequest,
    SilverNotice,
    ToBureaus,
    VehicleQuery,
    YellowNotice,
    default_roster,
    topics,
)
from protocol.errors import DecodeError, Issue
from protocol.messages.gateway import translate
from protocol.messages.iso3166 import ALPHA2
from protocol.messages.types import ACTIVE_ROSTER
from protocol.network.roster import synthetic_roster
from protocol.network.routing import Topology
from scenarios.exercise.control import ExerciseControl
from scenarios.exercise.deadlines import Deadline, DeadlineBook, DeadlineKind, clock_label
from scenarios.model import Inject, LoadGenerator, Scenario
from scenarios.results import RunResult, ScenarioRunError, resolve

__all__ = [
    "ClockKind",
    "Player",
    "RunOptions",
    "RunResult",
    "ScenarioRunError",
    "resolve",
    "run_scenario",
    "simulate",
    "start_broker",
]

ClockKind = Literal["wall", "virtual"]


_MAX_IN_FLIGHT = 1_000
"""Deliveries the network may owe before offered load is refused (about a second of capacity)."""
_MAX_LAG_S = 0.5
"""How far (real seconds) load may fall behind its schedule before it is refused as overload."""
_OUTBOX_SOFT = 2_000
"""Transmissions waiting at one bureau beyond which its offered load is refused as overload."""
_INBOX = 200
"""Delivered messages each bureau keeps for forwarding (bounded: memory under heavy load)."""
_PLAYED_INBOX = 2_000
"""What a bureau played by a person keeps: everything it may have to answer."""


@dataclass
class RunOptions:
    """How to run a scenario.

    Attributes:
        broker: ``embedded`` (Mosquitto if installed, else amqtt), ``embedded:mosquitto``,
            ``embedded:amqtt``, ``embedded:nats`` (a three-node NATS cluster),
            ``embedded:nats-r1`` (the same, each subscription's queue kept on one node: faster;
            a bureau whose queue dies with its node subscribes afresh), an ``mqtt://`` /
            ``mqtts://`` URL, or several URLs separated by commas (the nodes of one clustered
            broker: bureaus are spread across them and move on when theirs fails).
        topology: Override the scenario's topology.
        seed: Override the scenario's seed.
        on_tick: Called about five times a second with (scenario seconds, duration, events).
    """

    broker: str = "embedded"
    topology: Topology | None = None
    seed: int | None = None
    duration: float | None = None
    """Override the scenario's duration (scenario seconds), for shortened runs."""
    on_tick: Callable[[float, float, int], None] | None = None
    control: ExerciseControl | None = None
    """A live exercise's controls (pause, speed, deck, players), bound when the run starts."""
    workers: int = 1
    """Worker processes to split the bureaus over (``scenarios/workers.py``)."""
    clock: ClockKind = "wall"
    """``wall``: live, on a real broker, scenario time = wall time x speed. ``virtual``: a
    simulation on the in-memory broker and a discrete-event clock, with modelled service times:
    the same seed gives the same result on any host (run it with :func:`simulate`)."""
    pki: Path | None = None
    """A PKI directory (``bureaunet keys init``) to run with, instead of a throwaway one: the
    bureaus' broker passwords then match a secured broker configured from it
    (``bureaunet broker config --pki``), and the evidence is signed by its root."""


def _roster(scenario: Scenario, topology: Topology) -> Roster:
    full = default_roster()
    if scenario.roster == "all":
        return full
    if isinstance(scenario.roster, str):
        return synthetic_roster(int(scenario.roster.partition(":")[2]), seed=scenario.seed)
    try:
        wanted = set(scenario.roster) | {"gs"}
        if topology == "regional":
            for bureau in list(wanted):
                rb = full.regional_bureau_of(bureau) if bureau in full else None
                if rb is not None:
                    wanted.add(rb.id)
        return (
            full.subset(b.id for b in full if b.id in wanted)
            if wanted <= full.ids
            else full.subset(sorted(wanted))
        )
    except Exception as exc:
        raise ScenarioRunError(str(exc)) from exc


def _links(scenario: Scenario, roster: Roster, seed: int) -> LinkModel:
    spec = scenario.network
    model = LinkModel(
        roster,
        seed=seed,
        inflation=spec.inflation,
        jitter_ms=spec.jitter_ms,
        loss=spec.loss,
        enabled=spec.model,
        links={
            (link.a, link.b): LinkOverride(
                link.one_way_ms, link.extra_ms, link.jitter_ms, link.loss
            )
            for link in spec.links
        },
        regions={
            r: LinkOverride(o.one_way_ms, o.extra_ms, o.jitter_ms, o.loss)
            for r, o in spec.regions.items()
        },
    )
    for fault in scenario.faults:
        if fault.cut is not None:
            w = fault.cut
            model.outages.append(Outage(w.start, w.end, bureau=w.bureau, region=w.region))
    return model


def _databases(scenario: Scenario) -> Databases:
    db = Databases()
    for n, record in enumerate(scenario.records):
        hit = SearchHit(
            record_id=f"{record.database.upper()}-{n + 1}",
            summary=record.summary,
            owner=record.owner,
        )
        if record.database == "nominal":
            db.persons[record.value.upper()] = hit
        elif record.database == "sltd":
            db.documents[(record.country, record.value)] = hit
        else:
            db.vehicles[record.value] = hit
    return db


class Player:
    """Plays one scenario on one network."""

    def __init__(
        self,
        scenario: Scenario,
        network: Network,
        broker: EmbeddedBroker | None,
        result: RunResult,
        *,
        shard: frozenset[str] | None = None,
        lead: bool = True,
    ) -> None:
        self.shard = shard
        """The bureaus this process runs (``None``: all); the rest run in other workers."""
        self.lead = lead
        """Whether this process records the notes that belong to no bureau (link faults)."""
        self.s = scenario
        self.net = network
        self.ctx = network.ctx
        self.broker = broker
        self.memory: MemoryBroker | None = None
        """The in-memory broker of a simulation."""
        self.result = result
        self.roster = network.ctx.roster
        self.players = resolve(scenario.players, self.roster) if scenario.players else []
        self.answered: set[tuple[str, str]] = set()
        """(played bureau, message id) pairs the person at the keyboard has dealt with."""
        self.finished = False
        self.stop_requested = False
        self.deadlines = DeadlineBook(self.ctx.events.add, self._deadline_missed)
        result.deadlines = list(self.deadlines.deadlines.values())
        self.ctx.events.listeners.append(self.deadlines.observe)
        self.ctx.events.listeners.append(self._watch)
        self._script: list[asyncio.Task[None]] = []
        """Injects, load and faults: awaited at the end of the scenario."""
        self._timers: list[asyncio.Task[None]] = []
        """Deadline timers: cancelled once the run has settled."""
        self._waiting = [(i, inj) for i, inj in enumerate(scenario.injects) if inj.when is not None]
        """Contingency injects whose trigger has not happened yet."""
        self._cards: dict[str, int] = {}
        self.request_ids: dict[str, UUID] = {}
        """Notice request injects by name → the request's message id (for cancellations)."""

    # time ------------------------------------------------------------------------------------

    async def at(self, t: float) -> None:
        """Wait until scenario time ``t``."""
        await self.ctx.clock.sleep_until(t)

    def lead_note(self, where: str, detail: str) -> None:
        """A fault note that belongs to no one bureau: recorded once, by the lead process."""
        if self.lead:
            self.note("fault", where, detail)

    def label(self, t_s: float) -> str:
        """A scenario time as people read it: seconds for short runs, a clock for long ones."""
        return clock_label(t_s) if self.s.duration >= 3_600 else f"t={t_s:g}"

    def note(
        self, kind: EventKind, bureau: str, detail: str, *, at_s: float | None = None, **fields: Any
    ) -> None:
        """Record a scenario-level event, now (or stamped ``at_s``: a controller's key press)."""
        clock = self.ctx.clock
        self.ctx.events.add(
            make(
                kind,
                t_ns=clock.now_ns(),
                t_s=round(clock.scenario_s() if at_s is None else at_s, 6),
                bureau=bureau,
                detail=detail,
                **fields,
            )
        )

    def now(self) -> datetime:
        """The clock's date and time (wall, or virtual)."""
        return self.ctx.clock.wall()

    def submit(self, sender: str, message: MessageBase, to: list[str] | None = None) -> None:
        """``sender`` sends ``message``."""
        # a failure to send is a `shed: send_failed` event, not a crash of the run
        self.net.send(sender, message, to)

    # injects ---------------------------------------------------------------------------------

    def _notice(self, action: Any, sender: str) -> Any:
        nationality = sender if sender in ALPHA2 else "FR"
        common: dict[str, Any] = {
            "name": action.name,
            "forename": action.forename,
            "date_of_birth": action.date_of_birth,
            "nationalities": tuple(action.nationalities)
            if action.nationalities is not None
            else (nationality,),
        }
        if action.notice == "red":
            return RedNotice(
                **common,
                arrest_warrants=(
                    ArrestWarrant(issuing_country_id=nationality, charge=action.summary),
                ),
            )
        if action.notice == "yellow":
            return YellowNotice(**common)
        if action.notice == "blue":
            return BlueNotice(**common, information_sought=action.summary)
        if action.notice == "silver":
            return SilverNotice(
                **common,
                predicate_offence=action.summary,
                assets=(
                    Asset(
                        asset_type="bank-account",
                        description="Accounts receiving the proceeds",
                        country=nationality,
                    ),
                ),
            )
        return GreenNotice(**common, criminal_activity=action.summary)

    def mine(self, bureau: str) -> bool:
        """Whether ``bureau`` runs in this process."""
        return self.shard is None or bureau in self.shard

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """Run part of the script as a task awaited at the end of the scenario."""
        self._script.append(asyncio.create_task(coro, name=name))

    def _watch(self, event: Event) -> None:
        """Fire the contingency injects whose trigger ``event`` is (an event-log listener)."""
        if not self._waiting or event.kind not in ("delivered", "breach"):
            return
        for index, inject in list(self._waiting):
            trigger = inject.when
            assert trigger is not None
            if event.kind == "breach" and trigger.breach:
                why = f"caveat breach at {event.bureau}"
            elif (
                trigger.search_hit is not None
                and isinstance(event, Delivered)
                and event.message_kind == "search-result"
                and event.outcome == "hit"
                and (
                    trigger.search_hit == "any"
                    or self.result.inject_ids.get(trigger.search_hit) == event.message_id
                )
            ):
                why = f"search hit for {event.bureau}"
            else:
                continue
            self._trigger(index, inject, event.t_s, why)

    def _deadline_missed(self, deadline: Deadline) -> None:
        for index, inject in list(self._waiting):
            if inject.when is not None and inject.when.deadline_missed == deadline.name:
                self._trigger(index, inject, deadline.due_s, f"deadline of {deadline.name} missed")

    def _trigger(self, index: int, inject: Inject, t_s: float, why: str) -> None:
        self._waiting.remove((index, inject))
        after = inject.when.after if inject.when is not None else 0.0
        name = inject.name or f"inject-{index}"
        self.spawn(
            self.inject(index, inject, at=t_s + after, how=f"contingency: {why}"), f"inject[{name}]"
        )

    def fire_card(self, card: str) -> None:
        """Fire a prepared inject from the deck now.

        Raises:
            KeyError: No card of that name.
        """
        cards = {c.name: (i, c) for i, c in enumerate(self.s.deck)}
        index, inject = cards[card]
        count = self._cards[card] = self._cards.get(card, 0) + 1
        self.spawn(
            self.inject(
                index,
                inject,
                at=self.ctx.clock.scenario_s(),
                how="from the deck",
                key=(index, count),
                name=card if count == 1 else f"{card}#{count}",
            ),
            f"deck[{card}]",
        )

    def _deadline(
        self, name: str, kind: DeadlineKind, message_id: str, *, by: str, to: list[str], span: float
    ) -> None:
        opened = self.ctx.clock.scenario_s()
        deadline = Deadline(name, kind, message_id, by, set(to), opened, opened + span)
        self.deadlines.open(deadline)
        self.result.deadlines.append(deadline)
        if self.shard is not None:
            return  # answers may arrive in other workers: the merged log decides

        async def expire() -> None:
            await self.ctx.clock.sleep_until(deadline.due_s)
            clock = self.ctx.clock
            self.deadlines.expire(deadline, clock.now_ns(), round(clock.scenario_s(), 6))

        self._timers.append(asyncio.create_task(expire(), name=f"deadline[{name}]"))

    def _span(self, inject: Inject, priority: str) -> float:
        if inject.deadline is not None:
            return inject.deadline
        return float(getattr(self.s.deadlines, priority))

    async def inject(
        self,
        index: int,
        inject: Inject,
        *,
        at: float | None = None,
        how: str = "",
        key: tuple[int, int] | None = None,
        name: str | None = None,
    ) -> None:
        """Play one inject at its time (or at ``at``, for contingency and deck injects)."""
        when = inject.at if at is None else at
        assert when is not None
        name = name or inject.name or f"inject-{index}"
        if not self.mine(actor(inject)):
            return  # the worker that runs the acting bureau plays it
        if when > self.s.duration:
            self.note(
                "inject",
                "controller",
                f"{name}: due at t={when:g}, after the end; dropped",
                name=name,
            )
            return
        await self.at(when)
        ids = self.ctx.ids
        mid = ids.card(*key) if key is not None else ids.inject(index)
        self.result.inject_times[name] = round(self.ctx.clock.scenario_s(), 6)
        key_id = str(mid)
        now = self.now()
        action = inject.action
        self.note(
            "inject",
            "controller",
            f"{name}: {action}" + (f" ({how})" if how else ""),
            message_id=key_id,
            name=name,
        )
        self.result.inject_ids[name] = await self._act(name, inject, mid, now)
        spec = getattr(inject, action)
        sender = str(getattr(spec, "sender", None) or getattr(spec, "by", "controller"))
        if action in ("notice_request", "search"):
            sender = "gs"  # the publication and the answer come from the General Secretariat
        self.result.inject_senders[name] = sender

    async def _act(self, name: str, inject: Inject, mid: UUID, now: datetime) -> str:
        """Perform an inject's action; return the id of the message whose delivery matters."""
        key_id = str(mid)
        if inject.notice_request is not None:
            a = inject.notice_request
            self.submit(
                a.sender,
                NoticeRequest(
                    message_id=mid,
                    sender=a.sender,
                    recipients=ToBureaus(bureaus=("gs",)),
                    created_at=now,
                    notice=self._notice(a, a.sender),
                    summary_of_facts=a.summary,
                    priority=a.priority,
                ),
            )
            self.request_ids[name] = mid
            key_id = str(self.ctx.ids.publication(mid))
            self._deadline(
                name, "review", str(mid), by=a.sender, to=["gs"], span=self._span_review(inject)
            )
        elif inject.diffusion is not None or inject.case_message is not None:
            spec = inject.diffusion or inject.case_message
            assert spec is not None
            to = resolve(spec.to, self.roster, exclude=spec.sender)
            common: dict[str, Any] = {
                "message_id": mid,
                "sender": spec.sender,
                "recipients": ToBureaus(bureaus=tuple(to)),
                "created_at": now,
                "priority": spec.priority,
                "handling_code": spec.handling_code,
                "tlp": spec.tlp,
            }
            if (d := inject.diffusion) is not None:
                message: MessageBase = Diffusion(
                    **common,
                    diffusion_type=d.type,
                    text=d.text,
                    source_reliability=d.source_reliability,
                    information_accuracy=d.information_accuracy,
                )
            elif (c := inject.case_message) is not None:
                message = CaseMessage(
                    **common, case_reference=c.case, subject=c.subject, body=c.body
                )
            self.submit(spec.sender, message)
            span = self._span(inject, spec.priority)
            self._deadline(name, "acknowledgement", key_id, by=spec.sender, to=to, span=span)
        elif inject.search is not None:
            q = inject.search
            key_id = str(self.ctx.ids.search_result(mid))  # what matters: the answer comes back
            self.submit(
                q.sender,
                self._search(
                    mid,
                    sender=q.sender,
                    database=q.database,
                    value=q.value,
                    country=q.country,
                    priority=q.priority,
                ),
            )
            span = self._span(inject, q.priority)
            self._deadline(name, "answer", key_id, by=q.sender, to=["gs"], span=span)
        elif inject.cancel_notice is not None:
            await self._cancel(mid, inject.cancel_notice.notice, inject.cancel_notice.reason)
        elif inject.forward is not None:
            self._forward(name, inject, mid)
        elif inject.revoke is not None:
            bureau = inject.revoke.bureau
            await self.net.revoke_bureaus([bureau])
            self.result.revoked_at[bureau] = self.ctx.clock.scenario_s()
        elif inject.rotate_key is not None:
            self._rotate(inject.rotate_key.bureau)
        elif inject.siena is not None:
            self._gateway(mid, inject.siena.organisation, inject.siena.message, name)
        return key_id

    def _search(
        self,
        mid: UUID,
        *,
        sender: str,
        database: str,
        value: str,
        country: str,
        priority: Any = "routine",
    ) -> SearchRequest:
        if database == "nominal":
            query: Any = NominalQuery(name=value)
        elif database == "sltd":
            query = DocumentQuery(document_number=value, issuing_country=country)
        else:
            query = VehicleQuery(vin=value) if len(value) == 17 else VehicleQuery(plate=value)
        return SearchRequest(
            message_id=mid,
            sender=sender,
            recipients=ToBureaus(bureaus=("gs",)),
            created_at=self.now(),
            query=query,
            priority=priority,
        )

    def _span_review(self, inject: Inject) -> float:
        return inject.deadline if inject.deadline is not None else self.s.deadlines.notice_review

    def _forward(self, name: str, inject: Inject, mid: UUID) -> None:
        spec = inject.forward
        assert spec is not None
        to = resolve(spec.to, self.roster, exclude=spec.by)
        source = self.result.inject_ids.get(spec.message)
        original = self.net.received(spec.by, source) if source is not None else None
        if source is None or original is None:
            self.note(
                "shed",
                spec.by,
                f"cannot forward {spec.message!r}: {spec.by} has not received it",
                reason="send_failed",
            )
            return
        sent, _breaches = self.net.forward(spec.by, source, to, mid, permission=spec.permission)
        if not sent:
            return  # blocked by the caveats: the breaches are recorded
        span = self._span(inject, original.priority)
        self._deadline(name, "acknowledgement", str(mid), by=spec.by, to=to, span=span)

    async def _cancel(self, mid: UUID, notice_name: str, reason: str) -> None:
        request = self.request_ids.get(notice_name)
        if request is None or not self.net.cancel_notice(request, mid, reason):
            self.note(
                "shed",
                "gs",
                f"cannot cancel {notice_name!r}: not published, or its lifecycle does not allow it",
                reason="send_failed",
            )

    def _gateway(self, mid: UUID, organisation: str, raw: dict[str, Any], name: str) -> None:
        try:
            message = translate(raw, message_id=mid, created_at=self.now(), roster=self.roster)
            if message.sender != organisation:
                raise DecodeError(
                    (
                        Issue(
                            "/from_unit",
                            f"{message.sender!r} is not {organisation!r}, whose gateway this is",
                        ),
                    ),
                    "siena",
                )
        except DecodeError as exc:
            problems = "; ".join(str(issue) for issue in exc.issues)
            self.net.count(organisation, "rejected:gateway_invalid")
            self.note(
                "rejected",
                organisation,
                f"gateway refused {name}: {problems}",
                reason="gateway_invalid",
                message_id=str(mid),
            )
            return
        self.submit(organisation, message)

    def _rotate(self, bureau: str) -> None:
        # the new certificate is announced to every bureau (in-process distribution)
        serial = self.net.rotate_keys(bureau)
        self.note("inject", bureau, f"keys rotated, new certificate {serial}")

    # load ------------------------------------------------------------------------------------

    async def load(self, index: int, gen: LoadGenerator) -> None:
        """Play load generator ``index``: Poisson arrivals, seeded, admitted or shed."""
        rng = random.Random(f"{self.result.seed}|load|{index}")  # noqa: S311 - traffic model
        senders = resolve(gen.senders, self.roster)
        targets = resolve(gen.to, self.roster)
        kinds = list(gen.mix)
        weights = [gen.mix[k] for k in kinds]
        end = self.s.duration if gen.end is None else min(gen.end, self.s.duration)
        t = gen.start
        n = 0
        while True:
            t += rng.expovariate(gen.rate)
            if t >= end:
                return
            kind = rng.choices(kinds, weights)[0]
            sender = rng.choice(senders)
            mid = self.ctx.ids.load(index, n)
            n += 1
            value = f"L{rng.randrange(10**7):07d}"
            choices = [b for b in targets if b != sender] or targets
            recipient = rng.choice(choices)
            if not self.mine(sender):
                continue  # every worker draws the same traffic; each sends its own bureaus' part
            if self.ctx.clock.scenario_s() < t:
                await self.at(t)
            if self._overloaded(sender, t, kind):
                continue
            if kind == "search":
                message: MessageBase = self._search(
                    mid, sender=sender, database="sltd", value=value, country="FR"
                )
                self.submit(sender, message)
                continue
            if kind == "diffusion":
                message = Diffusion(
                    message_id=mid,
                    sender=sender,
                    recipients=ToBureaus(bureaus=(recipient,)),
                    created_at=self.now(),
                    diffusion_type="information",
                    text="Routine information request.",
                )
            else:
                message = CaseMessage(
                    message_id=mid,
                    sender=sender,
                    recipients=ToBureaus(bureaus=(recipient,)),
                    created_at=self.now(),
                    case_reference=f"LOAD/{index}/{n}",
                    subject="Case follow-up",
                    body="Routine case exchange.",
                )
            self.submit(sender, message)

    def _overloaded(self, sender: str, due_s: float, kind: str) -> bool:
        """Admission control: refuse, and count, load the network cannot take on time.

        A message is not created at all when the network already owes more than
        ``_MAX_IN_FLIGHT`` deliveries (the backlog would sit in the broker's queues and every
        latency would grow without end), when the generator is more than ``_MAX_LAG_S`` real
        seconds behind its schedule (the event loop is saturated), or when the sender's outbox
        is past ``_OUTBOX_SOFT``. The backlog therefore stays bounded at twice the capacity or
        more, and what was refused is counted where it was offered.
        """
        late_s = self.ctx.clock.real_s(self.ctx.clock.scenario_s() - due_s)
        depth = self.net.backlog(sender)
        owed = self.ctx.in_flight
        if owed <= _MAX_IN_FLIGHT and late_s <= _MAX_LAG_S and depth <= _OUTBOX_SOFT:
            return False
        self.net.count(sender, "shed:overload")
        self.note(
            "shed",
            sender,
            f"offered {kind} refused: {owed} deliveries owed, generator {late_s:.2f} s behind, "
            f"outbox {depth}",
            message_kind=kind,
            reason="overload",
        )
        return True

    # faults ----------------------------------------------------------------------------------

    async def fault(self, index: int) -> None:
        """Play fault ``index`` at its times."""
        fault = self.s.faults[index]
        window = fault.offline or fault.degrade or fault.cut
        if fault.offline is not None and window is not None:
            bureaus = [b for b in self._affected(window.bureau, window.region) if self.mine(b)]
            if not bureaus:
                return
            await self.at(window.start)
            self.note("fault", ",".join(bureaus), f"offline until {self.label(window.end)}")
            await self.net.stop(bureaus, graceful=False)
            await self.at(window.end)
            await self.net.start(bureaus)
            self.note("fault", ",".join(bureaus), "back online")
        elif fault.degrade is not None and window is not None:
            await self.at(window.start)
            override = LinkOverride(extra_ms=window.extra_ms, loss=window.loss)
            self.net.degrade(override, bureau=window.bureau, region=window.region)
            self.lead_note(
                window.bureau or f"region:{window.region}",
                f"links degraded (+{window.extra_ms:g} ms, loss {window.loss:g})",
            )
            await self.at(window.end)
            self.net.restore(bureau=window.bureau, region=window.region)
            self.lead_note(window.bureau or f"region:{window.region}", "links restored")
        elif fault.cut is not None and window is not None:
            await self.at(window.start)
            self.lead_note(
                window.bureau or f"region:{window.region}",
                f"links cut until {self.label(window.end)}",
            )
            await self.at(window.end)
            self.lead_note(window.bureau or f"region:{window.region}", "links restored")
        elif fault.broker_restart is not None:
            await self.at(fault.broker_restart.at)
            if self.memory is not None:
                self.note("fault", "broker", "broker killed")
                self.memory.restart()
                self.note("fault", "broker", "broker restarted")
                return
            if self.broker is None:
                self.note("fault", "broker", "restart skipped: the broker is external")
                return
            self.note("fault", "broker", "broker killed")
            await asyncio.to_thread(self.broker.kill)
            await asyncio.to_thread(self.broker.restart)
            self.note("fault", "broker", "broker restarted")
        elif fault.compromised is not None and self.mine(fault.compromised.bureau):
            await self._compromised(fault.compromised)

    def _affected(self, bureau: str | None, region: str | None) -> list[str]:
        if bureau is not None:
            return resolve(bureau, self.roster)
        return resolve(f"region:{region}", self.roster)

    async def _compromised(self, spec: Any) -> None:
        await self.at(spec.at)
        net = self.net
        self.note("fault", spec.bureau, f"compromised: sending hostile traffic to {spec.target}")
        rng = random.Random(f"{self.result.seed}|hostile|{spec.bureau}")  # noqa: S311
        inbox = topics.inbox(spec.target)
        base = Diffusion(
            message_id=self.ctx.ids.hostile(spec.bureau),
            sender=spec.bureau,
            recipients=ToBureaus(bureaus=(spec.target,)),
            created_at=self.now(),
            diffusion_type="information",
            text="Genuine message, soon replayed.",
        )
        genuine = net.send(spec.bureau, base)
        if genuine is None:
            return  # could not even send its genuine message (recorded as shed)
        # the copies replay a message the target has accepted: wait (up to 2 s) until it has
        for _ in range(100):
            if self.ctx.events.of("delivered", bureau=spec.target, message_id=str(base.message_id)):
                break
            await asyncio.sleep(0.02)
        for n in range(spec.forged):
            forged = bytearray(genuine)
            forged[200 + n % 50] ^= 0x5A  # inside the signed bytes: the signature breaks
            await net.publish_raw(spec.bureau, inbox, bytes(forged))
        for _ in range(spec.replayed):
            # the same message id under a fresh seal: what a replay by a member's own keys looks
            # like (the very same bytes again would be taken for a resend: a duplicate)
            again = net.seal_again(spec.bureau, base, [spec.target])
            await net.publish_raw(spec.bureau, inbox, again)
        for _ in range(spec.garbage):
            garbage = rng.randbytes(rng.randrange(1, 250))  # too short: malformed
            await net.publish_raw(spec.bureau, inbox, garbage)

    # the whole play --------------------------------------------------------------------------

    async def play(self, on_tick: Callable[[float, float, int], None] | None) -> None:
        """Play the whole script, let traffic settle, and stop the clock."""
        for index, inject in enumerate(self.s.injects):
            if inject.at is not None:
                self.spawn(self.inject(index, inject), f"inject[{index}]")
        for index, gen in enumerate(self.s.load):
            self.spawn(self.load(index, gen), f"load[{index}]")
        for index in range(len(self.s.faults)):
            self.spawn(self.fault(index), f"fault[{index}]")
        clock, end = self.ctx.clock, self.s.duration
        if clock.virtual:
            # no one waits for a simulation: tick a hundred times over the run, no more
            step = max(end / 100, clock.speed)
            while clock.scenario_s() < end:
                if on_tick is not None:
                    on_tick(clock.scenario_s(), end, len(self.ctx.events))
                await clock.sleep_until(min(end, clock.scenario_s() + step))
        while clock.scenario_s() < end and not self.stop_requested:
            if on_tick is not None:
                on_tick(clock.scenario_s(), end, len(self.ctx.events))
            wait = 0.2 if clock.paused else min(0.2, clock.real_s(end - clock.scenario_s()))
            await asyncio.sleep(max(0.0, wait))
        clock.resume()
        await self._finish_script()
        await self.net.settle(quiet_s=0.3, timeout=max(1.0, self.s.drain))
        for timer in self._timers:
            timer.cancel()
        clock.pause()  # the scenario is over: its clock stops where the last event happened
        self.finished = True
        if on_tick is not None:
            on_tick(end, end, len(self.ctx.events))

    async def _finish_script(self) -> None:
        # injects and faults scheduled at the very end still run (unless the controller stopped
        # the exercise); contingency injects may add more meanwhile
        done = 0
        while done < len(self._script):
            batch = self._script[done:]
            done = len(self._script)
            if self.stop_requested:
                for task in batch:
                    task.cancel()
            results = await asyncio.gather(*batch, return_exceptions=True)
            for task, outcome in zip(batch, results, strict=True):
                if isinstance(outcome, BaseException) and not isinstance(
                    outcome, asyncio.CancelledError
                ):
                    self.note("fault", "controller", f"{task.get_name()} failed: {outcome!r}")


@contextlib.contextmanager
def prepared(
    scenario: Scenario, options: RunOptions
) -> Iterator[tuple[Scenario, Topology, int, Roster]]:
    """The scenario as ``options`` change it, its topology, seed and roster, checked.

    Messages built while the block runs validate against that roster.

    Raises:
        ScenarioRunError: The scenario names bureaus not in the roster.
    """
    if options.duration is not None:
        scenario = scenario.model_copy(update={"duration": options.duration})
    topology: Topology = options.topology or scenario.topology
    seed = scenario.seed if options.seed is None else options.seed
    roster = _roster(scenario, topology)
    _check_names(scenario, roster)
    token = ACTIVE_ROSTER.set(roster)  # messages built in code validate against this roster
    try:
        yield scenario, topology, seed, roster
    finally:
        ACTIVE_ROSTER.reset(token)


async def run_scenario(scenario: Scenario, options: RunOptions | None = None) -> RunResult:
    """Run a scenario in this process and return its events.

    Raises:
        ScenarioRunError: The scenario names bureaus not in the roster, or the broker cannot be
            used, or it asks for worker processes (``scenarios.launch`` runs those); the message
            is one line.
    """
    options = options or RunOptions()
    if options.workers > 1:
        raise ScenarioRunError("worker processes are started by scenarios.launch.run_scenario")
    with prepared(scenario, options) as (changed, topology, seed, roster):
        return await _run(changed, options, topology, seed, roster)


async def _run(
    scenario: Scenario, options: RunOptions, topology: Topology, seed: int, roster: Roster
) -> RunResult:
    virtual = options.clock == "virtual"
    if virtual and not isinstance(asyncio.get_running_loop(), looptime.LoopTimeEventLoop):
        raise ScenarioRunError(
            "a virtual-clock run needs the virtual event loop: call scenarios.runner.simulate()"
        )
    if virtual and options.control is not None:
        raise ScenarioRunError("a live exercise runs on the wall clock, not the virtual one")
    started_at = datetime.now(UTC).replace(microsecond=0)
    pki = (
        pki_from_directory(options.pki, roster)
        if options.pki is not None
        else generate_pki(roster, started_at)
    )
    clock: Clock = (
        VirtualClock(started_at, scenario.speed) if virtual else Clock(speed=scenario.speed)
    )
    network = build_network(scenario, roster, topology, seed, pki, clock=clock)
    ctx = network.ctx
    result = RunResult(scenario, topology, seed, roster, "", "", ctx.events.events, {})
    result.clock = options.clock
    result.signing_key = network.pki.authority.root_key
    result.signing_certificate = network.pki.authority.root_certificate
    started = time.perf_counter()
    embedded: EmbeddedBroker | None = None
    memory: MemoryBroker | None = None
    async with contextlib.AsyncExitStack() as stack:
        if virtual:
            if options.broker != "embedded":
                raise ScenarioRunError(
                    "a virtual-clock run uses the in-memory broker; --broker needs --clock wall"
                )
            memory = MemoryBroker(network.security())
            ctx.connector = memory_connector(memory)
            ctx.service = _service(scenario)
            ctx.target = BrokerTarget("memory", 0, kind="memory", version=memory.version)
        else:
            embedded = await start_broker(options.broker, network, stack)
        result.broker_kind = ctx.target.kind
        result.broker_version = ctx.target.version
        try:
            await network.start(timeout=20)
        except Exception as exc:
            await network.stop()
            raise ScenarioRunError(f"bureaus could not connect to {ctx.target.url}: {exc}") from exc
        ctx.clock.restart()
        try:
            player = Player(scenario, network, embedded, result)
            player.memory = memory
            if options.control is not None:
                options.control.attach(player)
            await player.play(options.on_tick)
        finally:
            await network.stop()
    result.wall_s = time.perf_counter() - started
    result.counters = {b: dict(n.counters) for b, n in network.bureaus.items()}
    return result


def pki_from_directory(directory: Path, roster: Roster) -> Pki:
    """The PKI in ``directory`` for every bureau of ``roster``, with its root key.

    Raises:
        ScenarioRunError: A bureau's keys are missing or bad (each named), or no root key.
    """
    try:
        loaded = load_pki(directory, roster, datetime.now(UTC))
    except KeystoreError as exc:
        problems = "; ".join(str(p) for p in exc.problems[:5])
        raise ScenarioRunError(f"--pki {directory}: {problems}") from exc
    if loaded.authority is None:
        raise ScenarioRunError(
            f"--pki {directory}: no root.key.pem: the General Secretariat's root key is needed "
            "to sign revocation lists and the run's evidence"
        )
    return Pki(loaded.authority, loaded.identities, loaded.trust)


def actor(inject: Inject) -> str:
    """The bureau that performs an inject (the General Secretariat for controller actions)."""
    spec = getattr(inject, inject.action)
    for name in ("sender", "by", "organisation", "bureau"):
        value = getattr(spec, name, None)
        if isinstance(value, str):
            return "gs" if inject.action == "revoke" else value
    return "gs"


def simulate(scenario: Scenario, options: RunOptions | None = None) -> RunResult:
    """Run a scenario on the virtual clock and the in-memory broker (blocking).

    The run happens on its own event loop, whose time jumps to the next timer whenever every
    bureau waits: the same scenario and seed give the same events on any host, under any load.

    Raises:
        ScenarioRunError: As :func:`run_scenario`.
    """
    options = options or RunOptions()
    options = dataclasses.replace(options, clock="virtual")
    with asyncio.Runner(loop_factory=virtual_loop) as runner:
        return runner.run(run_scenario(scenario, options))


def _service(scenario: Scenario) -> ServiceTimes:
    spec = scenario.service
    if spec is None:
        return ServiceTimes()
    return ServiceTimes(**spec.model_dump())


def build_network(
    scenario: Scenario,
    roster: Roster,
    topology: Topology,
    seed: int,
    pki: Pki,
    *,
    clock: Clock | None = None,
) -> Network:
    """The scenario's network, not started.

    It holds the context, link model, review policy and databases, and applies what the scenario
    says of individual bureaus.
    """
    ctx = NetworkContext(
        roster,
        topology,
        BrokerTarget("127.0.0.1", 0),
        _links(scenario, roster, seed),
        clock=clock if clock is not None else Clock(speed=scenario.speed),
        seed=seed,
        review=ReviewPolicy(delay_s=scenario.review_delay),
        databases=_databases(scenario),
    )
    network = Network(ctx, pki)
    _configure(network, scenario, roster)
    return network


def _configure(network: Network, scenario: Scenario, roster: Roster) -> None:
    """Set what the scenario says of individual bureaus: inboxes, caveats, players, versions."""
    network.configure(inbox_limit=_INBOX, caveats=scenario.caveats)
    for bureau in resolve(scenario.players, roster) if scenario.players else []:
        network.set_player(bureau, inbox_limit=_PLAYED_INBOX)  # a person answers, or nobody
    for version, group in scenario.versions.items():
        for bureau in resolve(group, roster):
            network.set_schema_version(bureau, version)


async def start_broker(
    broker: str, network: Network, stack: contextlib.AsyncExitStack
) -> EmbeddedBroker | None:
    """Start or reach the broker ``--broker`` names; set the network's targets.

    Returns:
        The embedded single broker, when there is one (faults can kill and restart it).
    """
    ctx = network.ctx
    if broker in ("embedded:nats", "embedded:nats-r1"):
        cluster = NatsCluster(
            3,
            consumer_replicas=1 if broker.endswith("-r1") else None,
            security=network.security(),
        )
        try:
            await asyncio.to_thread(cluster.start)
        except BrokerError as exc:
            raise ScenarioRunError(f"the embedded NATS cluster did not start: {exc}") from exc
        stack.callback(cluster.stop)
        ctx.cluster = tuple(
            BrokerTarget(t.host, t.port, kind="nats", version=cluster.version)
            for t in cluster.targets
        )
        ctx.target = ctx.cluster[0]
        return None
    if broker.startswith("embedded"):
        kind = broker.partition(":")[2] or "auto"
        if kind not in ("auto", "mosquitto", "amqtt"):
            raise ScenarioRunError(f"unknown embedded broker {kind!r}")
        kind_t: BrokerKind = kind  # type: ignore[assignment]
        embedded = EmbeddedBroker(kind=kind_t, security=network.security(), persistence=True)
        await asyncio.to_thread(embedded.start)
        stack.callback(embedded.stop)
        ctx.target = BrokerTarget(
            embedded.host, embedded.port, kind=embedded.kind, version=embedded.version
        )
        return embedded
    urls = [u.strip() for u in broker.split(",") if u.strip()]
    targets = [parse_broker_url(u) for u in urls]
    for target in targets:
        await _probe(target)
    if len(targets) > 1:
        ctx.cluster = tuple(targets)  # several nodes of one clustered broker
    ctx.target = targets[0]
    return None


async def _probe(target: BrokerTarget) -> None:
    """Fail fast, with one line, when an external broker does not even accept TCP."""
    try:
        _reader, writer = await asyncio.wait_for(
            asyncio.open_connection(target.host, target.port), timeout=5
        )
    except (OSError, TimeoutError) as exc:
        raise ScenarioRunError(f"cannot reach the broker at {target.url}: {exc}") from None
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


def _check_names(scenario: Scenario, roster: Roster) -> None:
    groups: list[str | list[str]] = [scenario.players] if scenario.players else []
    for inject in (*scenario.injects, *scenario.deck):
        spec = getattr(inject, inject.action)
        # every bureau an action names, whatever the action calls it (siena's gateway aside)
        groups += [
            getattr(spec, f)
            for f in ("sender", "by", "bureau", "to")
            if inject.action != "siena" and isinstance(getattr(spec, f, None), str | list)
        ]
    for gen in scenario.load:
        groups += [gen.senders, gen.to]
    for fault in scenario.faults:
        window = fault.offline or fault.degrade or fault.cut
        if window is not None and window.bureau is not None:
            groups.append(window.bureau)
        if fault.compromised is not None:
            groups.append([fault.compromised.bureau, fault.compromised.target])
    for group in groups:
        resolve(group, roster)
