"""One member floods the hub: how long the other members' messages through the hub take.

Run: python bench/hub_fairness.py [--rate 300] [--flood-factor 4] [--seconds 8]

The hub topology on a secured Mosquitto on loopback, eleven bureaus. Six members exchange
diffusions through the General Secretariat's hub at ``--rate`` messages per second in all;
meanwhile KE publishes valid envelopes for DE at ``--flood-factor`` times that rate, straight
onto the hub's inbox (sealed beforehand: an attacker does not queue behind its own bureau's
admission control). The other members' end-to-end latency is measured from each message's send
time to its delivery (HDR percentiles), twice in one run: the hub serving what it receives in
arrival order (before), and in one lane per sender served in turn (after), with a run without
the flood as the floor. Ratios count; the machines of this kind differ by 2x.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from datetime import UTC, datetime
from uuid import uuid4

from _world import world
from hdrh.histogram import HdrHistogram

from bureaus import Bureau
from protocol import Diffusion, ToBureaus, default_roster, topics

PAIRS = ["FR", "BE", "IT", "ES", "NL", "PT"]
ROSTER = default_roster().subset(["gs", "KE", "DE", *PAIRS, "NG", "ZA"])


def message(sender: str, to: str, text: str) -> Diffusion:
    return Diffusion(
        message_id=uuid4(),
        sender=sender,
        recipients=ToBureaus(bureaus=(to,)),
        created_at=datetime.now(UTC),
        diffusion_type="information",
        text=text,
    )


async def paced(rate: float, seconds: float, act: object) -> None:
    start = time.perf_counter()
    total = int(rate * seconds)
    for n in range(total):
        wait = start + n / rate - time.perf_counter()
        if wait > 0.0005:
            await asyncio.sleep(wait)
        act(n)  # type: ignore[operator]
        if n % 10 == 0:
            await asyncio.sleep(0)


async def one_run(fair: bool, rate: float, factor: float, seconds: float) -> dict[str, float]:
    Bureau.fair_share = fair
    try:
        async with world(ROSTER, acknowledge=False, topology="hub") as (net, _broker):
            rng = random.Random(7)
            flood_count = int(rate * factor * seconds)
            now = datetime.now(UTC)
            ke = net["KE"].codec
            flood = [
                ke.seal_at(message("KE", "DE", f"flood {n}"), now, to=["DE"])
                for n in range(flood_count)
            ]
            mine = set()

            def legit(n: int) -> None:
                sender, to = rng.sample(PAIRS, 2)
                m = message(sender, to, f"pair {n}")
                mine.add(str(m.message_id))
                net[sender].submit(m)

            async def flood_all() -> None:
                transport = net["KE"]

                def one(n: int) -> None:
                    asyncio.get_running_loop().create_task(
                        transport.publish_raw(topics.inbox("gs"), flood[n])
                    )

                await paced(rate * factor, seconds, one)

            started = time.perf_counter()
            await asyncio.gather(paced(rate, seconds, legit), flood_all())
            await net.settle(quiet_s=1.0, timeout=120)
            wall = time.perf_counter() - started
            histogram = HdrHistogram(1, 600_000_000, 3)
            delivered = 0
            for event in net.ctx.events.of("delivered"):
                if event.message_id in mine and event.latency_ms is not None:
                    histogram.record_value(max(1, int(event.latency_ms * 1000)))
                    delivered += 1
            flood_in = len(
                [e for e in net.ctx.events.of("delivered", bureau="DE") if e.peer == "KE"]
            )
            refused = net["gs"].counters["rejected:fair_share"]
            return {
                "others_sent": float(len(mine)),
                "others_delivered": float(delivered),
                "p50_ms": histogram.get_value_at_percentile(50) / 1000,
                "p99_ms": histogram.get_value_at_percentile(99) / 1000,
                "max_ms": histogram.get_max_value() / 1000,
                "flood_sent": float(flood_count),
                "flood_delivered": float(flood_in),
                "flood_refused_at_hub": float(refused),
                "wall_s": wall,
            }
    finally:
        Bureau.fair_share = True


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=300.0, help="the members' total rate")
    parser.add_argument("--flood-factor", type=float, default=4.0)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    quiet = await one_run(True, args.rate, 0.0, args.seconds)
    before = await one_run(False, args.rate, args.flood_factor, args.seconds)
    after = await one_run(True, args.rate, args.flood_factor, args.seconds)
    print(json.dumps({"no_flood": quiet, "arrival_order": before, "fair_lanes": after}, indent=1))
    print(
        f"others' p99 through the hub: {quiet['p99_ms']:.1f} ms without a flood; under the "
        f"flood {before['p99_ms']:.1f} ms in arrival order, "
        f"{after['p99_ms']:.1f} ms with a lane per sender "
        f"(ratio {before['p99_ms'] / max(after['p99_ms'], 0.001):.1f}x); "
        f"flood {args.rate * args.flood_factor:.0f} msg/s against {args.rate:.0f} msg/s"
    )


if __name__ == "__main__":
    asyncio.run(main())
