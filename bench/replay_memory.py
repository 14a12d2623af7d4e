"""What the replay guard holds per remembered message id, against the layout it replaced.

Run: python bench/replay_memory.py [--ids 200000] [--senders 200]

A bureau remembers every id it accepted for the envelope's hour (about 1.8 million ids an hour
at the General Secretariat's load), so the bytes an id costs are what a long run's memory grows
by. Measured with tracemalloc, in the same run: ``ReplayGuard.remember`` for ``--ids`` ids from
``--senders`` senders (fresh 16-byte ids and 64-byte signatures, as a bureau receives them), and
the baseline: the previous layout, a dictionary of (sender, id) to (signature, accepted time)
tuples with a heap of (horizon, created, key) for expiry.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from protocol.security.replay import ReplayGuard

HOUR_MS = 3_600_000
T0 = 1_765_000_000_000


def per_id(ids: int, senders: int, *, baseline: bool) -> float:
    """Bytes held per id, counting the id and signature objects the guard keeps alive."""
    names = [f"S{k}" for k in range(senders)]
    guard = ReplayGuard()
    seen: dict[tuple[str, bytes], tuple[bytes, int]] = {}
    forget_at: list[tuple[int, int, tuple[str, bytes]]] = []
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for k in range(ids):
        t = T0 + k * 2
        mid, signature, sender = os.urandom(16), os.urandom(64), names[k % senders]
        if baseline:
            key = (sender, mid)
            seen[key] = (signature, t)
            heapq.heappush(forget_at, (t + HOUR_MS, t, key))
        else:
            guard.remember(sender, mid, t, t + HOUR_MS, t, copy=signature)
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return held / ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ids", type=int, default=200_000)
    parser.add_argument("--senders", type=int, default=200)
    args = parser.parse_args()
    old = per_id(args.ids, args.senders, baseline=True)
    new = per_id(args.ids, args.senders, baseline=False)
    figures = {
        "ids": args.ids,
        "baseline_bytes_per_id": round(old),
        "guard_bytes_per_id": round(new),
        "ratio": round(new / old, 2),
    }
    for name, value in figures.items():
        print(json.dumps({"bench": "replay_memory", "figure": name, "value": value}))
    print(
        f"\n{args.ids:,} ids from {args.senders} senders: {new:.0f} bytes an id held by the "
        f"guard, {old:.0f} by the previous layout ({new / old:.2f}x)"
    )


if __name__ == "__main__":
    main()
