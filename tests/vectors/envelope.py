"""Envelope test vectors: pinned keys, serials, times and randomness; sealing is deterministic.

TEST MATERIAL ONLY: every private key below is public, throwaway, and marked as such.

Regenerate the committed file (only when the wire format changes on purpose) with
``python -m tests.vectors.envelope > tests/vectors/envelope_v2.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from hashlib import sha256
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from bureaus.samples import sample_messages
from protocol import ToBureaus, decode, default_roster, encode
from protocol.security.envelope import EnvelopeCodec
from protocol.security.pki import BureauCredentials, CertificateAuthority, TrustStore
from protocol.security.replay import ReplayGuard

FILE = Path(__file__).with_name("envelope_v2.json")


def seed(label: str) -> bytes:
    """A pinned 32-byte value derived from a label (throwaway test keys and randomness)."""
    return sha256(f"bureaunet test vector {label}".encode()).digest()


@dataclass
class Pinned:
    ca: CertificateAuthority
    codecs: dict[str, EnvelopeCodec]


def build(spec: dict[str, Any]) -> Pinned:
    issued = datetime.fromisoformat(spec["issued_at"])
    ca = CertificateAuthority.create(
        issued,
        timedelta(days=3650),
        root_key=Ed25519PrivateKey.from_private_bytes(bytes.fromhex(spec["root_key"])),
    )
    # the root's serial is random; certificates are issued with pinned serials
    roster = default_roster()
    identities = {}
    for bureau, keys in spec["bureaus"].items():
        identities[bureau] = ca.issue(
            roster.get(bureau),
            issued,
            timedelta(days=365),
            signing_key=Ed25519PrivateKey.from_private_bytes(bytes.fromhex(keys["signing"])),
            encryption_key=X25519PrivateKey.from_private_bytes(bytes.fromhex(keys["encryption"])),
            serial=keys["serial"],
        )
    trust = TrustStore(ca.root_certificate)
    for identity in identities.values():
        trust.add(identity.certificate.der)
    codecs = {
        b: EnvelopeCodec(BureauCredentials(i), trust, replay=ReplayGuard())
        for b, i in identities.items()
    }
    return Pinned(ca, codecs)


def seal(pinned: Pinned, case: dict[str, Any]) -> bytes:
    message = decode(bytes.fromhex(case["message"]))
    sender = pinned.codecs[message.sender]
    recipients = [pinned.codecs[b].credentials.current.certificate for b in case["to"]]
    return sender._seal_from_parts(
        message,
        recipients,
        datetime.fromisoformat(case["expires_at"]),
        secret=bytes.fromhex(case["secret"]),
        salt=bytes.fromhex(case["salt"]),
        nonce=bytes.fromhex(case["nonce"]),
    )


def generate() -> dict[str, Any]:
    bureaus = {
        b: {
            "signing": seed(f"{b} signing").hex(),
            "encryption": seed(f"{b} encryption").hex(),
            "serial": 1000 + n,
        }
        for n, b in enumerate(["FR", "gs", "DE", "BE"])
    }
    spec: dict[str, Any] = {
        "comment": "TEST MATERIAL ONLY: throwaway keys. See tests/vectors/envelope.py.",
        "issued_at": "2026-11-01T00:00:00+00:00",
        "open_at": "2026-11-23T09:00:05+00:00",
        "root_key": seed("root").hex(),
        "bureaus": bureaus,
        "cases": [],
    }
    messages = sample_messages()
    plan = [
        ("notice-request", ["gs"]),
        ("diffusion", ["FR", "BE"]),
        ("notice-published", ["FR", "DE", "BE"]),
    ]
    pinned = build(spec)
    for n, (kind, to) in enumerate(plan):
        message = messages[kind]
        if message.sender not in bureaus:
            message = message.model_copy(update={"sender": "gs" if kind != "diffusion" else "DE"})
        if isinstance(message.recipients, ToBureaus):
            # sealed for exactly its own recipients
            # (protocol.messages.authority.recipient_violation)
            message = message.model_copy(update={"recipients": ToBureaus(bureaus=tuple(to))})
        case = {
            "kind": kind,
            "message": encode(message).hex(),
            "to": to,
            "expires_at": "2026-11-23T10:00:00+00:00",
            "secret": seed(f"case {n} secret").hex(),
            "salt": seed(f"case {n} salt")[:16].hex(),
            "nonce": seed(f"case {n} nonce")[:12].hex(),
        }
        case["envelope"] = seal(pinned, case).hex()
        spec["cases"].append(case)
    return spec


if __name__ == "__main__":
    print(json.dumps(generate(), indent=1))
