"""Seal and open cost of bureaunet's envelope against JOSE (JWS EdDSA inside JWE ECDH-ES+A256KW).

Run: python bench/envelope.py [--repeat 7]

Prints one JSON line per figure and a table. Every figure is the median over ``--repeat`` runs of
the mean cost per operation in that run, in microseconds. Both sides seal the same ~1 KiB notice
request (bureaunet's wire JSON), in the same process, on the same machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from joserfc import jwe, jws
from joserfc.jwe import GeneralJSONEncryption
from joserfc.jwk import OKPKey

from protocol import (
    ArrestWarrant,
    NoticePublished,
    NoticeRequest,
    RedNotice,
    ToAll,
    ToBureaus,
    default_roster,
    encode,
)
from protocol.security.envelope import EnvelopeCodec
from protocol.security.pki import BureauCredentials, CertificateAuthority, TrustStore
from protocol.security.replay import ReplayGuard

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def per_op(fn: Callable[[], object], number: int, repeat: int) -> float:
    """Median over runs of the mean microseconds per call."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        runs.append((time.perf_counter() - start) / number * 1e6)
    return statistics.median(runs)


def notice() -> NoticeRequest:
    red = RedNotice(
        name="EXEMPLE",
        forename="JEAN-MARC",
        date_of_birth="1979/04",
        nationalities=("FR", "BE"),
        distinguishing_marks="Scar on the left forearm; tattoo of an anchor on the right wrist.",
        arrest_warrants=(
            ArrestWarrant(
                issuing_country_id="FR",
                charge="Fraude en bande organisée " * 8,
                charge_translation="Organised fraud " * 8,
            ),
            ArrestWarrant(
                issuing_country_id="BE", charge="Participation in a criminal organisation"
            ),
        ),
    )
    return NoticeRequest(
        message_id=uuid4(),
        sender="FR",
        recipients=ToBureaus(bureaus=("gs",)),
        created_at=NOW,
        notice=red,
        summary_of_facts="Facts of the case. " * 12,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    repeat = args.repeat

    roster = default_roster()
    ca = CertificateAuthority.create(NOW - timedelta(days=1), timedelta(days=30))
    ids = {b.id: ca.issue(b, NOW - timedelta(days=1), timedelta(days=30)) for b in roster}
    base = TrustStore(ca.root_certificate)
    for identity in ids.values():
        base.add(identity.certificate.der)

    def codec(bureau: str) -> EnvelopeCodec:
        # with the roster, as bureaus run: who-may-send checks included in every open
        return EnvelopeCodec(
            BureauCredentials(ids[bureau]),
            base.copy(),
            roster=roster,
            replay=ReplayGuard(capacity=10_000_000),
        )

    message = notice()
    plaintext = encode(message)
    fr, gs = codec("FR"), codec("gs")
    ncbs = [b.id for b in roster.ncbs()]

    one = fr.seal_at(message, NOW, to=["gs"])
    gs.open_at(one, NOW)  # warm the pair-key caches on both sides
    envelopes = [
        fr.seal_at(message.model_copy(update={"message_id": uuid4()}), NOW, to=["gs"])
        for _ in range(2000 * repeat)
    ]
    it = iter(envelopes)
    figures: dict[str, float] = {
        "plaintext_bytes": float(len(plaintext)),
        "envelope_bytes_1": float(len(one)),
        "seal_1_us": per_op(lambda: fr.seal_at(message, NOW, to=["gs"]), 2000, repeat),
        "open_1_us": per_op(lambda: gs.open_at(next(it), NOW), 2000, repeat),
    }
    # the General Secretariat publishes the notice to every NCB
    from_gs = NoticePublished(
        message_id=uuid4(),
        sender="gs",
        recipients=ToAll(),
        created_at=NOW,
        notice=message.notice.model_copy(update={"entity_id": "2026/00001"}),
    )
    gs.seal_at(from_gs, NOW, to=ncbs)  # warm caches
    wide = gs.seal_at(from_gs, NOW, to=ncbs)
    figures["envelope_bytes_195"] = float(len(wide))
    figures["seal_195_us"] = per_op(lambda: gs.seal_at(from_gs, NOW, to=ncbs), 50, repeat)
    jp = codec("JP")
    jp.open_at(gs.seal_at(from_gs.model_copy(update={"message_id": uuid4()}), NOW, to=ncbs), NOW)
    wides = [
        gs.seal_at(from_gs.model_copy(update={"message_id": uuid4()}), NOW, to=ncbs)
        for _ in range(300 * repeat)
    ]
    wit = iter(wides)
    figures["open_1_of_195_us"] = per_op(lambda: jp.open_at(next(wit), NOW), 300, repeat)
    # the baseline for the who-may-send checks: the same opens by a codec without the roster
    bare = EnvelopeCodec(
        BureauCredentials(ids["JP"]), base.copy(), replay=ReplayGuard(capacity=10_000_000)
    )
    bare.open_at(gs.seal_at(from_gs.model_copy(update={"message_id": uuid4()}), NOW, to=ncbs), NOW)
    bares = [
        gs.seal_at(from_gs.model_copy(update={"message_id": uuid4()}), NOW, to=ncbs)
        for _ in range(300 * repeat)
    ]
    bit = iter(bares)
    figures["open_1_of_195_no_roster_us"] = per_op(
        lambda: bare.open_at(next(bit), NOW), 300, repeat
    )

    # What an ephemeral key agreement per recipient would add (the forward-secrecy alternative).
    eph, peer = X25519PrivateKey.generate(), X25519PrivateKey.generate().public_key()
    figures["x25519_exchange_us"] = per_op(lambda: eph.exchange(peer), 5000, repeat)

    # JOSE: JWS (EdDSA) inside JWE (ECDH-ES+A256KW, A256GCM), compact; and general JSON to 195.
    warnings.simplefilter("ignore")
    registry = jws.JWSRegistry(algorithms=["EdDSA"])
    sign_key = OKPKey.generate_key("Ed25519")
    enc_key = OKPKey.generate_key("X25519")
    jwe_header = {"alg": "ECDH-ES+A256KW", "enc": "A256GCM"}

    def jose_seal() -> str:
        token = jws.serialize_compact({"alg": "EdDSA"}, plaintext, sign_key, registry=registry)
        return jwe.encrypt_compact(jwe_header, token, enc_key)

    def jose_open(token: str) -> bytes:
        inner = jwe.decrypt_compact(token, enc_key).plaintext or b""
        return jws.deserialize_compact(inner, sign_key, registry=registry).payload

    sealed_jose = jose_seal()
    assert jose_open(sealed_jose) == plaintext
    figures["jose_envelope_bytes_1"] = float(len(sealed_jose))
    figures["jose_seal_1_us"] = per_op(jose_seal, 500, repeat)
    figures["jose_open_1_us"] = per_op(lambda: jose_open(sealed_jose), 500, repeat)
    recipients = [OKPKey.generate_key("X25519") for _ in ncbs]
    token = jws.serialize_compact({"alg": "EdDSA"}, plaintext, sign_key, registry=registry)

    def jose_seal_195() -> object:
        obj = GeneralJSONEncryption({"enc": "A256GCM"}, token.encode())
        for key in recipients:
            obj.add_recipient({"alg": "ECDH-ES+A256KW"}, key)
        return jwe.encrypt_json(obj, None)

    figures["jose_seal_195_us"] = per_op(jose_seal_195, 5, repeat)

    ours = figures["seal_1_us"] + figures["open_1_us"]
    jose = figures["jose_seal_1_us"] + figures["jose_open_1_us"]
    figures["speedup_seal_open_1"] = jose / ours
    figures["speedup_seal_195"] = figures["jose_seal_195_us"] / figures["seal_195_us"]
    figures["ephemeral_seal_195_estimate_us"] = (
        figures["seal_195_us"] + len(ncbs) * figures["x25519_exchange_us"]
    )
    for name, value in figures.items():
        print(json.dumps({"bench": "envelope", "figure": name, "value": round(value, 2)}))
    print()
    print(f"{'figure':34} {'bureaunet':>12} {'JOSE':>12} {'ratio':>8}")
    rows = [
        ("seal, 1 recipient (µs)", figures["seal_1_us"], figures["jose_seal_1_us"]),
        ("open, 1 recipient (µs)", figures["open_1_us"], figures["jose_open_1_us"]),
        ("seal + open, 1 recipient (µs)", ours, jose),
        ("seal, 195 recipients (µs)", figures["seal_195_us"], figures["jose_seal_195_us"]),
        (
            "envelope size, 1 recipient (B)",
            figures["envelope_bytes_1"],
            figures["jose_envelope_bytes_1"],
        ),
    ]
    for label, a, b in rows:
        print(f"{label:34} {a:12.1f} {b:12.1f} {b / a:7.2f}x")
    print(f"{'open 1 of 195 (µs)':34} {figures['open_1_of_195_us']:12.1f}")
    checks = figures["open_1_of_195_us"] / figures["open_1_of_195_no_roster_us"]
    print(
        f"{'  without the roster checks (µs)':34} {figures['open_1_of_195_no_roster_us']:12.1f}"
        f"  with/without {checks:.3f}x"
    )
    print(f"{'195 bytes on the wire':34} {figures['envelope_bytes_195']:12.0f}")
    print(
        f"{'ephemeral-per-recipient estimate (µs)':34} "
        f"{figures['ephemeral_seal_195_estimate_us']:12.1f}"
    )


if __name__ == "__main__":
    main()
