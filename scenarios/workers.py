"""Scenario runs over worker processes: the bureaus split into shards, the results merged.

Theory of operation. The parent writes a throwaway PKI for the roster to a temporary directory,
gets the broker (embedded, external, or a cluster's nodes), and spawns N worker processes. Each
worker loads the same PKI, builds the whole network (every bureau knows every certificate) but
starts only its shard (every N-th bureau of the roster), and plays the whole script with a
filter: an inject is played by the worker that runs its acting bureau; every worker draws the
same seeded load and sends only its own bureaus' part; link faults apply in every worker, an
offline fault to the affected bureaus each worker runs. Workers meet at barriers before the
scenario clock starts, when their script is done, and after a last settle, so no bureau stops
while others may still send to it.

The parent merges the workers' events by wall-clock time, fills in the latencies of deliveries
whose sender ran in another process (from that sender's ``sent`` event and link holds), and
evaluates the response deadlines over the merged log. Same seed, same traffic: the deliveries,
routes and expectation verdicts are those of a one-process run.

What needs one event loop is refused with a clear error: contingency injects, a deck, players,
key rotation (every trust store must learn the new certificate at once), a broker restart (the
parent owns the broker), and a live control.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import multiprocessing
import queue
import tempfile
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from bureaus import Event
from bureaus.events import trace_key
from bureaus.keystore import init_pki
from protocol import Roster
from protocol.messages.types import ACTIVE_ROSTER
from protocol.network.routing import Topology
from scenarios.exercise.deadlines import DeadlineBook
from scenarios.model import BrokerRestartFault, RotateKeyInject, Scenario
from scenarios.runner import (
    Player,
    RunOptions,
    RunResult,
    ScenarioRunError,
    build_network,
    pki_from_directory,
    start_broker,
)

__all__ = ["check_shardable", "run_sharded"]


def check_shardable(scenario: Scenario, options: RunOptions) -> None:
    """Refuse what a run over several processes cannot do.

    Raises:
        ScenarioRunError: One line naming what to remove or change.
    """
    problems = []
    if any(i.when is not None for i in scenario.injects):
        problems.append("contingency injects ('when')")
    if scenario.deck:
        problems.append("a deck")
    if scenario.players:
        problems.append("players")
    if any(isinstance(i, RotateKeyInject) for i in scenario.injects):
        problems.append("key rotation")
    if any(isinstance(f, BrokerRestartFault) for f in scenario.faults):
        problems.append("a broker restart")
    if options.control is not None:
        problems.append("a live exercise")
    if problems:
        raise ScenarioRunError(
            f"--workers needs one process for {', '.join(problems)}; run with --workers 1"
        )


async def _work(job: dict[str, Any], barrier: Any) -> dict[str, Any]:
    scenario = Scenario.model_validate_json(job["scenario"])
    roster: Roster = job["roster"]
    ACTIVE_ROSTER.set(roster)
    network = build_network(
        scenario,
        roster,
        job["topology"],
        job["seed"],
        pki_from_directory(job["pki"], roster),
        run_id=job["run_id"],
    )
    ctx = network.ctx
    ctx.client = job["transport"]
    ctx.verify_processes = job["verifiers"]
    ctx.target = job["target"]
    ctx.cluster = job["cluster"]
    ids = [b.id for b in roster]
    shard = ids[job["index"] :: job["workers"]]
    result = RunResult(
        scenario, job["topology"], job["seed"], roster, "", "", ctx.events.events, {}
    )
    await network.start(shard, timeout=60)
    await asyncio.to_thread(barrier.wait)
    ctx.clock.restart()
    player = Player(scenario, network, None, result, shard=frozenset(shard), lead=job["index"] == 0)
    try:
        await player.play(None)
        await asyncio.to_thread(barrier.wait)  # everyone's script is done
        await network.settle(quiet_s=0.5, timeout=max(1.0, scenario.drain))
        await asyncio.to_thread(barrier.wait)  # nobody stops while others may still send
    finally:
        owed = network.owed()
        await network.stop()
    return {
        "owed": owed,
        "events": list(ctx.events.events),
        "counters": {b: dict(network[b].counters) for b in shard},
        "inject_ids": result.inject_ids,
        "inject_times": result.inject_times,
        "inject_senders": result.inject_senders,
        "revoked_at": result.revoked_at,
        "deadlines": result.deadlines,
        "holds": ctx.tracer.holds_ms,
    }


def _worker(job: dict[str, Any], barrier: Any, out: Any) -> None:
    try:
        out.put(asyncio.run(_work(job, barrier)))
    except BaseException as exc:  # reported to the parent, which fails the run with it
        barrier.abort()
        out.put({"error": f"worker {job['index']}: {exc!r}"})


async def run_sharded(
    scenario: Scenario, options: RunOptions, topology: Topology, seed: int, roster: Roster
) -> RunResult:
    """Run a scenario over ``options.workers`` processes and merge what they recorded.

    Raises:
        ScenarioRunError: Something only one process can do, a worker failed, or the broker
            cannot be used.
    """
    check_shardable(scenario, options)
    workers = options.workers
    context = multiprocessing.get_context("spawn")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bureaunet-workers-") as tmp:
        pki_dir = options.pki or Path(tmp) / "pki"
        if options.pki is None:
            init_pki(pki_dir, roster, datetime.now(UTC) - timedelta(minutes=5))
        parent = build_network(
            scenario, roster, topology, seed, pki_from_directory(pki_dir, roster)
        )
        async with contextlib.AsyncExitStack() as stack:
            await start_broker(options.broker, parent, stack)
            ctx = parent.ctx
            barrier = context.Barrier(workers)
            out = context.Queue()
            base = {
                "scenario": scenario.model_dump_json(by_alias=True),
                "roster": roster,
                "topology": topology,
                "seed": seed,
                "run_id": ctx.run_id,  # every shard is one run: envelopes pass between them
                "pki": pki_dir,
                "target": ctx.target,
                "cluster": ctx.cluster,
                "transport": options.transport,
                "verifiers": options.verifiers,
                "workers": workers,
            }
            processes = [
                context.Process(
                    target=_worker,
                    args=({**base, "index": i}, barrier, out),
                    name=f"bureaunet-worker-{i}",
                )
                for i in range(workers)
            ]
            for process in processes:
                process.start()
            limit = scenario.duration / scenario.speed + scenario.drain * 2 + 300
            parts = await asyncio.to_thread(_collect, out, processes, limit)
            for process in processes:
                process.join(timeout=30)
    result = _merge(scenario, topology, seed, roster, parts)
    result.broker_kind, result.broker_version = ctx.target.kind, ctx.target.version
    result.signing_key = parent.pki.authority.root_key
    result.signing_certificate = parent.pki.authority.root_certificate
    result.wall_s = time.perf_counter() - started
    return result


def _collect(out: Any, processes: list[Any], limit_s: float) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    deadline = time.monotonic() + limit_s
    while len(parts) < len(processes):
        try:
            part = out.get(timeout=1)
        except queue.Empty:
            dead = [p.name for p in processes if p.exitcode not in (None, 0)]
            if dead or time.monotonic() > deadline:
                raise ScenarioRunError(
                    f"worker processes failed: {', '.join(dead) or 'timed out'}"
                ) from None
            continue
        if "error" in part:
            raise ScenarioRunError(part["error"])
        parts.append(part)
    return parts


def _merge(
    scenario: Scenario, topology: Topology, seed: int, roster: Roster, parts: list[dict[str, Any]]
) -> RunResult:
    events: list[Event] = sorted(
        (e for part in parts for e in part["events"] if e.kind != "deadline"),
        key=lambda e: e.t_ns,
    )
    merged = _with_latencies(events, parts)
    result = RunResult(scenario, topology, seed, roster, "", "", merged, {})
    for part in parts:
        result.counters.update(part["counters"])
        result.inject_ids.update(part["inject_ids"])
        result.inject_times.update(part["inject_times"])
        result.inject_senders.update(part["inject_senders"])
        result.revoked_at.update(part["revoked_at"])
        result.deadlines.extend(part["deadlines"])
        result.owed_at_end |= part["owed"]
    _deadlines(result, merged)
    return result


def _with_latencies(events: list[Event], parts: list[dict[str, Any]]) -> list[Event]:
    """The events, each delivery of a message sent in another process given its latency."""
    sent: dict[str, int] = {}
    holds: dict[tuple[str, str, str], float] = {}
    for part in parts:
        holds.update(part["holds"])
    for event in events:
        if event.kind == "sent" and event.message_id:
            sent.setdefault(trace_key(event.bureau, event.message_id), event.t_ns)
    merged: list[Event] = []
    for event in events:
        key = trace_key(event.peer or "", event.message_id or "")
        if event.kind == "delivered" and event.latency_ms is None and key in sent:
            modelled = sum(holds.get((key, a, b), 0.0) for a, b in pairwise(event.route))
            latency = (event.t_ns - sent[key]) / 1e6
            merged.append(dataclasses.replace(event, latency_ms=latency, modelled_ms=modelled))
        else:
            merged.append(event)
    return merged


def _deadlines(result: RunResult, events: list[Event]) -> None:
    """Decide every deadline over the merged log (answers may have come in another process)."""
    found: list[Event] = []
    book = DeadlineBook(found.append)
    due = sorted(result.deadlines, key=lambda d: d.due_s)
    for deadline in due:
        deadline.waiting_for = set(deadline.owed_by)
        deadline.answered_s, deadline.missed = None, False
        book.open(deadline)
    end = result.scenario.duration
    for event in events:
        while due and due[0].due_s <= min(event.t_s, end):
            expired = due.pop(0)
            book.expire(expired, event.t_ns, expired.due_s)
        book.observe(event)
    for deadline in due:
        if deadline.due_s <= end and events:
            book.expire(deadline, events[-1].t_ns, deadline.due_s)
    events.extend(found)
    events.sort(key=lambda e: e.t_ns)
