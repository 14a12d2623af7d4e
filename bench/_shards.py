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
import queue
import random
import resource
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import gmqtt
from _world import cpu_seconds
from gmqtt.mqtt.constants import MQTTv311

from broker import BrokerTarget, EmbeddedBroker, client, find_mosquitto
from broker.cluster import NatsCluster
from bureaus import Event, LinkModel, MqttClient, Network, NetworkContext
from bureaus.keystore import init_pki, load_pki
from bureaus.network import Pki
from protocol import CaseMessage, Roster, ToBureaus, default_roster, topics
from protocol.network.roster import synthetic_roster
from protocol.security.envelope import EnvelopeCodec

BODY = "Routine case exchange. " * 44  # about 1 KiB of wire JSON with the header fields


def case_message(
    sender: str,
    recipient: str,
    created_at: datetime,
    *,
    message_id: UUID | None = None,
    case_reference: str = "BENCH/1",
) -> CaseMessage:
    """The benchmarks' message: a case message of about 1 KiB from one bureau to another."""
    return CaseMessage(
        message_id=message_id or uuid4(),
        sender=sender,
        recipients=ToBureaus(bureaus=(recipient,)),
        created_at=created_at,
        case_reference=case_reference,
        subject="bench",
        body=BODY,
    )


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
    roster_size: int = 0
    """0: the bundled roster; otherwise a synthetic roster of this many NCBs."""
    cluster: tuple[int, ...] = ()
    """MQTT ports of a NATS cluster's nodes on loopback (then ``port`` is unused)."""
    rate: float = 0.0
    """Messages per second this worker offers (paced), for the scale benchmark."""
    client: str = "gmqtt"
    """The MQTT client: the bureaus' transport (secure, paced), or the raw clients' library."""
    verifiers: int = 0
    """Helper processes verifying signatures for the bureaus (secure): see bureaus.verifier."""


def _roster(size: int) -> Roster:
    return synthetic_roster(size) if size else default_roster()


def _network(
    pki_dir: Path,
    target: BrokerTarget,
    size: int = 0,
    cluster: tuple[int, ...] = (),
    client: MqttClient = "gmqtt",
    verifiers: int = 0,
) -> Network:
    roster = _roster(size)
    loaded = load_pki(pki_dir, roster, datetime.now(UTC))
    assert loaded.authority is not None
    pki = Pki(loaded.authority, loaded.identities, loaded.trust)
    nodes = tuple(BrokerTarget("127.0.0.1", port, kind="nats") for port in cluster)
    ctx = NetworkContext(
        roster,
        "mesh",
        nodes[0] if nodes else target,
        LinkModel(roster, enabled=False),
        cluster=nodes,
        client=client,
        verify_processes=verifiers,
    )
    network = Network(ctx, pki, outbox_limit=1_000_000)
    for bureau in network.bureaus.values():
        bureau.acknowledge = False
        bureau.resend_after = 0  # nobody acknowledges: keeping messages to resend is waste
    return network


