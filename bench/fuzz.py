"""A long fuzzing run over everything that parses outside input; only our typed errors may come out.

Run: python bench/fuzz.py [--examples 20000] [--targets envelope,message,scenario,certificate,crl]

The test suite runs the same properties with a few hundred cases each (tests/test_fuzz_inputs.py,
tests/test_envelope.py, tests/test_decode_errors.py); this script runs as many as asked, with
hypothesis, and prints per target: cases tried, seconds, and the first input that raised anything
other than the target's typed error (shrunk by hypothesis), if any. Exit status 1 when a target
failed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bureaus.samples import NOW, sample_messages
from bureaus.samples import throwaway_world as world
from protocol import decode
from protocol.errors import CertificateError, DecodeError, Rejection
from protocol.schemas.strategies import der_like, yaml_like
from protocol.security.pki import load_certificate
from scenarios.model import ScenarioError, parse_scenario


def _envelope() -> bytes:
    message = sample_messages()["case-message"].model_copy(update={"created_at": NOW})
    return world().codec("KE").seal_at(message, NOW, to=["FR"])


def _mutations(original: bytes) -> st.SearchStrategy[bytes]:
    def flip(edits: list[tuple[int, int]]) -> bytes:
        data = bytearray(original)
        for where, value in edits:
            data[where % len(data)] ^= value or 1
        return bytes(data)

    return st.one_of(
        st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=8).map(
            flip
        ),
        st.integers(0, len(original) - 1).map(lambda cut: original[:cut]),
        st.binary(min_size=1, max_size=64).map(lambda junk: original + junk),
    )


def _json_like() -> st.SearchStrategy[bytes]:
    scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
    documents = st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=20), inner, max_size=8)
        ),
        max_leaves=30,
    )
    real = [m.model_dump(mode="json") for m in sample_messages().values()]

    def spoil(pair: tuple[dict[str, Any], dict[str, Any]]) -> bytes:
        base, extra = pair
        return json.dumps({**base, **extra}, default=str).encode()

    return st.one_of(
        st.binary(max_size=600),
        documents.map(lambda d: json.dumps(d).encode()),
        st.tuples(
            st.sampled_from(real),
            st.dictionaries(
                st.sampled_from(sorted({k for m in real for k in m})), scalars, max_size=3
            ),
        ).map(spoil),
    )


Target = tuple[st.SearchStrategy[Any], Callable[[Any], object], tuple[type[Exception], ...]]


def targets() -> dict[str, Target]:
    """Name → (inputs, the parser, the errors it may raise)."""
    envelope = _envelope()
    fr = world().codec("FR")
    root = world().ca.root_certificate
    return {
        "envelope": (
            st.binary(max_size=3000) | _mutations(envelope),
            lambda data: fr.open_at(data, NOW),
            (Rejection,),
        ),
        "message": (_json_like(), decode, (DecodeError,)),
        "scenario": (yaml_like, lambda text: parse_scenario(text, "fuzz.yaml"), (ScenarioError,)),
        "certificate": (der_like, lambda data: load_certificate(data, root), (CertificateError,)),
        "crl": (
            der_like,
            lambda data: world().trust().apply_revocation_list(data),
            (CertificateError,),
        ),
    }


def run(name: str, examples: int) -> dict[str, object]:
    inputs, parse, allowed = targets()[name]
    cases = 0

    @settings(
        max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(inputs)
    def check(value: Any) -> None:
        nonlocal cases
        cases += 1
        with contextlib.suppress(*allowed):
            parse(value)

    start = time.perf_counter()
    failure = None
    try:
        check()
    except Exception as exc:  # the finding itself: report it, go on with the next target
        failure = f"{type(exc).__name__}: {exc}"[:500]
    return {
        "bench": "fuzz",
        "target": name,
        "cases": cases,
        "seconds": round(time.perf_counter() - start, 1),
        "failure": failure,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=20_000)
    parser.add_argument("--targets", default=",".join(targets()))
    args = parser.parse_args()
    rows = [run(name, args.examples) for name in args.targets.split(",")]
    for row in rows:
        print(json.dumps(row))
    print()
    print(f"{'target':12} {'cases':>8} {'seconds':>8}  result")
    for row in rows:
        print(
            f"{row['target']!s:12} {row['cases']:8} {row['seconds']:8}  "
            f"{row['failure'] or 'only typed errors'}"
        )
    sys.exit(1 if any(row["failure"] for row in rows) else 0)


if __name__ == "__main__":
    main()
