"""Notices shaped as the public notices API serves them validate as they are.

The documents are built from the properties of the community OpenAPI description of that API
(``RedNoticeDetail``, ``YellowNoticeDetail``, ``UNNoticeDetail``, and the paged ``RedNotices``,
``YellowNotices``, ``UNNotices``), with its example values, its nulls, partial dates, an integer
resolution number and its spellings.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from protocol import decode_as, json_schemas
from protocol.errors import DecodeError
from protocol.messages.notices import NoticePage, UnSpecialNotice, YellowNotice

HAL = {
    "_embedded": {"links": []},
    "_links": {
        "self": {"href": "https://ws-public.interpol.int/notices/v1/red/1993-27493"},
        "images": {"href": "https://ws-public.interpol.int/notices/v1/red/1993-27493/images"},
    },
}

RED: dict[str, Any] = {
    "arrest_warrants": [
        {"issuing_country_id": "DE", "charge": "Attempted murder", "charge_translation": None}
    ],
    "weight": 63,
    "forename": "DANIELA MARIE LUISE",
    "date_of_birth": "1958/11/05",
    "entity_id": "1993/27493",
    "languages_spoken_ids": ["GER"],
    "nationalities": ["DE"],
    "height": 1.65,
    "sex_id": "F",
    "country_of_birth_id": "DE",
    "name": "KLETTE",
    "distinguishing_marks": None,
    "eyes_colors_id": ["BRO"],
    "hairs_id": ["BLA"],
    "place_of_birth": "KARLSRUHE",
    **HAL,
}

YELLOW: dict[str, Any] = {
    "weight": 0,
    "birth_name": None,
    "entity_id": "2022/9888",
    "nationalities": ["DE"],
    "height": 1.65,
    "name": "MAX",
    "eyes_colors_id": ["BRO"],
    "place": "KARLSRUHE",
    "date_of_event": "2021/02",
    "hairs_id": None,
    "father_forename": "MAX",
    "mother_forename": "PAULA",
    "forename": "MAX",
    "date_of_birth": "1958",
    "languages_spoken_ids": ["GER"],
    "country": "DE",
    "country_of_birth_id": "DE",
    "sex_id": "F",
    "distinguishing_marks": None,
    "mother_name": "MUSTERMANN",
    "place_of_birth": "KARLSRUHE",
    **HAL,
}

UN_COMMON: dict[str, Any] = {
    "summary": None,
    "weight": 0,
    "profession": None,
    "purposes": [],
    "entity_id": "2021/84506",
    "aliases": None,
    "father_name": None,
    "un_reference": "QDi.432",
    "identity_documents": [],
    "nationalities": ["IQ"],
    "name_at_birth": None,
    "name_in_original_script": None,
    "un_resolution": 1267,
    "father_forename": None,
    "mother_forename": None,
    "associates": [],
    "un_reference_date": "2021/12/29",
    "forename_in_original_script": None,
    "languages_spoken_ids": ["ARA"],
    "mother_name": None,
    "adresses": [],
    "main_activity": "Associated with Islamic State in Iraq and the Levant",
    "additional_information": None,
    **HAL,
}
UN_PERSON: dict[str, Any] = {
    **UN_COMMON,
    "name": "AL-EXAMPLE",
    "forename": "ABU",
    "date_of_birth": "1975",
    "country_of_birth_id": "IQ",
    "sex_id": "M",
    "place_of_birth": "MOSUL",
    "from_chamber_of_commerce": None,
    "legal_form": None,
    "administrators": [],
    "registration_number": None,
    "formerly_known_as": None,
}
UN_ENTITY: dict[str, Any] = {
    **UN_COMMON,
    "un_reference": "QDe.045",
    "name": "EXAMPLE TRADING COMPANY",
    "forename": None,
    "date_of_birth": None,
    "nationalities": None,
    "sex_id": None,
    "legal_form": "Limited company",
    "registration_number": "12345",
    "administrators": ["A. EXAMPLE"],
    "from_chamber_of_commerce": None,
    "formerly_known_as": "EXAMPLE IMPORTS",
}


def page(kind: str, notices: list[Any]) -> dict[str, Any]:
    base = f"https://ws-public.interpol.int/notices/v1/{kind}"
    return {
        "total": 1204,
        "query": {"page": 1, "resultPerPage": 160, "nationality": "DE"},
        "_embedded": {"notices": notices},
        "_links": {
            "self": {"href": f"{base}?nationality=DE&resultPerPage=160&page=1"},
            "first": {"href": f"{base}?nationality=DE&resultPerPage=160&page=1"},
            "next": {"href": f"{base}?nationality=DE&resultPerPage=160&page=2"},
            "last": {"href": f"{base}?nationality=DE&resultPerPage=160&page=8"},
        },
    }


@pytest.mark.parametrize(
    ("kind", "document"),
    [
        ("red-notice", RED),
        ("yellow-notice", YELLOW),
        ("un-special-notice", UN_PERSON),
        ("un-special-notice", UN_ENTITY),
    ],
    ids=["red", "yellow", "un-person", "un-entity"],
)
def test_a_detail_response_validates_as_it_is(kind: str, document: dict[str, Any]) -> None:
    decode_as(json.dumps(document), kind)


def test_the_un_notice_keeps_what_the_api_says() -> None:
    person = decode_as(json.dumps(UN_PERSON), "un-special-notice")
    entity = decode_as(json.dumps(UN_ENTITY), "un-special-notice")
    assert isinstance(person, UnSpecialNotice)
    assert isinstance(entity, UnSpecialNotice)
    assert (person.subject_type, entity.subject_type) == ("person", "entity")  # derived
    assert person.un_resolution == 1267  # a number, as the API gives it
    assert person.aliases == ()  # null is the empty list
    assert entity.formerly_known_as == "EXAMPLE IMPORTS"


def test_a_yellow_notice_keeps_its_birth_name() -> None:
    notice = decode_as(json.dumps({**YELLOW, "birth_name": "MUELLER"}), "yellow-notice")
    assert isinstance(notice, YellowNotice)
    assert notice.birth_name == "MUELLER"


@pytest.mark.parametrize(
    ("kind", "entries"),
    [
        (
            "red-notices",
            [
                {
                    "forename": "DANIELA",
                    "date_of_birth": "1958/11/05",
                    "entity_id": "1993/27493",
                    "nationalities": ["DE"],
                    "name": "KLETTE",
                    "_links": {"self": {"href": "https://example.invalid/x"}},
                }
            ],
        ),
        ("yellow-notices", ["https://ws-public.interpol.int/notices/v1/yellow/2022-9888"]),
        ("un-notices", []),
    ],
)
def test_a_page_of_the_list_validates(kind: str, entries: list[Any]) -> None:
    result = decode_as(json.dumps(page(kind.removesuffix("-notices"), entries)), kind)
    assert isinstance(result, NoticePage)
    assert result.total == 1204
    assert len(result.notices) == len(entries)


@pytest.mark.parametrize(
    ("kind", "document", "pointer"),
    [
        ("red-notice", {**RED, "nationalities": ["XX"]}, "/nationalities/0"),
        ("yellow-notice", {**YELLOW, "country": "Germany"}, "/country"),
        ("un-special-notice", {**UN_PERSON, "country_of_birth_id": "QQ"}, "/country_of_birth_id"),
        ("red-notices", page("red", [{"nationalities": ["ZZ"]}]), "/_embedded/notices/0"),
    ],
)
def test_a_bad_country_code_is_still_refused_with_its_path(
    kind: str, document: dict[str, Any], pointer: str
) -> None:
    with pytest.raises(DecodeError) as caught:
        decode_as(json.dumps(document), kind)
    assert [i for i in caught.value.issues if i.pointer.startswith(pointer)], caught.value.issues


@pytest.mark.parametrize(
    ("kind", "document"),
    [
        ("red-notice", RED),
        ("yellow-notice", YELLOW),
        ("un-special-notice", UN_PERSON),
        ("un-special-notice", UN_ENTITY),
        ("red-notices", page("red", [{"name": "KLETTE"}])),
        ("yellow-notices", page("yellow", ["https://ws-public.interpol.int/notices/v1/yellow/1"])),
    ],
)
def test_the_exported_json_schema_accepts_the_same_documents(
    kind: str, document: dict[str, Any]
) -> None:
    jsonschema.validate(document, json_schemas()[kind])


def test_a_blank_text_where_the_api_has_nothing_is_read_as_null() -> None:
    notice = decode_as(
        json.dumps({**YELLOW, "place_of_birth": "", "mother_name": " "}), "yellow-notice"
    )
    assert isinstance(notice, YellowNotice)
    assert (notice.place_of_birth, notice.mother_name) == (None, None)