def _peak_rss_mb() -> float:
    """This process's peak resident memory so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _pairs(
    rng: random.Random,
    mine: list[str],
    ids: list[str],
    deadline: float,
    window: int,
    sent: Any,
    delivered: Any,
) -> AsyncIterator[tuple[str, str]]:
    """Random (sender from this shard, recipient from anywhere) pairs until the deadline, each
    counted as sent once the global number in flight is under the window."""
    while time.perf_counter() < deadline:
        while sent.value - delivered.value >= window:
            await asyncio.sleep(0.0005)
        sender, recipient = rng.choice(mine), rng.choice(ids)
        if recipient == sender:
            continue
        with sent.get_lock():
            sent.value += 1
        yield sender, recipient


def _time_the_codec() -> list[float]:
    """Add up, from now on, the time spent sealing and opening in this process (one cell)."""
    total = [0.0]
    clock = time.perf_counter

    def timed(method: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = clock()
            try:
                return method(*args, **kwargs)
            finally:
                total[0] += clock() - start

        return wrapper

    EnvelopeCodec.seal_at = timed(EnvelopeCodec.seal_at)  # type: ignore[method-assign]
    EnvelopeCodec.receive_at = timed(EnvelopeCodec.receive_at)  # type: ignore[method-assign]
    return total


async def _secure(job: Job, barrier: Any, sent: Any, delivered: Any) -> dict[str, float]:
    client_kind: MqttClient = "aiomqtt" if job.client == "aiomqtt" else "gmqtt"
    network = _network(
        Path(job.pki_dir),
        BrokerTarget(job.host, job.port),
        client=client_kind,
        verifiers=job.verifiers,
    )
    ids = [b.id for b in network.ctx.roster]
    mine = ids[job.index :: job.workers]
    certificates = [i.certificate for i in network.pki.identities.values()]
    for bureau in mine:
        network[bureau].codec.warm(certificates)
    await network.start(mine)
    counted = 0
    size = 0

    def listen(event: Event) -> None:
        nonlocal counted, size
        if event.kind == "delivered":
            counted += 1
            with delivered.get_lock():
                delivered.value += 1
        elif event.kind == "sent":
            size = event.size or 0

    network.ctx.events.listeners.append(listen)
    codec_s = _time_the_codec()
    await asyncio.to_thread(barrier.wait)
    codec_s[0] = 0.0
    rng = random.Random(job.index)
    helpers = network.ctx.verifier.pids() if network.ctx.verifier is not None else []
    helpers0 = sum(cpu_seconds(pid) for pid in helpers)
    cpu0, start = cpu_seconds(), time.perf_counter()
    deadline = start + job.seconds
    n = 0
    async for sender, recipient in _pairs(rng, mine, ids, deadline, job.window, sent, delivered):
        # sealed by a helper when there is one (Bureau.post), else here
        network[sender].post(case_message(sender, recipient, datetime.now(UTC)))
        n += 1
        if n % 50 == 0:
            await asyncio.sleep(0)
    figures = {
        "delivered": float(counted),
        "cpu_s": cpu_seconds() - cpu0,
        "helper_cpu_s": sum(cpu_seconds(pid) for pid in helpers) - helpers0,
        "elapsed_s": time.perf_counter() - start,
        "envelope_bytes": float(size),
        "rss_mb": _peak_rss_mb(),
        "codec_s": codec_s[0],
    }
    if network.ctx.verifier is not None:
        figures["helper_batches"] = float(network.ctx.verifier.counts["batches"])
        figures["helper_verified"] = float(network.ctx.verifier.counts["verified"])
    network.ctx.events.listeners.remove(listen)
    await network.stop()
    return figures


async def _raw(job: Job, barrier: Any, sent: Any, delivered: Any) -> dict[str, float]:
    if job.client == "gmqtt":
        return await _raw_gmqtt(job, barrier, sent, delivered)
    network = _network(Path(job.pki_dir), BrokerTarget(job.host, job.port))
    target = BrokerTarget(job.host, job.port)
    ids = [b.id for b in network.ctx.roster]
    mine = ids[job.index :: job.workers]
    clients = {
        b: client(
            target, client_id=b, username=b, password=network.passwords[b], clean_session=True
        )
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
    async for sender, recipient in _pairs(rng, mine, ids, deadline, job.window, sent, delivered):
        task = asyncio.create_task(clients[sender].publish(topics.inbox(recipient), payload, qos=1))
        pending.add(task)
        task.add_done_callback(pending.discard)
    figures = {
        "delivered": float(counted),
        "cpu_s": cpu_seconds() - cpu0,
        "elapsed_s": time.perf_counter() - start,
        "rss_mb": _peak_rss_mb(),
    }
    for task in readers:
        task.cancel()
    for mqtt in clients.values():
        with contextlib.suppress(Exception):  # closing down a benchmark
            await mqtt.__aexit__(None, None, None)
    return figures


async def _raw_gmqtt(job: Job, barrier: Any, sent: Any, delivered: Any) -> dict[str, float]:
    """The raw baseline through gmqtt itself: no transport wrapper, no protocol, no crypto."""
    network = _network(Path(job.pki_dir), BrokerTarget(job.host, job.port))
    ids = [b.id for b in network.ctx.roster]
    mine = ids[job.index :: job.workers]
    counted = 0

    def on_message(_client: Any, _topic: str, _payload: bytes, _qos: int, _props: Any) -> int:
        nonlocal counted
        counted += 1
        with delivered.get_lock():
            delivered.value += 1
        return 0

    clients: dict[str, Any] = {}
    for bureau in mine:
        mqtt = gmqtt.Client(bureau, clean_session=True)
        mqtt.set_auth_credentials(bureau, network.passwords[bureau])
        mqtt.on_message = on_message
        await mqtt.connect(job.host, job.port, version=MQTTv311)
        mqtt.subscribe(topics.inbox(bureau), qos=1)
        clients[bureau] = mqtt
    await asyncio.sleep(0.5)  # the SUBACKs
    await asyncio.to_thread(barrier.wait)
    payload = b"x" * job.payload
    rng = random.Random(job.index)
    cpu0, start = cpu_seconds(), time.perf_counter()
    deadline = start + job.seconds
    async for sender, recipient in _pairs(rng, mine, ids, deadline, job.window, sent, delivered):
        clients[sender].publish(topics.inbox(recipient), payload, qos=1)
        await asyncio.sleep(0)
    figures = {
        "delivered": float(counted),
        "cpu_s": cpu_seconds() - cpu0,
        "elapsed_s": time.perf_counter() - start,
        "rss_mb": _peak_rss_mb(),
    }
    for mqtt in clients.values():
        with contextlib.suppress(Exception):  # closing down a benchmark
            await asyncio.wait_for(mqtt.disconnect(), 5)
    return figures


async def _paced(job: Job, barrier: Any, sent: Any, delivered: Any) -> dict[str, Any]:
    """Offer ``job.rate`` messages per second from this worker's bureaus; time every one."""
    network = _network(
        Path(job.pki_dir), BrokerTarget(job.host, job.port), job.roster_size, job.cluster
    )
    ids = [b.id for b in network.ctx.roster.ncbs()]
    mine = ids[job.index :: job.workers]
    started = time.perf_counter()
    await network.start(mine, timeout=600)
    startup_s = time.perf_counter() - started
    sent_at: dict[str, int] = {}
    arrived: dict[str, int] = {}

    def listen(event: Event) -> None:
        if event.kind == "delivered" and event.message_id:
            arrived[event.message_id] = event.t_ns
            with delivered.get_lock():
                delivered.value += 1

    network.ctx.events.listeners.append(listen)
    codec_s = _time_the_codec()
    await asyncio.to_thread(barrier.wait)
    codec_s[0] = 0.0
    rng = random.Random(job.index)
    cpu0, start = cpu_seconds(), time.perf_counter_ns()
    total = int(job.rate * job.seconds)
    for n in range(total):
        intended = start + int(n * 1e9 / job.rate)
        wait = (intended - time.perf_counter_ns()) / 1e9
        if wait > 0.0005:
            await asyncio.sleep(wait)
        sender = rng.choice(mine)
        recipient = rng.choice(ids)
        if recipient == sender:
            continue
        mid = uuid4()
        sent_at[str(mid)] = time.time_ns() - (time.perf_counter_ns() - intended)
        with sent.get_lock():
            sent.value += 1
        network[sender].submit(
            CaseMessage.model_validate(
                {
                    "message_id": mid,
                    "sender": sender,
                    "recipients": {"scope": "bureaus", "bureaus": [recipient]},
                    "created_at": datetime.now(UTC),
                    "case_reference": "SCALE/1",
                    "subject": "scale",
                    "body": BODY,
                },
                context={"roster": network.ctx.roster},  # the synthetic bureaus are known here
            )
        )
        if n % 20 == 0:
            await asyncio.sleep(0)
    elapsed = (time.perf_counter_ns() - start) / 1e9
    await asyncio.sleep(min(30.0, max(3.0, job.seconds / 2)))  # stragglers, from other workers
    counters: Counter[str] = Counter()
    for bureau in mine:
        counters.update(network[bureau].counters)
    figures = {
        "sent_at": sent_at,
        "arrived": dict(arrived),
        "cpu_s": cpu_seconds() - cpu0,
        "elapsed_s": elapsed,
        "rss_mb": _peak_rss_mb(),
        "startup_s": startup_s,
        "bureaus": float(len(mine)),
        # never acknowledged by the broker (a loss before the broker, not in it)
        "unpublished": [m for b in mine for m in network[b].core.queued_ids()],
        "counters": {
            k: counters[k]
            for k in ("subscribe_refused", "disconnects", "node_moves", "publish_retries")
        },
    }
    network.ctx.events.listeners.remove(listen)
    await network.stop()
    return figures


