"""Time and memory to bring up the whole roster: keyed, connected, subscribed.

Run: python bench/startup.py [--repeat 3]

Starts a secured embedded Mosquitto, then for the full roster (195 NCBs, the General Secretariat,
regional bureaus and organisations, the CCC): generates the PKI, builds every bureau (codec, trust
store, credential) and connects and subscribes each with its own MQTT connection. Prints the
phases' times and the process's resident memory (peak, and the growth over the baseline of an
idle interpreter with the same imports, measured in the same process first).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from broker import BrokerTarget, EmbeddedBroker, find_mosquitto
from bureaus import LinkModel, Network, NetworkContext, generate_pki
from protocol import default_roster


def rss_mb() -> float:
    """Current resident set size of this process (Linux /proc), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def once() -> dict[str, float]:
    roster = default_roster()
    t0 = time.perf_counter()
    pki = generate_pki(roster, datetime.now(UTC))
    t1 = time.perf_counter()
    ctx = NetworkContext(roster, "hybrid", BrokerTarget("127.0.0.1", 0), LinkModel(roster))
    network = Network(ctx, pki)
    t2 = time.perf_counter()
    kind = "mosquitto" if find_mosquitto() else "amqtt"
    with EmbeddedBroker(kind=kind, security=network.security(), persistence=False) as broker:
        ctx.target = BrokerTarget(broker.host, broker.port, kind=broker.kind)
        t3 = time.perf_counter()
        await network.start()
        t4 = time.perf_counter()
        rss = rss_mb()
        await network.stop()
    return {
        "bureaus": float(len(network.bureaus)),
        "keys_s": t1 - t0,
        "build_s": t2 - t1,
        "connect_subscribe_s": t4 - t3,
        "total_s": (t1 - t0) + (t2 - t1) + (t4 - t3),
        "rss_after_start_mb": rss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    baseline = rss_mb()
    runs = [asyncio.run(once()) for _ in range(args.repeat)]
    figures = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    figures["rss_baseline_mb"] = baseline
    figures["rss_growth_mb"] = figures["rss_after_start_mb"] - baseline
    figures["rss_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for name, value in figures.items():
        print(json.dumps({"bench": "startup", "figure": name, "value": round(value, 3)}))
    print()
    print(
        f"{int(figures['bureaus'])} bureaus keyed, connected and subscribed in "
        f"{figures['total_s']:.2f} s (goal 2 s): keys {figures['keys_s']:.2f} s, build "
        f"{figures['build_s']:.2f} s, connect and subscribe "
        f"{figures['connect_subscribe_s']:.2f} s"
    )
    print(
        f"resident memory {figures['rss_after_start_mb']:.0f} MB after start (goal 150 MB); "
        f"{figures['rss_baseline_mb']:.0f} MB before; peak {figures['rss_peak_mb']:.0f} MB"
    )


if __name__ == "__main__":
    main()
