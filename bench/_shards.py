"""Worker processes for the network benchmarks: the roster split into shards, one per process.

The parent writes a throwaway PKI for the full roster to a temporary directory, starts a secured
Mosquitto for it, and spawns N workers. Each worker loads the same PKI, builds the whole roster's
network (so every bureau knows every certificate) but connects only its shard of the bureaus
(every N-th bureau), with its own event loop and connections. Workers wait at a barrier, then run
the same measured window; they share two counters (messages sent and delivered, across all
processes) so that the number in flight stays under one global window, whichever process sends
and whichever receives. Each reports its deliveries and CPU seconds; the parent adds the broker's.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import random
import resource
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

from _world import cpu_seconds

from broker import BrokerTarget, EmbeddedBroker, client, find_mosquitto
from bureaus import Event, LinkModel, Network, NetworkContext
from bureaus.keystore import init_pki, load_pki
from bureaus.network import Pki
from protocol import CaseMessage, ToBureaus, default_roster, topics

BODY = "Routine case exchange. " * 44  # about 1 KiB of wire JSON with the header fields


@dataclass(frozen=True)
class Job:
    """What every worker is told."""

    index: int
    workers: int
    pki_dir: str
    host: str
    port: int
    seconds: float
    window: int
    payload: int


def _network(pki_dir: Path, target: BrokerTarget) -> Network:
    roster = default_roster()
    loaded = load_pki(pki_dir, roster, datetime.now(UTC))
    assert loaded.authority is not None
    pki = Pki(loaded.authority, loaded.identities, loaded.trust)
    ctx = NetworkContext(roster, "mesh", target, LinkModel(roster, enabled=False))
    network = Network(ctx, pki, outbox_limit=1_000_000)
    for bureau in network.bureaus.values():
        bureau.acknowledge = False
        bureau.resend_after = 0  # nobody acknowledges: keeping messages to resend is waste
    return network


def _peak_rss_mb() -> float:
    """This process's peak resident memory so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _window(sent: Any, delivered: Any, window: int) -> None:
    while sent.value - delivered.value >= window:
        await asyncio.sleep(0.0005)


async def _secure(job: Job, barrier: Any, sent: Any, delivered: Any) -> dict[str, float]:
    network = _network(Path(job.pki_dir), BrokerTarget(job.host, job.port))
    ids = [b.id for b in network.ctx.roster]
    mine = ids[job.index :: job.workers]
    certificates = [i.certificate for i in network.pki.identities.values()]
    for bureau in mine:
        network[bureau].codec.warm(certificates)
    await network.start(mine)
    counted = 0

    def listen(event: Event) -> None:
        nonlocal counted
        if event.kind == "delivered":
            counted += 1
            with delivered.get_lock():
                delivered.value += 1

    network.ctx.events.listeners.append(listen)
    await asyncio.to_thread(barrier.wait)
    rng = random.Random(job.index)
    cpu0, start = cpu_seconds(), time.perf_counter()
    deadline = start + job.seconds
    n = 0
    size = 0
    while time.perf_counter() < deadline:
        await _window(sent, delivered, job.window)
        sender = rng.choice(mine)
        recipient = rng.choice(ids)
        if recipient == sender:
            continue
        with sent.get_lock():
            sent.value += 1
        size = network[sender].submit(
            CaseMessage(
                message_id=uuid4(), sender=sender, recipients=ToBureaus(bureaus=(recipient,)),
                created_at=datetime.now(UTC), case_reference="BENCH/1", subject="bench",
                body=BODY,
            )
        ).__len__()
        n += 1
        if n % 50 == 0:
            await asyncio.sleep(0)
    figures = {"delivered": float(counted), "cpu_s": cpu_seconds() - cpu0,
               "elapsed_s": time.perf_counter() - start, "envelope_bytes": float(size),
               "rss_mb": _peak_rss_mb()}
    network.ctx.events.listeners.remove(listen)
    await network.stop()
    return figures


