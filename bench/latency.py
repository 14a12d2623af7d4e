"""End-to-end latency at fixed offered rates, bureaunet against raw MQTT in the same run.

Run: python bench/latency.py [--rates 250,2500] [--seconds 5]

The world of bench/throughput.py (209 bureaus, secured Mosquitto on loopback, no modelled WAN
delay, acknowledgements off). Messages of about 1 KiB between random bureaus at a fixed offered
rate; latency is measured from each message's *intended* send time, so a sender that falls
behind cannot hide its delay (no coordinated omission). Percentiles from an HDR histogram.

Goals (issue: performance): at 250 msg/s bureaunet's p99 at most 0.5 ms above raw's p99; at
2,500 msg/s at most 2 ms above.
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

from _shards import case_message
from _world import world
from hdrh.histogram import HdrHistogram

from broker import BrokerTarget, client
from bureaus import Event
from protocol import topics


def percentiles(values_us: list[int]) -> dict[str, float]:
    h = HdrHistogram(1, 600_000_000, 3)
    for v in values_us:
        h.record_value(max(1, v))
    return {
        "p50": h.get_value_at_percentile(50) / 1000,
        "p99": h.get_value_at_percentile(99) / 1000,
        "p999": h.get_value_at_percentile(99.9) / 1000,
        "max": h.get_max_value() / 1000,
        "count": float(len(values_us)),
    }


async def paced(rate: float, seconds: float, send: object) -> None:
    start = time.perf_counter_ns()
    total = int(rate * seconds)
    for n in range(total):
        intended = start + int(n * 1e9 / rate)
        wait = (intended - time.perf_counter_ns()) / 1e9
        if wait > 0.0005:
            await asyncio.sleep(wait)
        send(n, intended)  # type: ignore[operator]
        if n % 20 == 0:
            await asyncio.sleep(0)


async def secure(rate: float, seconds: float) -> dict[str, float]:
    async with world() as (network, _broker):
        ids = [b.id for b in network.ctx.roster]
        rng = random.Random(2)
        intended: dict[str, int] = {}
        latencies: list[int] = []

        def listen(event: Event) -> None:
            if event.kind == "delivered" and event.message_id in intended:
                latencies.append((time.perf_counter_ns() - intended[event.message_id]) // 1000)

        network.ctx.events.listeners.append(listen)

        def send(_n: int, at_ns: int) -> None:
            sender, recipient = rng.sample(ids, 2)
            mid = uuid4()
            intended[str(mid)] = at_ns
            network[sender].submit(
                case_message(
                    sender, recipient, datetime.now(UTC), message_id=mid, case_reference="BENCH/2"
                )
            )

        await paced(rate, seconds, send)
        await network.settle(quiet_s=0.5, timeout=120)
    return percentiles(latencies)


async def raw(rate: float, seconds: float, size: int) -> dict[str, float]:
    async with world(warm=False) as (network, broker):
        await network.stop()
        target = BrokerTarget(broker.host, broker.port)
        ids = [b.id for b in network.ctx.roster]
        clients = {
            b: client(
                target, client_id=b, username=b, password=network.passwords[b], clean_session=True
            )
            for b in ids
        }
        for mqtt in clients.values():
            await mqtt.__aenter__()
        for bureau, mqtt in clients.items():
            await mqtt.subscribe(topics.inbox(bureau), qos=1)
        intended: dict[int, int] = {}
        latencies: list[int] = []

        async def reader(mqtt: object) -> None:
            async for message in mqtt.messages:  # type: ignore[attr-defined]
                n = int(bytes(message.payload[:12]).decode())
                latencies.append((time.perf_counter_ns() - intended[n]) // 1000)

        readers = [asyncio.create_task(reader(m)) for m in clients.values()]
        rng = random.Random(2)
        tasks: set[asyncio.Task[None]] = set()

        def send(n: int, at_ns: int) -> None:
            sender, recipient = rng.sample(ids, 2)
            intended[n] = at_ns
            payload = f"{n:012d}".encode() + b"x" * (size - 12)
            task = asyncio.create_task(
                clients[sender].publish(topics.inbox(recipient), payload, qos=1)
            )
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        await paced(rate, seconds, send)
        deadline = time.monotonic() + 60
        while len(latencies) < len(intended) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        for task in readers:
            task.cancel()
        for mqtt in clients.values():
            with contextlib.suppress(Exception):
                await mqtt.__aexit__(None, None, None)
    return percentiles(latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", default="250,2500")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    rows = []
    for rate in (float(r) for r in args.rates.split(",")):
        ours = asyncio.run(secure(rate, args.seconds))
        base = asyncio.run(raw(rate, args.seconds, 1727))
        rows.append((rate, ours, base))
        for side, figures in (("bureaunet", ours), ("raw", base)):
            print(
                json.dumps(
                    {
                        "bench": "latency",
                        "rate": rate,
                        "side": side,
                        **{k: round(v, 3) for k, v in figures.items()},
                    }
                )
            )
    print()
    print(f"{'rate/s':>7} {'side':10} {'p50 ms':>8} {'p99 ms':>8} {'p99.9 ms':>9} {'max ms':>8}")
    for rate, ours, base in rows:
        for side, f in (("bureaunet", ours), ("raw", base)):
            print(
                f"{rate:7.0f} {side:10} {f['p50']:8.2f} {f['p99']:8.2f} {f['p999']:9.2f} "
                f"{f['max']:8.2f}"
            )
        print(
            f"{'':7} p99 difference {ours['p99'] - base['p99']:.2f} ms "
            f"(goal: at most {0.5 if rate <= 250 else 2.0} ms)"
        )


if __name__ == "__main__":
    main()
