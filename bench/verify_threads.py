"""Does Ed25519 verification release the interpreter lock? Two threads against one, same run.

Run: python bench/verify_threads.py [--count 3000]

Verifies the same signature over 1,500 bytes ``count`` times twice in one thread, then ``count``
times in each of two threads at once, and prints both times and their ratio. A ratio near 2
means the verification runs outside the lock (so a helper could run it beside the event loop);
near 1, it holds the lock. Why the signature helpers are processes all the same:
``bureaus/verifier.py``.
"""

from __future__ import annotations

import argparse
import json
import threading
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=3000)
    args = parser.parse_args()
    key = Ed25519PrivateKey.generate()
    public, data = key.public_key(), b"x" * 1500
    signature = key.sign(data)

    def work() -> None:
        for _ in range(args.count):
            public.verify(signature, data)

    start = time.perf_counter()
    work()
    work()
    one = time.perf_counter() - start
    threads = [threading.Thread(target=work) for _ in range(2)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    two = time.perf_counter() - start
    for figure, value in (
        ("verify_us_one_thread", one / (2 * args.count) * 1e6),
        ("seconds_one_thread", one),
        ("seconds_two_threads", two),
        ("speedup_two_threads", one / two),
    ):
        print(json.dumps({"bench": "verify_threads", "figure": figure, "value": round(value, 3)}))


if __name__ == "__main__":
    main()
