"""Ed25519 through libsodium (PyNaCl) against OpenSSL (cryptography), in turn, in one run.

Run: python bench/ed25519.py [--count 2000] [--rounds 5]

Signs and verifies an envelope-sized message (1,700 bytes) ``count`` times with each library,
the two taking turns ``rounds`` times, and prints the median microseconds per operation and the
ratio OpenSSL / libsodium (above 1: libsodium is faster). The envelope's primitives use
libsodium for this arithmetic (``protocol/security/primitives.py``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair


def _per_op_us(work: Callable[[], object], count: int) -> float:
    start = time.process_time()
    for _ in range(count):
        work()
    return (time.process_time() - start) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    key = Ed25519PrivateKey.generate()
    public, data = key.public_key(), b"x" * 1700
    signature = key.sign(data)
    raw_public = public.public_bytes_raw()
    _, secret = crypto_sign_seed_keypair(key.private_bytes_raw())
    assert crypto_sign(data, secret)[:64] == signature  # the same deterministic signature
    cases: dict[str, Callable[[], object]] = {
        "openssl_sign": lambda: key.sign(data),
        "libsodium_sign": lambda: crypto_sign(data, secret),
        "openssl_verify": lambda: public.verify(signature, data),
        "libsodium_verify": lambda: crypto_sign_open(signature + data, raw_public),
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, work in cases.items():
            times[name].append(_per_op_us(work, args.count))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        print(json.dumps({"bench": "ed25519", "figure": f"{name}_us", "value": round(value, 1)}))
    for op in ("sign", "verify"):
        ratio = medians[f"openssl_{op}"] / medians[f"libsodium_{op}"]
        print(
            json.dumps(
                {
                    "bench": "ed25519",
                    "figure": f"{op}_openssl_over_libsodium",
                    "value": round(ratio, 2),
                }
            )
        )
        print(
            f"{op}: OpenSSL {medians[f'openssl_{op}']:.0f} us, libsodium "
            f"{medians[f'libsodium_{op}']:.0f} us: libsodium {ratio:.2f}x as fast"
        )


if __name__ == "__main__":
    main()
