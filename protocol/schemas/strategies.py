"""Hypothesis strategies that build valid instances of every message kind and notice document.

For property tests, ours and yours: ``MESSAGES[kind]`` and ``NOTICES[name]`` are strategies for
one kind, ``messages`` and ``notices`` for any. Needs ``hypothesis`` (the ``testing`` extra:
``pip install 'bureaunet[testing]'``); nothing else in ``protocol`` imports this module.
"""

from __future__ import annotations

from datetime import UTC, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from protocol import (
    Acknowledgement,
    ArrestWarrant,
    Asset,
    Attachment,
    BlackNotice,
    BlueNotice,
    CaseMessage,
    Diffusion,
    DocumentQuery,
    GreenNotice,
    NominalQuery,
    NoticeCancelled,
    NoticePublished,
    NoticeRefused,
    NoticeRequest,
    NoticeUpdated,
    OrangeNotice,
    PersonNotice,
    Presence,
    PurpleNotice,
    RedNotice,
    SearchHit,
    SearchRequest,
    SearchResult,
    SilverNotice,
    ToAll,
    ToBureaus,
    ToRegion,
    UnSpecialNotice,
    VehicleQuery,
    YellowNotice,
    default_roster,
)
from protocol.messages.iso3166 import ALPHA2
from protocol.network.roster import REGIONS

_ROSTER = default_roster()
bureau_ids = st.sampled_from(sorted(_ROSTER.ids))
countries = st.sampled_from(sorted(ALPHA2))
short_text = st.text(min_size=1, max_size=30)
long_text = st.text(min_size=1, max_size=200)
upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
lang = st.text(alphabet=upper, min_size=3, max_size=3)
colour = st.text(alphabet=upper, min_size=3, max_size=4)
entity_ids = st.builds(
    lambda y, n: f"{y:04d}/{n:05d}", st.integers(1946, 2099), st.integers(1, 99_999)
)


def tuples(elements: st.SearchStrategy[Any], max_size: int = 3, min_size: int = 0) -> Any:
    """Tuples of ``elements`` (the models hold tuples, not lists)."""
    return st.lists(elements, min_size=min_size, max_size=max_size).map(tuple)


