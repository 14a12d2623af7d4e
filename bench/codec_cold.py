"""Seal and open with warm caches, and with the caches flushed between messages, in one run.

Run: python bench/codec_cold.py [--rounds 12] [--count 300]

Inside the throughput benchmark the codec costs more per message than alone (bench/RESULTS.md):
between two messages the event loop, the MQTT client and the core run, and the codec's code and
data leave the processor's caches. This measures that effect alone: the same messages between
random pairs of the full roster, sealed and opened back to back (warm), and with 8 MB of memory
touched before each message (cold), rounds interleaved; the ratio is what compares.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import timedelta

from _shards import case_message

from bureaus.sandbox import EPOCH, ROSTER, pki
from protocol.security.envelope import EnvelopeCodec
from protocol.security.pki import BureauCredentials

_FLUSH = bytearray(8 * 1024 * 1024)
"""More memory than this machine's caches hold."""


def _flush() -> None:
    """Touch every cache line of 8 MB (one byte in each 64)."""
    _FLUSH[::64] = bytes(len(_FLUSH[::64]))


def _run(
    codecs: dict[str, EnvelopeCodec], pairs: list[tuple[str, str]], n: int, *, cold: bool
) -> float:
    """Microseconds per seal and open of one message, over ``pairs``."""
    messages = [case_message(a, b, EPOCH) for a, b in pairs]
    wall = EPOCH + timedelta(seconds=n)
    spent = 0.0
    for (a, b), message in zip(pairs, messages, strict=True):
        if cold:
            _flush()
        start = time.perf_counter()
        envelope = codecs[a].seal_at(message, wall, to=(b,))
        codecs[b].receive_at(envelope, wall)
        spent += time.perf_counter() - start
    return spent / len(pairs) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--count", type=int, default=300)
    args = parser.parse_args()
    keys = pki(ROSTER)
    ids = [b.id for b in ROSTER]
    codecs = {
        b: EnvelopeCodec(BureauCredentials(keys.identities[b]), keys.trust.copy(), roster=ROSTER)
        for b in ids
    }
    certificates = [keys.identities[b].certificate for b in ids]
    for codec in codecs.values():
        codec.warm(certificates)
    rng = random.Random(1)
    warm, cold = [], []
    for n in range(args.rounds):
        pairs: list[tuple[str, str]] = []
        while len(pairs) < args.count:
            a, b = rng.choice(ids), rng.choice(ids)
            if a != b:
                pairs.append((a, b))
        warm.append(_run(codecs, pairs, 2 * n, cold=False))
        cold.append(_run(codecs, pairs, 2 * n + 1, cold=True))
    w, c = statistics.median(warm), statistics.median(cold)
    print(f"seal and open, warm caches: {w:.0f} us; caches flushed before each message: {c:.0f} us")
    print(f"ratio cold / warm: {c / w:.2f}")


if __name__ == "__main__":
    main()
