"""Secure messages per second through the whole path, against raw MQTT in the same run.

Run: python bench/throughput.py [--seconds 10] [--window 400] [--workers 1,2]

The world: the full roster (209 bureaus, one MQTT connection each) on a secured Mosquitto on
loopback, no modelled WAN delay, acknowledgements off. Random bureau-to-bureau case messages of
about 1 KiB (wire JSON) at QoS 1, offered as fast as the system accepts, with at most --window
messages in flight. A message counts once its recipient has verified, decrypted and validated it.
Baseline, in the same run against the same kind of broker: 209 plain aiomqtt clients exchanging
bytes of the same size with the same window, without protocol or crypto.

With ``--workers N`` the bureaus are split over N worker processes (bench/_shards.py), each with
its own event loop and connections; the raw baseline gets the same number of processes. A list
(``--workers 1,2``) measures each in turn.

Goal (issue: performance): at least 5,000 delivered secure messages per second, and at least
0.5 times the raw baseline.
"""

from __future__ import annotations

import argparse
import json

from _shards import run_sharded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--window", type=int, default=400)
    parser.add_argument("--workers", default="1,2", help="worker processes, or a list: 1,2")
    args = parser.parse_args()
    rows = []
    for workers in (int(w) for w in args.workers.split(",")):
        secure = run_sharded("secure", workers, args.seconds, args.window)
        raw = run_sharded("raw", workers, args.seconds, args.window, int(secure["envelope_bytes"]))
        ratio = secure["msgs_per_s"] / raw["msgs_per_s"]
        rows.append((workers, secure, raw, ratio))
        for side, figures in (("secure", secure), ("raw", raw)):
            for name, value in figures.items():
                print(
                    json.dumps(
                        {
                            "bench": "throughput",
                            "workers": workers,
                            "side": side,
                            "figure": name,
                            "value": round(value, 3),
                        }
                    )
                )
        print(
            json.dumps(
                {
                    "bench": "throughput",
                    "workers": workers,
                    "figure": "ratio_secure_to_raw",
                    "value": round(ratio, 3),
                }
            )
        )
    print()
    print(
        f"{'workers':>7} {'side':24} {'msg/s':>9} {'worker CPU':>11} {'broker CPU':>11} "
        f"{'peak RSS':>9}"
    )
    for workers, secure, raw, ratio in rows:
        for label, f in (("bureaunet (secure)", secure), ("raw aiomqtt, same bytes", raw)):
            print(
                f"{workers:7d} {label:24} {f['msgs_per_s']:9,.0f} "
                f"{f['process_cpu_s_per_s']:10.2f}c {f['broker_cpu_s_per_s']:10.2f}c "
                f"{f['peak_rss_mb_all_workers']:7.0f}MB"
            )
        print(
            f"{'':7} ratio {ratio:.2f} (goals: 5,000 msg/s and 0.5x raw); envelope "
            f"{secure['envelope_bytes']:.0f} bytes"
        )


if __name__ == "__main__":
    main()
