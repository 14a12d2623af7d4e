"""A Red notice from the General Secretariat to all 195 NCBs: time to seal, and until the last NCB
has verified and decrypted it.

Run: python bench/fanout.py [--repeat 5]

Measured twice in the same run: the General Secretariat publishing once on the broadcast topic
(the default when every link is the same), and inbox by inbox (195 publications), as with a
link model or on a cluster.

Goal (issue: performance): all 195 NCBs hold a verified notice within 50 ms of the GS starting to
seal it. Medians over --repeat publications, one at a time, on the full roster with no modelled
WAN delay (loopback only) and acknowledgements off (they would compete for the same core).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from datetime import UTC, datetime
from uuid import uuid4

from _world import world

from bureaus import Event
from protocol import ArrestWarrant, NoticePublished, RedNotice, ToAll


async def main_async(repeat: int, broadcast: bool) -> dict[str, float]:
    seal_ms, last_ms, first_ms = [], [], []
    async with world(broadcast=broadcast) as (network, _broker):
        gs = network["gs"]
        ncbs = {b.id for b in network.ctx.roster.ncbs()}
        for _ in range(repeat + 1):  # the first publication warms the caches; not counted
            mid = uuid4()
            arrived: dict[str, int] = {}
            done = asyncio.Event()

            def listen(
                event: Event,
                mid: str = str(mid),
                arrived: dict[str, int] = arrived,
                done: asyncio.Event = done,
            ) -> None:
                if event.kind == "delivered" and event.message_id == mid:
                    arrived[event.bureau] = time.perf_counter_ns()
                    if len(arrived) == len(ncbs):
                        done.set()

            network.ctx.events.listeners.append(listen)
            notice = NoticePublished(
                message_id=mid,
                sender="gs",
                recipients=ToAll(),
                created_at=datetime.now(UTC),
                priority="urgent",
                notice=RedNotice(
                    entity_id="2026/00001",
                    name="EXEMPLE",
                    arrest_warrants=(
                        ArrestWarrant(issuing_country_id="FR", charge="Organised fraud"),
                    ),
                ),
            )
            start = time.perf_counter_ns()
            envelope = gs.codec.seal_at(notice, datetime.now(UTC), to=sorted(ncbs))
            sealed = time.perf_counter_ns()
            del envelope
            gs.submit(notice)
            await asyncio.wait_for(done.wait(), timeout=60)
            network.ctx.events.listeners.remove(listen)
            seal_ms.append((sealed - start) / 1e6)
            first_ms.append((min(arrived.values()) - start) / 1e6)
            last_ms.append((max(arrived.values()) - start) / 1e6)
            await asyncio.sleep(0.3)
    return {
        "seal_195_ms": statistics.median(seal_ms[1:]),
        "first_ncb_verified_ms": statistics.median(first_ms[1:]),
        "last_ncb_verified_ms": statistics.median(last_ms[1:]),
        "last_ncb_verified_ms_worst": max(last_ms[1:]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    runs = {
        "broadcast": asyncio.run(main_async(args.repeat, broadcast=True)),
        "inbox by inbox": asyncio.run(main_async(args.repeat, broadcast=False)),
    }
    for mode, figures in runs.items():
        for name, value in figures.items():
            print(
                json.dumps(
                    {"bench": "fanout", "mode": mode, "figure": name, "value": round(value, 2)}
                )
            )
    print()
    for mode, figures in runs.items():
        print(
            f"{mode:15} seal for 195 NCBs {figures['seal_195_ms']:.2f} ms; first NCB verified "
            f"after {figures['first_ncb_verified_ms']:.1f} ms; last after "
            f"{figures['last_ncb_verified_ms']:.1f} ms "
            f"(worst {figures['last_ncb_verified_ms_worst']:.1f})"
        )
    ratio = (
        runs["inbox by inbox"]["last_ncb_verified_ms"] / runs["broadcast"]["last_ncb_verified_ms"]
    )
    print(f"broadcast is {ratio:.2f}x faster to the last NCB (goal: 50 ms)")


if __name__ == "__main__":
    main()
