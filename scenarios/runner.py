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
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from broker import BrokerTarget, EmbeddedBroker
from broker.memory import MemoryBroker
from bureaus import (
    Clock,
    Databases,
    LinkModel,
    LinkOverride,
    MqttClient,
    Network,
    NetworkContext,
    Outage,
    ReviewPolicy,
    ServiceTimes,
    VirtualClock,
    VirtualEventLoop,
    generate_pki,
    memory_connector,
    virtual_loop,
)
from bureaus.idfile import IdFile
from bureaus.keystore import KeystoreError, load_pki
from bureaus.network import Pki
from protocol import (
    Roster,
    SearchHit,
    default_roster,
)
from protocol.messages.types import ACTIVE_ROSTER
from protocol.network.roster import synthetic_roster
from protocol.network.routing import Topology
from protocol.security.suites import MODELLED, REAL, Suite
from scenarios.brokers import start_broker
from scenarios.exercise.control import ExerciseControl
from scenarios.model import CutFault, Scenario, bureau_references
from scenarios.player import Player
from scenarios.reports.evidence import ChainedLog
from scenarios.reports.running import TIMELINE_BINS, RunningFigures, notable
from scenarios.results import RunResult, ScenarioRunError, resolve

__all__ = [
    "ClockKind",
    "CryptoKind",
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
CryptoKind = Literal["real", "modelled"]
SUITES_BY_NAME: dict[CryptoKind, Suite] = {"real": REAL, "modelled": MODELLED}


_INBOX = 200
"""Delivered messages each bureau keeps for forwarding (bounded: memory under heavy load)."""
_PLAYED_INBOX = 2_000
"""What a bureau played by a person keeps: everything it may have to answer."""
_LEAN_INBOX = 10
"""What each bureau keeps in a lean run, whose memory must not grow with the roster's traffic
(ten thousand bureaus keeping 200 each would be two million messages)."""


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
    auto_answer: float | None = None
    """Rehearsal: each played bureau acknowledges every message this many scenario seconds after
    it arrives, through the same command a player's button sends (``run --auto-answer``)."""
    workers: int = 1
    """Worker processes to split the bureaus over (``scenarios/workers.py``)."""
    transport: MqttClient = "gmqtt"
    """The MQTT client bureaus speak through on a real broker: ``gmqtt`` (a fifth of aiomqtt's
    CPU per message) or ``aiomqtt``."""
    clock: ClockKind = "wall"
    """``wall``: live, on a real broker, scenario time = wall time x speed. ``virtual``: a
    simulation on the in-memory broker and a discrete-event clock, with modelled service times:
    the same seed gives the same result on any host (run it with :func:`simulate`)."""
    verifiers: int = 0
    """Live runs: helper processes that verify received envelopes' signatures on other cores,
    ahead of the bureaus (``bureaus/verifier.py``; 0: each bureau verifies its own)."""
    crypto: CryptoKind = "real"
    """``real``: every envelope signed, encrypted, verified and opened. ``modelled``
    (simulations only): the same frames, sizes, checks and refusals, with keyed BLAKE2b in place
    of the cryptography (:mod:`protocol.security.suites`; not security), for studies whose
    subject is not the cryptography; its cost is charged by the service-time model as before,
    so the same seed gives the same summary apart from the field naming the mode."""
    lean: bool = False
    """Long simulations: keep the run's figures as it goes (counters and histograms) and only
    the notable events in memory, and stream every event to ``events_path`` with its evidence
    chain (``scenarios/reports/running.py``): memory bounded by the traffic in flight, not by
    the length of the run."""
    events_path: Path | None = None
    """Where a lean run writes its event log as it goes (default: a file in the system's
    temporary directory, named in the result)."""
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
        duplicate=spec.duplicate,
        enabled=spec.model,
        links={
            (link.a, link.b): LinkOverride(
                link.one_way_ms, link.extra_ms, link.jitter_ms, link.loss, link.duplicate
            )
            for link in spec.links
        },
        regions={
            r: LinkOverride(o.one_way_ms, o.extra_ms, o.jitter_ms, o.loss, o.duplicate)
            for r, o in spec.regions.items()
        },
    )
    for fault in scenario.faults:
        if isinstance(fault, CutFault):
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
    virtual = _check_clock(options)
    started_at = datetime.now(UTC).replace(microsecond=0)
    pki = (
        pki_from_directory(options.pki, roster)
        if options.pki is not None
        else generate_pki(roster, started_at)
    )
    clock: Clock = (
        VirtualClock(started_at, scenario.speed) if virtual else Clock(speed=scenario.speed)
    )
    network = build_network(
        scenario, roster, topology, seed, pki, clock=clock, suite=SUITES_BY_NAME[options.crypto]
    )
    ctx = network.ctx
    ctx.client = options.transport
    ctx.verify_processes = options.verifiers
    result = RunResult(scenario, topology, seed, roster, "", "", ctx.events.events, {})
    result.clock = options.clock
    result.crypto = options.crypto
    ids = _lean(result, network, options.events_path) if options.lean else None
    result.signing_key = network.pki.authority.root_key
    result.signing_certificate = network.pki.authority.root_certificate
    started = time.perf_counter()
    embedded: EmbeddedBroker | None = None
    memory: MemoryBroker | None = None
    async with contextlib.AsyncExitStack() as stack:
        if ids is not None:
            stack.callback(ids.close)
        if virtual:
            memory = _memory_broker(scenario, options, network)
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
            player.auto_answer = options.auto_answer
            if options.control is not None:
                options.control.attach(player)
            await player.play(options.on_tick)
        finally:
            result.owed_at_end = network.owed()
            await network.stop()
            if result.streamed is not None:
                result.streamed.close()
    result.wall_s = time.perf_counter() - started
    result.counters = {b: dict(n.counters) for b, n in network.bureaus.items()}
    return result


