"""Secure messages per second through the whole path, against raw MQTT in the same run.

Run: python bench/throughput.py [--seconds 10] [--window 400] [--workers 1,2]
     [--transport gmqtt,aiomqtt] [--verifiers 0,1] [--rounds 3]

The world: the full roster (209 bureaus, one MQTT connection each) on a secured Mosquitto on
loopback, no modelled WAN delay, acknowledgements off. Random bureau-to-bureau case messages of
about 1 KiB (wire JSON) at QoS 1, offered as fast as the system accepts, with at most --window
messages in flight. A message counts once its recipient has verified, decrypted and validated it.
The bureaus speak through each --transport in turn. Baselines, in the same run against the same
kind of broker: 209 plain aiomqtt clients, then 209 plain gmqtt clients, exchanging bytes of the
same size with the same window, without protocol or crypto.

The worker also adds up the time its bureaus spend inside the codec (seal and open), so that each
run reports the codec's share of its own CPU: a ratio taken within one run, which holds still
when the machine's speed drifts between runs (the rates do not: see bench/RESULTS.md).

With ``--verifiers 1`` the bureaus' signatures are verified by a helper process beside each
worker (bureaus/verifier.py); that side is named ``secure/<transport>+1v``, and the helper's CPU is
reported apart from the worker's. Every side runs once a round, in turn, and the figures are
medians over ``--rounds``.

With ``--workers N`` the bureaus are split over N worker processes (bench/_shards.py), each with
its own event loop and connections; the raw baseline gets the same number of processes. A list
(``--workers 1,2``) measures each in turn.

Goal (issue: performance): at least 5,000 delivered secure messages per second, and at least
0.5 times the raw baseline.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import timedelta

from _shards import case_message, run_sharded

from bureaus.sandbox import EPOCH, ROSTER, pki
from protocol.security.envelope import EnvelopeCodec
from protocol.security.pki import BureauCredentials


def seal_and_open_us(count: int = 2_000, repeat: int = 5) -> float:
    """Microseconds for one seal and one open of the benchmark's message (median of runs).

    The same ~1 KiB case message, sealed by one bureau for another and opened (verified,
    decrypted, validated) by it: the cryptography and validation a secure message cannot avoid.
    """
    keys = pki(ROSTER)
    codecs = {
        b: EnvelopeCodec(BureauCredentials(keys.identities[b]), keys.trust.copy(), roster=ROSTER)
        for b in ("FR", "DE")
    }
    runs = []
    for n in range(repeat):
        messages = [case_message("FR", "DE", EPOCH) for _ in range(count)]
        wall = EPOCH + timedelta(seconds=n)
        start = time.perf_counter()
        for message in messages:
            envelope = codecs["FR"].seal_at(message, wall, to=("DE",))
            _header, opened = codecs["DE"].receive_at(envelope, wall)
            assert opened is not None
        runs.append((time.perf_counter() - start) / count * 1e6)
    return statistics.median(runs)


def _medians(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over the rounds."""
    return {name: statistics.median(r.get(name, 0.0) for r in runs) for name in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--window", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3, help="medians over this many rounds")
    parser.add_argument("--workers", default="1,2", help="worker processes, or a list: 1,2")
    parser.add_argument(
        "--transport", default="gmqtt,aiomqtt", help="the bureaus' MQTT client(s): gmqtt,aiomqtt"
    )
    parser.add_argument(
        "--verifiers",
        default="0,1",
        help="signature helper processes per worker, or a list: 0,1 (bureaus.verifier)",
    )
    args = parser.parse_args()
    transports = args.transport.split(",")
    helper_counts = [int(v) for v in args.verifiers.split(",")]
    rows: list[tuple[int, str, dict[str, float]]] = []
    crypto: dict[int, float] = {}
    for workers in (int(w) for w in args.workers.split(",")):
        rounds: dict[str, list[dict[str, float]]] = {}
        crypto_rounds = []
        size = 0
        for _round in range(args.rounds):
            # every side once a round, in turn: this machine's speed drifts over minutes, and
            # the medians over rounds compare sides measured close together
            for transport in transports:
                for helpers in helper_counts:
                    side = f"secure/{transport}" + (f"+{helpers}v" if helpers else "")
                    figures = run_sharded(
                        "secure",
                        workers,
                        args.seconds,
                        args.window,
                        client=transport,
                        verifiers=helpers,
                    )
                    rounds.setdefault(side, []).append(figures)
                    size = max(size, int(figures["envelope_bytes"]))
            for library in ("aiomqtt", "gmqtt"):
                rounds.setdefault(f"raw/{library}", []).append(
                    run_sharded("raw", workers, args.seconds, args.window, size, client=library)
                )
            crypto_rounds.append(seal_and_open_us())
        crypto[workers] = statistics.median(crypto_rounds)
        sides = {side: _medians(runs) for side, runs in rounds.items()}
        for side, figures in sides.items():
            rows.append((workers, side, figures))
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
        for side in [s for s in sides if s.startswith("secure/")]:
            for library in ("aiomqtt", "gmqtt"):
                ratio = sides[side]["msgs_per_s"] / sides[f"raw/{library}"]["msgs_per_s"]
                print(
                    json.dumps(
                        {
                            "bench": "throughput",
                            "workers": workers,
                            "figure": f"ratio_{side.replace('/', '_')}_to_raw_{library}",
                            "value": round(ratio, 3),
                        }
                    )
                )
    print()
    print(
        f"{'workers':>7} {'side':16} {'msg/s':>9} {'worker CPU':>11} {'helper CPU':>11} "
        f"{'broker CPU':>11} {'peak RSS':>9} {'vs raw aiomqtt':>15} {'vs raw gmqtt':>13}"
    )
    by_workers: dict[int, dict[str, dict[str, float]]] = {}
    for workers, side, f in rows:
        by_workers.setdefault(workers, {})[side] = f
    for workers, side, f in rows:
        raw_a = by_workers[workers]["raw/aiomqtt"]["msgs_per_s"]
        raw_g = by_workers[workers]["raw/gmqtt"]["msgs_per_s"]
        print(
            f"{workers:7d} {side:16} {f['msgs_per_s']:9,.0f} "
            f"{f['process_cpu_s_per_s']:10.2f}c {f.get('helper_cpu_s_per_s', 0.0):10.2f}c "
            f"{f['broker_cpu_s_per_s']:10.2f}c "
            f"{f['peak_rss_mb_all_workers']:7.0f}MB {f['msgs_per_s'] / raw_a:14.2f}x "
            f"{f['msgs_per_s'] / raw_g:12.2f}x"
        )
    for workers, crypto_us in crypto.items():
        print(
            json.dumps(
                {
                    "bench": "throughput",
                    "workers": workers,
                    "figure": "seal_and_open_us",
                    "value": round(crypto_us, 1),
                }
            )
        )
    print()
    print("the physical limit of this path: per message, raw gmqtt's CPU + one seal and one open")
    for workers, sides in by_workers.items():
        crypto_us = crypto[workers]
        raw = sides["raw/gmqtt"]
        client_us = raw["process_cpu_s_per_s"] / raw["msgs_per_s"] * workers * 1e6
        limit = workers * 1e6 / (client_us + crypto_us)
        for side, f in sides.items():
            if not side.startswith("secure/"):
                continue
            spent_us = f["process_cpu_s_per_s"] / f["msgs_per_s"] * workers * 1e6
            print(
                json.dumps(
                    {
                        "bench": "throughput",
                        "workers": workers,
                        "side": side,
                        "figure": "ratio_to_physical_limit",
                        "value": round(f["msgs_per_s"] / limit, 3),
                    }
                )
            )
            in_run_us = f["codec_cpu_share"] * spent_us
            print(
                json.dumps(
                    {
                        "bench": "throughput",
                        "workers": workers,
                        "side": side,
                        "figure": "codec_cpu_share_in_run",
                        "value": round(f["codec_cpu_share"], 4),
                    }
                )
            )
            print(
                f"{workers} worker(s) {side}: {f['msgs_per_s']:,.0f} msg/s against a limit of "
                f"{limit:,.0f} ({f['msgs_per_s'] / limit:.2f}x); per message {spent_us:.0f} us of "
                f"CPU = client {client_us:.0f} + seal and open {crypto_us:.0f} + the rest "
                f"{spent_us - client_us - crypto_us:.0f}"
            )
            print(
                f"  in the run itself, sealing and opening took {f['codec_cpu_share']:.1%} of the "
                f"worker's CPU ({in_run_us:.0f} us a message, against {crypto_us:.0f} alone); "
                f"outside them and the client: {spent_us - in_run_us - client_us:.0f} us"
            )
            if f.get("helper_cpu_s_per_s"):
                helper_us = f["helper_cpu_s_per_s"] / f["msgs_per_s"] * workers * 1e6
                print(
                    f"  the signature helpers verified {f['helper_verified_share']:.0%} of the "
                    f"envelopes, {f['helper_batch_size']:.0f} a batch, at {helper_us:.0f} us of "
                    "their own CPU a message (the worker's figures above leave that out, and its "
                    "seal and open leave out those verifications)"
                )
    print(
        "goals: 5,000 secure msg/s with 2 workers; at least 0.5x raw aiomqtt and 0.85x the "
        "physical limit with 1"
    )


if __name__ == "__main__":
    main()
