"""A throwaway PKI for tests: a GS root and certificates for the whole roster, built once.

TEST MATERIAL ONLY: keys here are generated per test session and never leave the process.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from protocol import default_roster
from protocol.security.envelope import EnvelopeCodec
from protocol.security.pki import (
    BureauCredentials,
    BureauIdentity,
    CertificateAuthority,
    TrustStore,
)
from protocol.security.replay import ReplayGuard

NOW = datetime(2026, 11, 23, 9, 0, 5, tzinfo=UTC)
ISSUED = NOW - timedelta(days=10)


@dataclass(frozen=True)
class World:
    ca: CertificateAuthority
    identities: dict[str, BureauIdentity]

    base: TrustStore

    def trust(self) -> TrustStore:
        return self.base.copy()

    def codec(self, bureau: str, **kwargs: object) -> EnvelopeCodec:
        return EnvelopeCodec(
            BureauCredentials(self.identities[bureau]),
            self.trust(),
            replay=ReplayGuard(),
            **kwargs,  # type: ignore[arg-type]
        )


@cache
def world() -> World:
    ca = CertificateAuthority.create(ISSUED - timedelta(days=1), timedelta(days=3650))
    identities = {b.id: ca.issue(b, ISSUED, timedelta(days=365)) for b in default_roster()}
    base = TrustStore(ca.root_certificate)
    for identity in identities.values():
        base.add(identity.certificate.der)
    return World(ca, identities, base)