async def _raw(job: Job, barrier: Any, sent: Any, delivered: Any) -> dict[str, float]:
    network = _network(Path(job.pki_dir), BrokerTarget(job.host, job.port))
    target = BrokerTarget(job.host, job.port)
    ids = [b.id for b in network.ctx.roster]
    mine = ids[job.index :: job.workers]
    clients = {
        b: client(target, client_id=b, username=b, password=network.passwords[b],
                  clean_session=True)
        for b in mine
    }
    for mqtt in clients.values():
        await mqtt.__aenter__()
    for bureau, mqtt in clients.items():
        await mqtt.subscribe(topics.inbox(bureau), qos=1)
    counted = 0

    async def reader(mqtt: Any) -> None:
        nonlocal counted
        async for _ in mqtt.messages:
            counted += 1
            with delivered.get_lock():
                delivered.value += 1

    readers = [asyncio.create_task(reader(m)) for m in clients.values()]
    await asyncio.to_thread(barrier.wait)
    payload = b"x" * job.payload
    rng = random.Random(job.index)
    pending: set[asyncio.Task[None]] = set()
    cpu0, start = cpu_seconds(), time.perf_counter()
    deadline = start + job.seconds
    while time.perf_counter() < deadline:
        await _window(sent, delivered, job.window)
        sender = rng.choice(mine)
        recipient = rng.choice(ids)
        if recipient == sender:
            continue
        with sent.get_lock():
            sent.value += 1
        task = asyncio.create_task(clients[sender].publish(topics.inbox(recipient), payload, qos=1))
        pending.add(task)
        task.add_done_callback(pending.discard)
    figures = {"delivered": float(counted), "cpu_s": cpu_seconds() - cpu0,
               "elapsed_s": time.perf_counter() - start, "rss_mb": _peak_rss_mb()}
    for task in readers:
        task.cancel()
    for mqtt in clients.values():
        with contextlib.suppress(Exception):  # closing down a benchmark
            await mqtt.__aexit__(None, None, None)
    return figures


_KINDS: dict[str, Callable[[Job, Any, Any, Any], Coroutine[Any, Any, dict[str, float]]]] = {
    "secure": _secure,
    "raw": _raw,
}


def _worker(kind: str, job: Job, barrier: Any, sent: Any, delivered: Any, out: Any) -> None:
    out.put(asyncio.run(_KINDS[kind](job, barrier, sent, delivered)))


def run_sharded(kind: str, workers: int, seconds: float, window: int, payload: int = 0
                ) -> dict[str, float]:
    """Run one side (``secure`` or ``raw``) over ``workers`` processes; the summed figures."""
    if find_mosquitto() is None:
        raise SystemExit("the network benchmarks need Mosquitto (apt-get install mosquitto)")
    context = multiprocessing.get_context("spawn")
    roster = default_roster()
    with tempfile.TemporaryDirectory(prefix="bureaunet-bench-") as tmp:
        pki_dir = Path(tmp) / "pki"
        init_pki(pki_dir, roster, datetime.now(UTC) - timedelta(minutes=5))
        security = _network(pki_dir, BrokerTarget("127.0.0.1", 0)).security()
        with EmbeddedBroker(kind="mosquitto", security=security, persistence=False) as broker:
            barrier = context.Barrier(workers + 1)
            sent, delivered = context.Value("q", 0), context.Value("q", 0)
            out = context.Queue()
            processes = [
                context.Process(
                    target=_worker,
                    args=(kind, Job(i, workers, str(pki_dir), broker.host, broker.port, seconds,
                                    window, payload), barrier, sent, delivered, out),
                    name=f"bench-{kind}-{i}",
                )
                for i in range(workers)
            ]
            for process in processes:
                process.start()
            barrier.wait(timeout=120)
            broker0, start = cpu_seconds(broker.pid), time.perf_counter()
            time.sleep(seconds)
            broker_cpu = cpu_seconds(broker.pid) - broker0
            wall = time.perf_counter() - start
            results = [out.get(timeout=120) for _ in processes]
            for process in processes:
                process.join(timeout=60)
    elapsed = max(r["elapsed_s"] for r in results)
    return {
        "msgs_per_s": sum(r["delivered"] for r in results) / elapsed,
        "process_cpu_s_per_s": sum(r["cpu_s"] for r in results) / elapsed,
        "broker_cpu_s_per_s": broker_cpu / wall,
        "workers": float(workers),
        "peak_rss_mb_all_workers": sum(r["rss_mb"] for r in results),
        "envelope_bytes": max(r.get("envelope_bytes", 0.0) for r in results),
    }