def opt(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``None`` or a value of ``strategy``."""
    return st.none() | strategy


@st.composite
def partial_dates(draw: st.DrawFn) -> str:
    """Dates as YYYY/MM/DD, YYYY/MM or YYYY."""
    day = draw(st.dates())
    full = f"{day.year:04d}/{day.month:02d}/{day.day:02d}"
    return full[: draw(st.sampled_from([4, 7, 10]))]


timezones = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=3))]
)
created_at = st.datetimes(timezones=timezones)
recipients = st.one_of(
    st.builds(ToAll),
    st.builds(ToRegion, region=st.sampled_from(REGIONS)),
    st.builds(
        ToBureaus,
        bureaus=tuples(bureau_ids, max_size=5, min_size=1).filter(lambda t: len(set(t)) == len(t)),
    ),
)

_person: dict[str, Any] = {
    "entity_id": opt(entity_ids),
    "forename": opt(short_text),
    "name": opt(short_text),
    "date_of_birth": opt(partial_dates()),
    "sex_id": opt(st.sampled_from(["M", "F", "U"])),
    "nationalities": opt(tuples(countries)),
    "country_of_birth_id": opt(countries),
    "place_of_birth": opt(short_text),
    "languages_spoken_ids": opt(tuples(lang)),
    "height": opt(st.floats(0, 3)),
    "weight": opt(st.floats(0, 500)),
    "eyes_colors_id": opt(tuples(colour)),
    "hairs_id": opt(tuples(colour)),
    "distinguishing_marks": opt(long_text),
}

warrants = st.builds(
    ArrestWarrant,
    issuing_country_id=countries,
    charge=long_text,
    charge_translation=opt(long_text),
)
assets = st.builds(
    Asset,
    asset_type=st.sampled_from(
        ["real-estate", "vehicle", "vessel", "bank-account", "company", "other"]
    ),
    description=long_text,
    country=opt(countries),
    estimated_value_eur=opt(st.floats(0, 1e12)),
)

NOTICES: dict[str, st.SearchStrategy[Any]] = {
    "red-notice": st.builds(
        RedNotice, **{**_person, "name": short_text}, arrest_warrants=tuples(warrants, min_size=1)
    ),
    "yellow-notice": st.builds(
        YellowNotice,
        **_person,
        date_of_event=opt(partial_dates()),
        place=opt(short_text),
        country=opt(countries),
        father_forename=opt(short_text),
        father_name=opt(short_text),
        mother_forename=opt(short_text),
        mother_name=opt(short_text),
    ),
    "blue-notice": st.builds(BlueNotice, **_person, information_sought=long_text),
    "black-notice": st.builds(
        BlackNotice,
        entity_id=opt(entity_ids),
        sex_id=opt(st.sampled_from(["M", "F", "U"])),
        estimated_age_min=opt(st.integers(0, 50)),
        estimated_age_max=opt(st.integers(50, 130)),
        height=opt(st.floats(0, 3)),
        date_of_event=partial_dates(),
        place=short_text,
        country=countries,
        distinguishing_marks=opt(long_text),
    ),
    "green-notice": st.builds(GreenNotice, **_person, criminal_activity=long_text),
    "orange-notice": st.builds(
        OrangeNotice,
        entity_id=opt(entity_ids),
        threat_type=st.sampled_from(["person", "object", "event", "process"]),
        description=long_text,
        countries_concerned=tuples(countries),
    ),
    "purple-notice": st.builds(
        PurpleNotice,
        entity_id=opt(entity_ids),
        modus_operandi=long_text,
        objects=tuples(short_text),
        devices=tuples(short_text),
        concealment_methods=tuples(short_text),
    ),
    "silver-notice": st.builds(
        SilverNotice, **_person, predicate_offence=long_text, assets=tuples(assets, min_size=1)
    ),
    "un-special-notice": st.builds(
        UnSpecialNotice,
        entity_id=opt(entity_ids),
        subject_type=st.sampled_from(["person", "entity"]),
        un_reference=st.builds(
            lambda p, n: f"{p}.{n}", st.sampled_from(["QDi", "QDe", "KPi"]), st.integers(1, 9999)
        ),
        un_resolution=short_text,
        name=short_text,
        forename=opt(short_text),
        name_in_original_script=opt(short_text),
        aliases=tuples(short_text),
        nationalities=opt(tuples(countries)),
        date_of_birth=opt(partial_dates()),
        sanctions=tuples(st.sampled_from(["assets-freeze", "travel-ban", "arms-embargo"])),
    ),
}
notices = st.one_of(*NOTICES.values())
published_notices = notices.filter(lambda n: n.entity_id is not None)

_base: dict[str, Any] = {
    "message_id": st.uuids(),
    "sender": bureau_ids,
    "recipients": recipients,
    "created_at": created_at,
    "priority": st.sampled_from(["routine", "urgent", "flash"]),
    "handling_code": st.sampled_from(["H0", "H1", "H2", "H3"]),
    "tlp": opt(
        st.sampled_from(["TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED"])
    ),
}

queries = st.one_of(
    st.builds(
        NominalQuery,
        name=short_text,
        forename=opt(short_text),
        date_of_birth=opt(partial_dates()),
        nationality=opt(countries),
    ),
    st.builds(
        DocumentQuery,
        document_number=st.from_regex(r"\A[A-Z0-9]{5,20}\Z"),
        issuing_country=countries,
        document_type=st.sampled_from(["passport", "id-card", "visa", "other"]),
    ),
    st.builds(
        VehicleQuery,
        vin=st.from_regex(r"\A[A-HJ-NPR-Z0-9]{17}\Z"),
        plate=opt(st.from_regex(r"\A[A-Z0-9]{2,15}\Z")),
        registration_country=opt(countries),
    ),
)
hits = st.builds(
    SearchHit, record_id=short_text, summary=short_text, owner=bureau_ids, entity_id=opt(entity_ids)
)
attachments = st.builds(
    Attachment,
    filename=st.from_regex(r"\A[a-z0-9_]{1,20}\.pdf\Z"),
    media_type=st.just("application/pdf"),
    size_bytes=st.integers(0, 10**9),
    sha256=st.from_regex(r"\A[0-9a-f]{64}\Z"),
)

MESSAGES: dict[str, st.SearchStrategy[Any]] = {
    "notice-request": st.builds(NoticeRequest, **_base, notice=notices, summary_of_facts=long_text),
    "notice-published": st.builds(
        NoticePublished, **_base, notice=published_notices, request_id=opt(st.uuids())
    ),
    "notice-updated": st.builds(
        NoticeUpdated, **_base, entity_id=entity_ids, revision=st.integers(1, 1000), notice=notices
    ),
    "notice-cancelled": st.builds(NoticeCancelled, **_base, entity_id=entity_ids, reason=long_text),
    "notice-refused": st.builds(
        NoticeRefused,
        **_base,
        request_id=st.uuids(),
        reason=st.sampled_from(
            ["missing-fields", "article-3", "insufficient-data", "duplicate", "other"]
        ),
        detail=opt(long_text),
    ),
    "diffusion": st.builds(
        Diffusion,
        **_base,
        diffusion_type=st.sampled_from(["wanted", "missing", "information", "warning", "locate"]),
        text=long_text,
        subject=opt(st.builds(PersonNotice, **_person)),
        response_requested=st.booleans(),
    ),
    "case-message": st.builds(
        CaseMessage,
        **_base,
        case_reference=st.from_regex(r"\A[A-Z0-9][A-Z0-9/.-]{2,20}\Z"),
        subject=short_text,
        body=long_text,
        attachments=tuples(attachments),
        in_reply_to=opt(st.uuids()),
    ),
    "search-request": st.builds(SearchRequest, **_base, query=queries),
    "search-result": st.one_of(
        st.builds(
            SearchResult,
            **_base,
            request_id=st.uuids(),
            outcome=st.just("hit"),
            hits=tuples(hits, min_size=1),
        ),
        st.builds(SearchResult, **_base, request_id=st.uuids(), outcome=st.just("no-hit")),
    ),
    "acknowledgement": st.builds(
        Acknowledgement,
        **_base,
        refers_to=st.uuids(),
        status=st.sampled_from(["received", "read", "actioned"]),
    ),
    "presence": st.builds(Presence, **_base, status=st.sampled_from(["birth", "death"])),
}
messages = st.one_of(*MESSAGES.values())


yaml_like: st.SearchStrategy[str] = st.one_of(
    st.text(max_size=400),
    st.text(alphabet="{}[]:-,'\"!&*#|>\n abc012.\t%@`", max_size=300),
    st.builds(lambda n: "[" * n + "]" * n, st.sampled_from([3, 200, 1100])),  # deep nesting
    st.builds(lambda n: "a: " + "{b: " * n + "1" + "}" * n, st.sampled_from([3, 300, 900])),
    st.sampled_from(
        [
            "!!python/object/apply:os.system ['true']",
            "a: &x [*x]",
            "name: x\ninjects: [{at: 1e400, search: {from: FR}}]",
            "name: x\nduration: .nan",
            "name: x\nspeed: -1",
            "? [a]\n: b",
            "\ufeffname: bom",
            "name: x\ninjects:\n  - at: 1\n    search: {from: FR}\n"
            "    diffusion: {from: FR, to: DE}",
        ]
    ),
)
"""Text shaped like YAML (and like attacks on YAML loaders), for fuzzing scenario files."""

der_like: st.SearchStrategy[bytes] = st.one_of(
    st.binary(max_size=600),
    st.builds(
        lambda b: b"-----BEGIN CERTIFICATE-----\n" + b + b"\n-----END CERTIFICATE-----\n",
        st.binary(max_size=300),
    ),
)
"""Bytes shaped like certificates and revocation lists (DER, PEM), for fuzzing PKI input."""