_KINDS: dict[str, Callable[[Job, Any, Any, Any], Coroutine[Any, Any, dict[str, Any]]]] = {
    "secure": _secure,
    "raw": _raw,
    "paced": _paced,
}


def _worker(kind: str, job: Job, barrier: Any, sent: Any, delivered: Any, out: Any) -> None:
    out.put(asyncio.run(_KINDS[kind](job, barrier, sent, delivered)))


def _collect(out: Any, processes: list[Any], timeout: float) -> list[dict[str, Any]]:
    """Every worker's result; fails at once when a worker died instead of answering."""
    results: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(results) < len(processes):
        try:
            results.append(out.get(timeout=1))
        except queue.Empty:
            dead = [p.name for p in processes if p.exitcode not in (None, 0)]
            if dead or time.monotonic() > deadline:
                raise SystemExit(
                    f"benchmark workers failed: {', '.join(dead) or 'timeout'}"
                ) from None
    return results


def run_paced(
    workers: int, seconds: float, rate: float, *, roster_size: int, broker: str
) -> list[dict[str, Any]]:
    """The scale run: ``rate`` msg/s in total over ``workers`` processes; each worker's raw
    figures (send and arrival times by message id, CPU, memory, start-up time)."""
    context = multiprocessing.get_context("spawn")
    roster = _roster(roster_size)
    with tempfile.TemporaryDirectory(prefix="bureaunet-scale-") as tmp:
        pki_dir = Path(tmp) / "pki"
        init_pki(pki_dir, roster, datetime.now(UTC) - timedelta(minutes=5))
        with contextlib.ExitStack() as stack:
            if broker.startswith("nats"):
                replicas = 1 if broker == "nats-r1" else None
                security = _network(pki_dir, BrokerTarget("127.0.0.1", 0), roster_size).security()
                cluster = stack.enter_context(
                    NatsCluster(3, consumer_replicas=replicas, security=security)
                )
                ports, host, port = tuple(t.port for t in cluster.targets), "127.0.0.1", 0
            else:
                security = _network(pki_dir, BrokerTarget("127.0.0.1", 0), roster_size).security()
                mosquitto = stack.enter_context(
                    EmbeddedBroker(kind="mosquitto", security=security, persistence=False)
                )
                ports, host, port = (), mosquitto.host, mosquitto.port
            barrier = context.Barrier(workers + 1)
            sent, delivered = context.Value("q", 0), context.Value("q", 0)
            out = context.Queue()
            processes = [
                context.Process(
                    target=_worker,
                    args=(
                        "paced",
                        Job(
                            i,
                            workers,
                            str(pki_dir),
                            host,
                            port,
                            seconds,
                            0,
                            0,
                            roster_size,
                            ports,
                            rate / workers,
                        ),
                        barrier,
                        sent,
                        delivered,
                        out,
                    ),
                    name=f"bench-scale-{i}",
                )
                for i in range(workers)
            ]
            for process in processes:
                process.start()
            barrier.wait(timeout=900)
            results = _collect(out, processes, seconds + 900)
            for process in processes:
                process.join(timeout=60)
    return results


