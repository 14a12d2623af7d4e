"""Realistic, synthetic example messages for schema engineers: ``bureaunet generate``.

Every person here is invented; names are drawn from short lists of common given and family
names in several scripts. The generator leans towards the awkward cases real data has: partial
dates of birth, names in their original script, several arrest warrants, null translations, long
distinguishing marks. Pure: a seeded ``random.Random`` goes in, validated models come out.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID

from protocol.errors import UnknownKindError
from protocol.messages.codec import DOCUMENT_TYPES
from protocol.messages.models import (
    MESSAGE_KINDS,
    Acknowledgement,
    Attachment,
    CaseMessage,
    Diffusion,
    DocumentQuery,
    MessageBase,
    NominalQuery,
    NoticeCancelled,
    NoticePublished,
    NoticeRefused,
    NoticeRequest,
    NoticeUpdated,
    Presence,
    SearchHit,
    SearchRequest,
    SearchResult,
    ToAll,
    ToBureaus,
    ToRegion,
    VehicleQuery,
)
from protocol.messages.notices import (
    ArrestWarrant,
    Asset,
    BlackNotice,
    BlueNotice,
    GreenNotice,
    NoticeDocument,
    OrangeNotice,
    PersonNotice,
    PurpleNotice,
    RedNotice,
    SilverNotice,
    UnSpecialNotice,
    YellowNotice,
)
from protocol.network.roster import REGIONS, Roster, default_roster

__all__ = ["GENERATABLE", "generate"]

_FORENAMES = [
    "JEAN-MARC",
    "MARIA JOSE",
    "AHMED",
    "OLENA",
    "KWAME",
    "MEI",
    "JUAN CARLOS",
    "ANNA",
    "SIPHO",
    "FATIMA ZAHRA",
    "DMITRI",
    "PRIYA",
    "LUCAS",
    "AMINATA",
    "HIROSHI",
]
_NAMES = [
    "EXEMPLE",
    "MUSTERMANN",
    "DOE",
    "ROSSI",
    "NOWAK",
    "OKAFOR",
    "GARCIA LOPEZ",
    "KOWALSKA",
    "NDIAYE",
    "HASHEMI",
    "SANTOS",
    "TANAKA",
    "VAN DER BERG",
    "O'NEILL",
    "MBEKI",
]
_ORIGINAL = [
    "Дмитрий Иванов",
    "محمد عبد الله",
    "王伟",
    "田中 浩",
    "Νίκος Παπαδόπουλος",
    "אברהם כהן",
    "김민준",
    "สมชาย ใจดี",
]
_LANGS = ["ENG", "FRE", "SPA", "ARA", "RUS", "POR", "CHI", "GER"]
_CHARGES = [
    ("Escroquerie en bande organisée", "Organised fraud"),
    ("Tráfico de drogas", "Drug trafficking"),
    ("Mord", "Murder"),
    ("Trata de personas", None),
    ("Blanchiment d'argent", "Money laundering"),
    ("Armed robbery", None),
]
_MARKS = "Scar on the left forearm; tattoo of an anchor on the right wrist; gold tooth, upper left"


def _date(rng: random.Random) -> str:
    year = rng.randrange(1950, 2006)
    form = rng.choice(["full", "full", "month", "year"])  # partial dates are common
    if form == "year":
        return f"{year:04d}"
    month = rng.randrange(1, 13)
    if form == "month":
        return f"{year:04d}/{month:02d}"
    return f"{year:04d}/{month:02d}/{rng.randrange(1, 29):02d}"


def _person(rng: random.Random, countries: list[str]) -> dict[str, object]:
    nationalities = tuple(rng.sample(countries, k=rng.choice([1, 1, 2])))
    return {
        "forename": rng.choice(_FORENAMES),
        "name": rng.choice(_NAMES),
        "date_of_birth": _date(rng),
        "sex_id": rng.choice(["M", "F", "U"]),
        "nationalities": nationalities,
        "country_of_birth_id": nationalities[0],
        "place_of_birth": rng.choice(["Lyon", "Lagos", "Quito", "Kyiv", "Osaka", None]),
        "languages_spoken_ids": tuple(rng.sample(_LANGS, k=rng.randrange(1, 3))),
        "height": rng.choice([0, round(rng.uniform(1.5, 2.0), 2)]),
        "weight": rng.choice([0, rng.randrange(50, 110)]),
        "eyes_colors_id": (rng.choice(["BRO", "BLU", "GRE", "BLA"]),),
        "hairs_id": (rng.choice(["BRO", "BLA", "GRY", "BLO"]),),
        "distinguishing_marks": rng.choice([None, _MARKS, (_MARKS + "; ") * 4]),
    }


def _notice(  # noqa: PLR0911 - one return per notice type
    rng: random.Random, kind: str, countries: list[str], entity: str | None = None
) -> NoticeDocument:
    person = _person(rng, countries)
    if kind == "red-notice":
        warrants = tuple(
            ArrestWarrant(
                issuing_country_id=rng.choice(countries),
                charge=charge,
                charge_translation=translation,
            )
            for charge, translation in rng.sample(_CHARGES, k=rng.randrange(1, 4))
        )
        return RedNotice(**person, arrest_warrants=warrants, entity_id=entity)
    if kind == "yellow-notice":
        return YellowNotice(
            **person,
            date_of_event=_date(rng),
            place="Central station",
            country=rng.choice(countries),
            mother_name=rng.choice(_NAMES),
            entity_id=entity,
        )
    if kind == "blue-notice":
        return BlueNotice(
            **person,
            information_sought="Current address and associates.",
            entity_id=entity,
        )
    if kind == "green-notice":
        return GreenNotice(
            **person,
            criminal_activity="Repeated online grooming of minors.",
            entity_id=entity,
        )
    if kind == "silver-notice":
        return SilverNotice(
            **person,
            predicate_offence="Investment fraud",
            assets=(
                Asset(
                    asset_type="real-estate",
                    description="Villa held through a shell company",
                    country=rng.choice(countries),
                    estimated_value_eur=rng.choice([None, 2.5e6]),
                ),
            ),
            entity_id=entity,
        )
    if kind == "black-notice":
        return BlackNotice(
            sex_id=rng.choice(["M", "F", "U"]),
            estimated_age_min=30,
            estimated_age_max=45,
            date_of_event=_date(rng),
            place="Riverbank",
            country=rng.choice(countries),
            distinguishing_marks=_MARKS,
            entity_id=entity,
        )
    if kind == "orange-notice":
        return OrangeNotice(
            threat_type="object",
            description="Parcel bombs disguised as books.",
            countries_concerned=tuple(rng.sample(countries, k=3)),
            entity_id=entity,
        )
    if kind == "purple-notice":
        return PurpleNotice(
            modus_operandi="Drugs hidden in hollowed-out pineapples.",
            objects=("pineapples",),
            concealment_methods=("fruit cargo",),
            entity_id=entity,
        )
    # as the public API serves a UN notice: the resolution as a number, the listing's date
    return UnSpecialNotice(
        subject_type="person",
        un_reference=f"QDi.{rng.randrange(1, 500)}",
        un_resolution=rng.choice((1267, 1988, 2253)),
        un_reference_date=f"{rng.randrange(2001, 2026)}/{rng.randrange(1, 13):02d}",
        name=rng.choice(_NAMES),
        name_in_original_script=rng.choice(_ORIGINAL),
        aliases=tuple(rng.sample(_NAMES, k=2)),
        main_activity="Financing a listed organisation.",
        sanctions=("assets-freeze", "travel-ban"),
        entity_id=entity,
    )


def _uuid(rng: random.Random) -> UUID:
    return UUID(int=rng.getrandbits(128), version=4)


def _message(rng: random.Random, kind: str, roster: Roster, now: datetime) -> MessageBase:
    ncbs = [b.id for b in roster.ncbs()]
    countries = ncbs
    sender = rng.choice(ncbs)
    other = rng.choice([n for n in ncbs if n != sender])
    base: dict[str, object] = {
        "message_id": _uuid(rng),
        "created_at": now - timedelta(seconds=rng.randrange(86_400)),
        "priority": rng.choice(["routine", "routine", "urgent", "flash"]),
        "handling_code": rng.choice(["H0", "H1", "H2", "H3"]),
        "tlp": rng.choice([None, "TLP:AMBER", "TLP:GREEN", "TLP:RED"]),
    }
    to_gs = ToBureaus(bureaus=("gs",))
    entity = f"{now.year}/{rng.randrange(10_000, 99_999)}"
    notice_kind = rng.choice(sorted(DOCUMENT_TYPES))
    builders: dict[str, Callable[[], MessageBase]] = {
        "notice-request": lambda: NoticeRequest(
            **base,
            sender=sender,
            recipients=to_gs,
            notice=_notice(rng, notice_kind, countries),
            summary_of_facts="The facts of the case.",
        ),
        "notice-published": lambda: NoticePublished(
            **base,
            sender="gs",
            recipients=ToAll(),
            notice=_notice(rng, notice_kind, countries, entity),
        ),
        "notice-updated": lambda: NoticeUpdated(
            **base,
            sender="gs",
            recipients=ToAll(),
            entity_id=entity,
            revision=rng.randrange(1, 4),
            notice=_notice(rng, notice_kind, countries, entity),
        ),
        "notice-cancelled": lambda: NoticeCancelled(
            **base,
            sender="gs",
            recipients=ToAll(),
            entity_id=entity,
            reason="Arrested.",
        ),
        "notice-refused": lambda: NoticeRefused(
            **base,
            sender="gs",
            recipients=ToBureaus(bureaus=(sender,)),
            request_id=_uuid(rng),
            reason="article-3",
            detail="A matter of a political character.",
        ),
        "diffusion": lambda: Diffusion(
            **base,
            sender=sender,
            recipients=rng.choice(
                [ToBureaus(bureaus=(other,)), ToRegion(region=rng.choice(REGIONS))]
            ),
            diffusion_type=rng.choice(["wanted", "locate", "warning"]),
            text="Please locate and report.",
            subject=PersonNotice(**_person(rng, countries)),
        ),
        "case-message": lambda: CaseMessage(
            **base,
            sender=sender,
            recipients=ToBureaus(bureaus=(other,)),
            case_reference=f"{sender}/{now.year}/{rng.randrange(1, 9999):04d}",
            subject="Follow-up",
            body="See attached statement.",
            attachments=(
                Attachment(
                    filename="statement.pdf",
                    media_type="application/pdf",
                    size_bytes=rng.randrange(10**3, 10**7),
                    sha256=f"{rng.getrandbits(256):064x}",
                ),
            ),
        ),
        "search-request": lambda: SearchRequest(
            **base,
            sender=sender,
            recipients=to_gs,
            query=rng.choice(
                [
                    NominalQuery(name=rng.choice(_NAMES), date_of_birth=_date(rng)),
                    DocumentQuery(
                        document_number=f"P{rng.randrange(10**7):07d}",
                        issuing_country=rng.choice(countries),
                    ),
                    VehicleQuery(plate=f"AB {rng.randrange(1000)}"),
                ]
            ),
        ),
        "search-result": lambda: SearchResult(
            **base,
            sender="gs",
            recipients=ToBureaus(bureaus=(sender,)),
            request_id=_uuid(rng),
            outcome="hit",
            hits=(SearchHit(record_id="SLTD-42", summary="Passport reported stolen", owner=other),),
        ),
        "acknowledgement": lambda: Acknowledgement(
            **base,
            sender=sender,
            recipients=to_gs,
            refers_to=_uuid(rng),
            status=rng.choice(["received", "read", "actioned"]),
        ),
        "presence": lambda: Presence(
            **base,
            sender=sender,
            recipients=ToAll(),
            status=rng.choice(["birth", "death"]),
        ),
    }
    return builders[kind]()


GENERATABLE: tuple[str, ...] = (*MESSAGE_KINDS, *DOCUMENT_TYPES)
"""Every kind ``generate`` can make: message kinds and notice documents."""


def generate(
    kind: str,
    count: int,
    rng: random.Random,
    *,
    now: datetime | None = None,
    roster: Roster | None = None,
) -> list[MessageBase | NoticeDocument]:
    """``count`` valid examples of ``kind``.

    Raises:
        UnknownKindError: ``kind`` is not in :data:`GENERATABLE`.
    """
    if kind not in GENERATABLE:
        raise UnknownKindError(kind, GENERATABLE)
    roster = roster or default_roster()
    now = now or datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    countries = [b.id for b in roster.ncbs()]
    if kind in DOCUMENT_TYPES:
        return [_notice(rng, kind, countries) for _ in range(count)]
    return [_message(rng, kind, roster, now) for _ in range(count)]
