"""Examples for tests, benchmarks and tools: a message of every kind, and a throwaway PKI.

TEST MATERIAL ONLY: invented people with pinned ids and times; the PKI's keys are generated per
process (``throwaway_world``) and never written anywhere. Nothing here is used by a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from uuid import UUID, uuid4

from protocol import (
    Acknowledgement,
    ArrestWarrant,
    CaseMessage,
    Diffusion,
    DocumentQuery,
    MessageBase,
    NoticeCancelled,
    NoticePublished,
    NoticeRefused,
    NoticeRequest,
    NoticeUpdated,
    PersonNotice,
    Presence,
    RedNotice,
    SearchHit,
    SearchRequest,
    SearchResult,
    ToAll,
    ToBureaus,
    default_roster,
)
from protocol.security.envelope import EnvelopeCodec
from protocol.security.pki import (
    BureauCredentials,
    BureauIdentity,
    CertificateAuthority,
    TrustStore,
)
from protocol.security.replay import ReplayGuard

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
RED = RedNotice(
    name="EXEMPLE",
    forename="JEAN-MARC",
    date_of_birth="1979/04",
    nationalities=("FR",),
    arrest_warrants=(ArrestWarrant(issuing_country_id="FR", charge="Fraude en bande organisée"),),
)


def uid(n: int) -> UUID:
    """A pinned message id."""
    return UUID(int=n)


def sample_messages() -> dict[str, MessageBase]:
    """One realistic example of every message kind, by kind."""
    to_gs = ToBureaus(bureaus=("gs",))
    to_fr = ToBureaus(bureaus=("FR",))
    base = {"created_at": T0}
    return {
        "notice-request": NoticeRequest(
            message_id=uid(1),
            sender="FR",
            recipients=to_gs,
            notice=RED,
            summary_of_facts="Organised fraud, 2024-2026.",
            **base,
        ),
        "notice-published": NoticePublished(
            message_id=uid(2),
            sender="gs",
            recipients=ToAll(),
            request_id=uid(1),
            notice=RED.model_copy(update={"entity_id": "2026/41298"}),
            priority="urgent",
            **base,
        ),
        "notice-updated": NoticeUpdated(
            message_id=uid(3),
            sender="gs",
            recipients=ToAll(),
            entity_id="2026/41298",
            revision=1,
            notice=RED.model_copy(update={"entity_id": "2026/41298", "height": 1.81}),
            **base,
        ),
        "notice-cancelled": NoticeCancelled(
            message_id=uid(4),
            sender="gs",
            recipients=ToAll(),
            entity_id="2026/41298",
            reason="Arrested.",
            **base,
        ),
        "notice-refused": NoticeRefused(
            message_id=uid(5),
            sender="gs",
            recipients=to_fr,
            request_id=uid(1),
            reason="article-3",
            **base,
        ),
        "diffusion": Diffusion(
            message_id=uid(6),
            sender="DE",
            recipients=ToBureaus(bureaus=("FR", "BE", "NL")),
            diffusion_type="locate",
            text="Locate and report.",
            subject=PersonNotice(name="MUSTER", forename="ERIKA"),
            handling_code="H2",
            tlp="TLP:AMBER",
            **base,
        ),
        "case-message": CaseMessage(
            message_id=uid(7),
            sender="KE",
            recipients=to_fr,
            case_reference="KE/2026/0042",
            subject="Follow-up",
            body="Please confirm the address.",
            **base,
        ),
        "search-request": SearchRequest(
            message_id=uid(8),
            sender="BR",
            recipients=to_gs,
            query=DocumentQuery(document_number="X1234567", issuing_country="BR"),
            **base,
        ),
        "search-result": SearchResult(
            message_id=uid(9),
            sender="gs",
            recipients=ToBureaus(bureaus=("BR",)),
            request_id=uid(8),
            outcome="hit",
            hits=(SearchHit(record_id="SLTD-1", summary="Passport reported stolen", owner="BR"),),
            **base,
        ),
        "acknowledgement": Acknowledgement(
            message_id=uid(10),
            sender="FR",
            recipients=to_gs,
            refers_to=uid(2),
            status="received",
            **base,
        ),
        "presence": Presence(
            message_id=uid(11), sender="FR", recipients=ToAll(), status="birth", **base
        ),
    }


def diffusion(
    sender: str,
    to: tuple[str, ...],
    text: str = "Please check your records.",
    diffusion_type: str = "information",
) -> Diffusion:
    """A fresh diffusion from ``sender`` to ``to``, created now (for network tests)."""
    return Diffusion(
        message_id=uuid4(),
        sender=sender,
        recipients=ToBureaus(bureaus=to),
        created_at=datetime.now(UTC),
        diffusion_type=diffusion_type,
        text=text,
    )


NOW = datetime(2026, 11, 23, 9, 0, 5, tzinfo=UTC)
ISSUED = NOW - timedelta(days=10)


@dataclass(frozen=True)
class World:
    """A GS root and a certificate for every bureau of the bundled roster."""

    ca: CertificateAuthority
    identities: dict[str, BureauIdentity]

    base: TrustStore

    def trust(self) -> TrustStore:
        """A trust store of every certificate (a copy: revocations stay in it)."""
        return self.base.copy()

    def codec(self, bureau: str, **kwargs: object) -> EnvelopeCodec:
        """An envelope codec for ``bureau``, with its own trust store and replay memory."""
        return EnvelopeCodec(
            BureauCredentials(self.identities[bureau]),
            self.trust(),
            replay=ReplayGuard(),
            **kwargs,  # type: ignore[arg-type]
        )


@cache
def throwaway_world() -> World:
    """The world, built once per process."""
    ca = CertificateAuthority.create(ISSUED - timedelta(days=1), timedelta(days=3650))
    identities = {b.id: ca.issue(b, ISSUED, timedelta(days=365)) for b in default_roster()}
    base = TrustStore(ca.root_certificate)
    for identity in identities.values():
        base.add(identity.certificate.der)
    return World(ca, identities, base)