def run_sharded(
    kind: str,
    workers: int,
    seconds: float,
    window: int,
    payload: int = 0,
    client: str = "gmqtt",
    verifiers: int = 0,
) -> dict[str, float]:
    """Run one side (``secure`` or ``raw``) over ``workers`` processes; the summed figures.

    ``verifiers``: helper processes per worker that verify signatures (secure side).
    """
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
                    args=(
                        kind,
                        Job(
                            i,
                            workers,
                            str(pki_dir),
                            broker.host,
                            broker.port,
                            seconds,
                            window,
                            payload,
                            client=client,
                            verifiers=verifiers,
                        ),
                        barrier,
                        sent,
                        delivered,
                        out,
                    ),
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
        "helper_cpu_s_per_s": sum(r.get("helper_cpu_s", 0.0) for r in results) / elapsed,
        "helper_verified_share": sum(r.get("helper_verified", 0.0) for r in results)
        / max(sum(r["delivered"] for r in results), 1.0),
        "helper_batch_size": sum(r.get("helper_verified", 0.0) for r in results)
        / max(sum(r.get("helper_batches", 0.0) for r in results), 1.0),
        "broker_cpu_s_per_s": broker_cpu / wall,
        "workers": float(workers),
        "peak_rss_mb_all_workers": sum(r["rss_mb"] for r in results),
        "envelope_bytes": max(r.get("envelope_bytes", 0.0) for r in results),
        "codec_cpu_share": sum(r.get("codec_s", 0.0) for r in results)
        / max(sum(r["cpu_s"] for r in results), 1e-9),
    }
