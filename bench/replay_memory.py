"""What the replay guard holds per remembered message id, against the layout it replaced.

Run: python bench/replay_memory.py [--ids 200000] [--senders 200] [--filed 1000000]

A bureau remembers every id it accepted for the envelope's hour (about 1.8 million ids an hour
at the General Secretariat's load), so the bytes an id costs are what a long run's memory grows
by. Measured with tracemalloc, in the same run: ``ReplayGuard.remember`` for ``--ids`` ids from
``--senders`` senders (fresh 16-byte ids and 64-byte signatures, as a bureau receives them), and
the baseline: the previous layout, a dictionary of (sender, id) to (signature, accepted time)
tuples with a heap of (horizon, created, key) for expiry.

Then where a lean run keeps them (``--filed`` ids, 0: skip): ``HeldIds`` in memory against
``FiledIds`` in a SQLite file (``bureaus/idfile.py``), each in a fresh child process: the growth
of the process's resident memory, the microseconds a check and a remember take together, and the
file's size. Time per operation is a same-run ratio; memory is what the process holds.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bureaus.idfile import IdFile
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


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def kept(where: str, ids: int, senders: int) -> dict[str, float]:
    """In this process: ``ids`` checked and remembered by guards keeping them ``where``."""
    file = IdFile() if where == "filed" else None
    guards = [ReplayGuard(ids=file.memory()) if file else ReplayGuard() for _ in range(senders)]
    names = [f"S{k}" for k in range(senders)]
    made = [(os.urandom(16), os.urandom(64)) for _ in range(ids)]
    rss = _rss_mb()
    start = time.perf_counter()
    for k, (mid, signature) in enumerate(made):
        t = T0 + k * 2
        guard = guards[k % senders]
        guard.check(names[(k // senders) % senders], mid, t, t + HOUR_MS, t, copy=signature)
        guard.remember(names[(k // senders) % senders], mid, t, t + HOUR_MS, t, copy=signature)
    spent = time.perf_counter() - start
    figures = {
        "rss_growth_mb": round(_rss_mb() - rss, 1),
        "us_per_check_and_remember": round(spent / ids * 1e6, 2),
        "file_mb": round(file.size_bytes() / 1e6, 1) if file else 0.0,
    }
    if file:
        file.close()
    return figures


def _in_child(where: str, ids: int, senders: int) -> dict[str, float]:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            where,
            "--filed",
            str(ids),
            "--senders",
            str(senders),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    figures: dict[str, float] = json.loads(out.splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ids", type=int, default=200_000)
    parser.add_argument("--senders", type=int, default=200)
    parser.add_argument("--filed", type=int, default=1_000_000)
    parser.add_argument("--child", choices=["held", "filed"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(kept(args.child, args.filed, args.senders)))
        return
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
    if not args.filed:
        return
    held = _in_child("held", args.filed, args.senders)
    filed = _in_child("filed", args.filed, args.senders)
    for where, values in (("held", held), ("filed", filed)):
        for name, value in values.items():
            print(
                json.dumps({"bench": "replay_memory", "figure": f"{where}_{name}", "value": value})
            )
    print(
        f"{args.filed:,} ids checked and remembered by {args.senders} guards: in memory "
        f"{held['rss_growth_mb']} MB, {held['us_per_check_and_remember']} µs each; in a file "
        f"{filed['rss_growth_mb']} MB ({filed['file_mb']} MB on disk), "
        f"{filed['us_per_check_and_remember']} µs each "
        f"({filed['us_per_check_and_remember'] / held['us_per_check_and_remember']:.1f}x the time)"
    )


if __name__ == "__main__":
    main()
