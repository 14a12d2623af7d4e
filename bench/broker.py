"""What the zero-setup default costs: QoS 1 publish/subscribe throughput of each embedded broker.

Run: python bench/broker.py [--messages 20000] [--pairs 4]

For each broker (Mosquitto open, Mosquitto secured with the roster's credentials and ACLs, amqtt
secured), ``--pairs`` publisher/subscriber pairs of aiomqtt clients exchange 1 KiB messages at
QoS 1 as fast as they go; the figure is messages delivered per second (first publish to last
delivery). Everything runs in this process and the broker's; ratios are against Mosquitto open.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from broker import (
    BrokerSecurity,
    BrokerTarget,
    EmbeddedBroker,
    bureau_password,
    client,
    find_mosquitto,
    topic_rules,
)
from bureaus.samples import throwaway_world as world
from protocol import default_roster, topics

PAYLOAD = b"x" * 1024


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def pair_run(
    target: BrokerTarget, passwords: dict[str, str] | None, sender: str, receiver: str, count: int
) -> tuple[float, float, int]:
    def creds(bureau: str) -> dict[str, str | None]:
        return {
            "username": bureau if passwords else None,
            "password": passwords[bureau] if passwords else None,
        }

    done = asyncio.Event()
    got = 0
    async with (
        client(target, client_id=receiver, clean_session=True, **creds(receiver)) as sub,
        client(target, client_id=sender, clean_session=True, **creds(sender)) as pub,
    ):
        await sub.subscribe(topics.inbox(receiver), qos=1)

        async def reader() -> None:
            nonlocal got
            async for _ in sub.messages:
                got += 1
                if got == count:
                    done.set()
                    return

        task = asyncio.create_task(reader())
        start = time.perf_counter()
        for _ in range(count):
            await pub.publish(topics.inbox(receiver), PAYLOAD, qos=1)
        try:
            await asyncio.wait_for(done.wait(), timeout=120)
        finally:
            task.cancel()
        end = time.perf_counter()
    return start, end, got


async def measure(
    broker: EmbeddedBroker,
    passwords: dict[str, str] | None,
    count: int,
    pairs: list[tuple[str, str]],
) -> float:
    target = BrokerTarget(broker.host, broker.port, kind=broker.kind, version=broker.version)
    results = await asyncio.gather(*(pair_run(target, passwords, s, r, count) for s, r in pairs))
    start = min(r[0] for r in results)
    end = max(r[1] for r in results)
    delivered = sum(r[2] for r in results)
    return delivered / (end - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=20_000, help="per pair, for Mosquitto")
    parser.add_argument("--pairs", type=int, default=4)
    args = parser.parse_args()
    ids = ["FR", "DE", "KE", "BR", "JP", "US", "IN", "ZA"][: args.pairs * 2]
    pairs = list(zip(ids[0::2], ids[1::2], strict=True))
    roster = default_roster()
    security = BrokerSecurity(
        passwords={b.id: bureau_password(world().identities[b.id]) for b in roster},
        rules=topic_rules(roster),
    )
    passwords = dict(security.passwords)
    runs = []
    if find_mosquitto():
        runs += [
            ("mosquitto open", "mosquitto", None, args.messages),
            ("mosquitto secured", "mosquitto", security, args.messages),
        ]
    runs.append(("amqtt secured", "amqtt", security, max(1000, args.messages // 4)))
    figures: dict[str, float] = {}
    cpu_per_msg: dict[str, float] = {}
    for label, kind, sec, count in runs:
        with EmbeddedBroker(kind=kind, security=sec, persistence=False) as broker:  # type: ignore[arg-type]
            cpu_before = cpu_seconds(broker.pid)
            rate = asyncio.run(measure(broker, passwords if sec else None, count, pairs))
            cpu = cpu_seconds(broker.pid) - cpu_before
            figures[label] = rate
            cpu_per_msg[label] = cpu / (count * len(pairs)) * 1e6
            print(
                json.dumps(
                    {
                        "bench": "broker",
                        "broker": label,
                        "version": broker.version,
                        "pairs": len(pairs),
                        "messages": count * len(pairs),
                        "msgs_per_s": round(rate),
                        "broker_cpu_us_per_msg": round(cpu_per_msg[label], 1),
                    }
                )
            )
    base = figures.get("mosquitto open")
    print()
    print(
        f"{'broker':20} {'msg/s (QoS 1, 1 KiB)':>22} {'vs mosquitto open':>18} "
        f"{'broker CPU µs/msg':>18}"
    )
    for label, rate in figures.items():
        ratio = f"{rate / base:.2f}x" if base else "-"
        print(f"{label:20} {rate:22,.0f} {ratio:>18} {cpu_per_msg[label]:18.1f}")


if __name__ == "__main__":
    main()