def _memory_broker(scenario: Scenario, options: RunOptions, network: Network) -> MemoryBroker:
    """The in-memory broker a simulation runs on, the network's bureaus pointed at it.

    Raises:
        ScenarioRunError: Another broker was asked for.
    """
    if options.broker != "embedded":
        raise ScenarioRunError(
            "a virtual-clock run uses the in-memory broker; --broker needs --clock wall"
        )
    memory = MemoryBroker(network.security())
    ctx = network.ctx
    ctx.connector = memory_connector(memory)
    ctx.service = _service(scenario)
    ctx.target = BrokerTarget("memory", 0, kind="memory", version=memory.version)
    return memory


def _check_clock(options: RunOptions) -> bool:
    """Whether the run is simulated (on the loop it needs, with what a simulation allows).

    Raises:
        ScenarioRunError: A simulation outside the virtual loop, or with live-only options.
    """
    virtual = options.clock == "virtual"
    if virtual and not isinstance(asyncio.get_running_loop(), VirtualEventLoop):
        raise ScenarioRunError(
            "a virtual-clock run needs the virtual event loop: call scenarios.runner.simulate()"
        )
    if virtual and options.control is not None:
        raise ScenarioRunError("a live exercise runs on the wall clock, not the virtual one")
    check_simulation_only(options)
    return virtual


def check_simulation_only(options: RunOptions) -> None:
    """Refuse what only a simulation may ask for (a lean run, modelled cryptography) on a live run.

    Raises:
        ScenarioRunError: One line naming what was asked for.
    """
    virtual = options.clock == "virtual"
    if options.lean and not virtual:
        raise ScenarioRunError("a lean run is a simulation: it needs --clock virtual")
    if options.crypto == "modelled" and (not virtual or options.verifiers):
        raise ScenarioRunError(
            "modelled cryptography is for simulations (--clock virtual), without --verifiers: "
            "a live run measures the real thing"
        )


def _lean(result: RunResult, network: Network, path: Path | None) -> IdFile:
    """Make a run lean: figures kept as it goes, notable events kept, every event streamed.

    Each bureau keeps a few deliveries for forwarding (played bureaus keep what they keep), and
    its replay memory in a file (:class:`bureaus.idfile.IdFile`, returned: the caller closes it).
    """
    if path is None:
        handle, name = tempfile.mkstemp(prefix="bureaunet-events-", suffix=".jsonl")
        os.close(handle)
        path = Path(name)
    try:
        result.streamed = ChainedLog(path)
    except OSError as exc:
        raise ScenarioRunError(f"cannot write the event log {path}: {exc.strerror or exc}") from exc
    result.figures = RunningFigures(slice_s=max(result.scenario.duration, 1.0) / TIMELINE_BINS)
    log = network.ctx.events
    log.keep = notable(result.followed, result.revoked_at)
    log.listeners[:0] = [result.figures, result.streamed]
    _configure(network, result.scenario, result.roster, inbox=_LEAN_INBOX)
    try:
        ids = IdFile()
    except (OSError, sqlite3.Error) as exc:
        result.streamed.close()
        raise ScenarioRunError(
            f"cannot keep the replay memory in {tempfile.gettempdir()}: {exc}"
        ) from exc
    for bureau in network.bureaus.values():
        bureau.core.codec.replay.ids = ids.memory()
    return ids


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
    return Pki(loaded.authority, loaded.identities, loaded.trust, directory)


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
    run_id: bytes | None = None,
    suite: Suite = REAL,
) -> Network:
    """The scenario's network, not started.

    It holds the context, link model, review policy and databases, and applies what the scenario
    says of individual bureaus. ``run_id`` names the run in every envelope's signed header (fresh
    from the OS random source by default: no other run, even of the same seed and PKI, shares it).
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
    if run_id is not None:
        ctx.run_id = run_id
    network = Network(ctx, pki, suite=suite)
    _configure(network, scenario, roster)
    return network


def _configure(
    network: Network, scenario: Scenario, roster: Roster, *, inbox: int = _INBOX
) -> None:
    """Set what the scenario says of individual bureaus: inboxes, caveats, players, versions."""
    network.configure(inbox_limit=inbox, caveats=scenario.caveats)
    for bureau in resolve(scenario.players, roster) if scenario.players else []:
        network.set_player(bureau, inbox_limit=_PLAYED_INBOX)  # a person answers, or nobody
    for version, group in scenario.versions.items():
        for bureau in resolve(group, roster):
            network.set_schema_version(bureau, version)


def _check_names(scenario: Scenario, roster: Roster) -> None:
    for _where, name in bureau_references(scenario):
        resolve(name, roster)
