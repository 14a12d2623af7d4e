"""One fixed, realistic example of every message kind (invented people, pinned ids and times)."""

from __future__ import annotations

from datetime import UTC, datetime
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
)

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
RED = RedNotice(
    name="EXEMPLE",
    forename="JEAN-MARC",
    date_of_birth="1979/04",
    nationalities=("FR",),
    arrest_warrants=(ArrestWarrant(issuing_country_id="FR", charge="Fraude en bande organisée"),),
)


def uid(n: int) -> UUID:
    return UUID(int=n)


def sample_messages() -> dict[str, MessageBase]:
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
