"""Scale-out: a 1,000-bureau synthetic roster over worker processes and a three-node NATS cluster.

Run: python bench/scale.py [--bureaus 1000] [--workers 2] [--broker nats|nats-r1|mosquitto]
                           [--rate 300] [--seconds 20]

The roster is synthetic (``protocol.network.roster.synthetic_roster``: ``syn-0001`` ... plus the
General Secretariat and the Command and Coordination Centre; no real country). The NCBs are split
over ``--workers`` processes, each with its own event loop and one MQTT connection per bureau; with
``--broker nats`` they are also spread over the three nodes of a NATS cluster (JetStream + MQTT, no
credentials, loopback; ``nats-r1`` keeps each subscription's queue on one node instead of three, see
``broker/cluster.py``), with ``mosquitto`` they share one secured Mosquitto. Steady traffic: case
messages of about 1 KiB between random synthetic NCBs, ``--rate`` per second in total, paced;
acknowledgements off. Latency is measured from each message's intended send time to its recipient's
verified delivery, across processes (wall-clock nanoseconds, one machine).

Prints bureaus, workers, start-up time, delivered messages per second, latency percentiles, lost
messages (and how many of them the broker had acknowledged: lost in or after the broker, not
before it), refused subscriptions and reconnections, and CPU and peak memory per worker.
"""

from __future__ import annotations

import argparse
import json

from _shards import run_paced
from hdrh.histogram import HdrHistogram


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bureaus", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--broker", choices=("nats", "nats-r1", "mosquitto"), default="nats")
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    results = run_paced(
        args.workers, args.seconds, args.rate, roster_size=args.bureaus, broker=args.broker
    )
    sent = {k: v for r in results for k, v in r["sent_at"].items()}
    arrived = {k: v for r in results for k, v in r["arrived"].items()}
    lost = set(sent) - set(arrived)
    unpublished = {m for r in results for m in r["unpublished"]}
    histogram = HdrHistogram(1, 3_600_000_000, 3)
    for mid, t_ns in arrived.items():
        if mid in sent:
            histogram.record_value(max(1, (t_ns - sent[mid]) // 1000))
    elapsed = max(r["elapsed_s"] for r in results)
    figures = {
        "bureaus": args.bureaus + 2,
        "workers": args.workers,
        "broker": args.broker,
        "offered_per_s": args.rate,
        "delivered_per_s": round(len(arrived) / elapsed, 1),
        "sent": len(sent),
        "delivered": len(arrived),
        "lost": len(lost),
        "lost_after_puback": len(lost - unpublished),
        "subscribe_refused": sum(r["counters"]["subscribe_refused"] for r in results),
        "reconnections": sum(r["counters"]["disconnects"] for r in results),
        "latency_ms": {
            f"p{p:g}": histogram.get_value_at_percentile(p) / 1000 for p in (50, 99, 99.9)
        }
        | {"max": histogram.get_max_value() / 1000},
        "per_worker": [
            {
                "bureaus": int(r["bureaus"]),
                "startup_s": round(r["startup_s"], 1),
                "cpu_cores": round(r["cpu_s"] / r["elapsed_s"], 2),
                "peak_rss_mb": round(r["rss_mb"]),
            }
            for r in results
        ],
    }
    print(json.dumps({"bench": "scale", **figures}))
    print()
    print(
        f"{figures['bureaus']} bureaus (synthetic) over {args.workers} workers on {args.broker}: "
        f"offered {args.rate:g}/s, delivered {figures['delivered_per_s']}/s, "
        f"lost {figures['lost']} of {figures['sent']} ({figures['lost_after_puback']} of them "
        f"acknowledged by the broker)"
    )
    print(
        f"subscriptions refused {figures['subscribe_refused']}, "
        f"reconnections {figures['reconnections']}"
    )
    lat = figures["latency_ms"]
    print(
        f"latency p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms, p99.9 {lat['p99.9']:.1f} ms, "
        f"max {lat['max']:.1f} ms"
    )
    for n, w in enumerate(figures["per_worker"]):
        print(
            f"worker {n}: {w['bureaus']} bureaus, started in {w['startup_s']} s, "
            f"{w['cpu_cores']} cores, peak {w['peak_rss_mb']} MB"
        )


if __name__ == "__main__":
    main()
