"""Secure messages per second through the whole path, against raw MQTT in the same run.

Run: python bench/throughput.py [--seconds 10] [--window 400]

The world: the full roster (209 bureaus, one MQTT connection each) on a secured Mosquitto on
loopback, no modelled WAN delay, acknowledgements off. Random bureau-to-bureau case messages of
about 1 KiB (wire JSON) at QoS 1, offered as fast as the system accepts, with at most --window
messages in flight. A message counts once its recipient has verified, decrypted and validated it.
Baseline, in the same run against the same broker: 209 plain aiomqtt clients exchanging bytes of
the same size with the same window, without protocol or crypto.

Goal (issue: performance): at least 5,000 delivered secure messages per second, and at least
0.5 times the raw baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import time
from datetime import UTC, datetime
from uuid import uuid4

from _world import cpu_seconds, world

from broker import BrokerTarget, client
from bureaus import Event
from protocol import CaseMessage, ToBureaus, topics

BODY = "Routine case exchange. " * 44  # about 1 KiB of wire JSON with the header fields


async def secure(seconds: float, window: int) -> dict[str, float]:
    async with world() as (network, broker):
        ids = [b.id for b in network.ctx.roster]
        rng = random.Random(1)
        inflight = asyncio.Semaphore(window)
        delivered = 0
        size = 0

        def listen(event: Event) -> None:
            nonlocal delivered
            if event.kind == "delivered":
                delivered += 1
                inflight.release()

        network.ctx.events.listeners.append(listen)
        cpu0, broker0 = cpu_seconds(), cpu_seconds(broker.pid)
        start = time.perf_counter()
        deadline = start + seconds
        sent = 0
        while time.perf_counter() < deadline:
            await inflight.acquire()
            sender, recipient = rng.sample(ids, 2)
            message = CaseMessage(
                message_id=uuid4(), sender=sender, recipients=ToBureaus(bureaus=(recipient,)),
                created_at=datetime.now(UTC), case_reference="BENCH/1", subject="bench",
                body=BODY)
            envelope = network[sender].submit(message)
            size = len(envelope)
            sent += 1
            if sent % 50 == 0:
                await asyncio.sleep(0)
        counted = delivered
        elapsed = time.perf_counter() - start
        cpu, broker_cpu = cpu_seconds() - cpu0, cpu_seconds(broker.pid) - broker0
        network.ctx.events.listeners.remove(listen)
    return {"secure_msgs_per_s": counted / elapsed, "secure_envelope_bytes": float(size),
            "secure_process_cpu_s_per_s": cpu / elapsed, "secure_broker_cpu_s_per_s":
            broker_cpu / elapsed}


async def raw(seconds: float, window: int, payload_size: int) -> dict[str, float]:
    async with world() as (network, broker):
        await network.stop()  # the same broker and credentials, but plain clients instead
        target = BrokerTarget(broker.host, broker.port)
        ids = [b.id for b in network.ctx.roster]
        inflight = asyncio.Semaphore(window)
        received = 0
        clients = {
            b: client(target, client_id=f"{b}", username=b, password=network.passwords[b],
                      clean_session=True)
            for b in ids
        }
        for mqtt in clients.values():
            await mqtt.__aenter__()
        for bureau, mqtt in clients.items():
            await mqtt.subscribe(topics.inbox(bureau), qos=1)

        async def reader(mqtt: object) -> None:
            nonlocal received
            async for _ in mqtt.messages:  # type: ignore[attr-defined]
                received += 1
                inflight.release()

        readers = [asyncio.create_task(reader(m)) for m in clients.values()]
        payload = b"x" * payload_size
        rng = random.Random(1)
        pending: set[asyncio.Task[None]] = set()
        cpu0, broker0 = cpu_seconds(), cpu_seconds(broker.pid)
        start = time.perf_counter()
        deadline = start + seconds
        while time.perf_counter() < deadline:
            await inflight.acquire()
            sender, recipient = rng.sample(ids, 2)
            task = asyncio.create_task(
                clients[sender].publish(topics.inbox(recipient), payload, qos=1))
            pending.add(task)
            task.add_done_callback(pending.discard)
        counted = received
        elapsed = time.perf_counter() - start
        cpu, broker_cpu = cpu_seconds() - cpu0, cpu_seconds(broker.pid) - broker0
        for task in readers:
            task.cancel()
        for mqtt in clients.values():
            with contextlib.suppress(Exception):  # closing down a benchmark
                await mqtt.__aexit__(None, None, None)
    return {"raw_msgs_per_s": counted / elapsed, "raw_process_cpu_s_per_s": cpu / elapsed,
            "raw_broker_cpu_s_per_s": broker_cpu / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--window", type=int, default=400)
    args = parser.parse_args()
    figures = asyncio.run(secure(args.seconds, args.window))
    figures |= asyncio.run(raw(args.seconds, args.window, int(figures["secure_envelope_bytes"])))
    figures["ratio_secure_to_raw"] = figures["secure_msgs_per_s"] / figures["raw_msgs_per_s"]
    for name, value in figures.items():
        print(json.dumps({"bench": "throughput", "figure": name, "value": round(value, 3)}))
    print()
    print(f"{'':28} {'msg/s':>10} {'client CPU':>11} {'broker CPU':>11}")
    for label, key in (("bureaunet (secure)", "secure"), ("raw aiomqtt, same bytes", "raw")):
        print(f"{label:28} {figures[f'{key}_msgs_per_s']:10,.0f} "
              f"{figures[f'{key}_process_cpu_s_per_s']:10.2f}c "
              f"{figures[f'{key}_broker_cpu_s_per_s']:10.2f}c")
    print(f"ratio {figures['ratio_secure_to_raw']:.2f} (goals: 5,000 msg/s and 0.5x raw); "
          f"envelope {figures['secure_envelope_bytes']:.0f} bytes")


if __name__ == "__main__":
    main()
