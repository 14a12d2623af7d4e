"""What the bureau core and the simulation cost, against the cryptography they cannot avoid.

Run: python bench/simulation.py [--repeat 5]

Three figures, each the median of ``--repeat`` runs, with its baseline from the same run:

1. **Core round trip**: FR's core sends a diffusion to DE's core, which opens it and
   acknowledges; FR's core takes the acknowledgement. Against the baseline of the same two
   envelopes sealed and opened with the codec alone: the ratio is the core's own overhead.
2. **Simulation**: ``hub-outage`` (40 NCBs, 40 messages a second, the hub down for 15 s) for
   20 scenario seconds on the virtual clock: wall seconds, deliveries per wall second, and
   scenario seconds simulated per wall second.
3. **The simulation per delivery** against the core round trip per message (two envelopes,
   both of them): what the driver, the in-memory broker and the virtual clock add.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from uuid import uuid4

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bureaus.sandbox import EPOCH, at, cores, note
from protocol import ToBureaus, topics
from scenarios.cli import LIBRARY
from scenarios.model import load_scenario
from scenarios.runner import RunOptions, simulate


def core_round_trip(n: int) -> tuple[float, float]:
    """(µs per round trip through the cores, µs for the same envelopes with the codec alone)."""
    net = cores("mesh")
    fr, de = net["FR"], net["DE"]
    messages = [note("FR", "DE", "benchmark " * 40) for _ in range(n)]
    start = time.perf_counter()
    for k, message in enumerate(messages):
        now = at(1 + k * 1e-3)
        out = fr.submit(message, now)
        for send in out.sends:
            assert send.item is not None
            fr.published(send.item)
            answer = de.receive(send.topic, send.payload, now)
            for back in answer.sends:
                assert back.item is not None
                de.published(back.item)
                fr.receive(back.topic, back.payload, now)
    cores_us = (time.perf_counter() - start) / n * 1e6
    # baseline: the same work with the codec only (seal, open, seal the acknowledgement, open it)
    net = cores("mesh")
    fr_codec, de_codec = net["FR"].codec, net["DE"].codec
    acks = [
        m.model_copy(
            update={"message_id": uuid4(), "sender": "DE", "recipients": ToBureaus(bureaus=("FR",))}
        )
        for m in messages
    ]
    start = time.perf_counter()
    for message, ack in zip(messages, acks, strict=True):
        now = EPOCH
        envelope = fr_codec.seal_at(message, now)
        de_codec.open_at(envelope, now)
        back = de_codec.seal_at(ack, now)
        fr_codec.open_at(back, now)
    codec_us = (time.perf_counter() - start) / n * 1e6
    assert topics.inbox("DE")
    return cores_us, codec_us


def simulation() -> tuple[float, int, float]:
    """(wall seconds, deliveries, scenario seconds) of hub-outage for 20 s on the virtual clock."""
    scenario = load_scenario(LIBRARY / "hub-outage.yaml")
    start = time.perf_counter()
    result = simulate(scenario, RunOptions(duration=20))
    wall = time.perf_counter() - start
    delivered = sum(1 for e in result.events if e.kind == "delivered")
    span = max(e.t_s for e in result.events)
    return wall, delivered, span


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    trips = [core_round_trip(300) for _ in range(args.repeat)]
    cores_us = statistics.median(t[0] for t in trips)
    codec_us = statistics.median(t[1] for t in trips)
    runs = [simulation() for _ in range(max(1, args.repeat // 2))]
    wall = statistics.median(r[0] for r in runs)
    delivered, span = runs[0][1], runs[0][2]
    per_delivery_us = wall / delivered * 1e6
    figures = {
        "core_round_trip_us": round(cores_us, 1),
        "codec_only_us": round(codec_us, 1),
        "core_vs_codec": round(cores_us / codec_us, 2),
        "simulation_wall_s": round(wall, 2),
        "simulation_deliveries": delivered,
        "deliveries_per_wall_s": round(delivered / wall, 1),
        "scenario_s_per_wall_s": round(span / wall, 2),
        "simulation_us_per_delivery": round(per_delivery_us, 1),
        "simulation_vs_core_per_envelope": round(per_delivery_us / (cores_us / 2), 2),
    }
    for name, value in figures.items():
        print(json.dumps({"figure": name, "value": value}))


if __name__ == "__main__":
    main()
