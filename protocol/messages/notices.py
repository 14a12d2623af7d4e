"""Notice documents: the nine kinds of notice, as the public notices API shapes them.

A notice is a *document* carried by lifecycle messages (``notice-request``, ``notice-published``,
``notice-updated``): the person or object it is about, and what is asked. Person fields use the
names of the public notices API, so that API's JSON validates as it is; fields that API adds for
hypermedia (``_links``, ``_embedded`` and any other key starting with ``_``) are accepted and
dropped on input and never emitted. Any other unknown field is an error.

Each document has a ``notice_type`` discriminator with a default, so a document on its own (as the
API serves it) validates without one, and a document inside a message always carries it.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AliasPath,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    model_validator,
)

from protocol.messages.types import (
    Code,
    Count,
    CountryCode,
    EntityId,
    LanguageCode,
    LongText,
    MaybeLong,
    MaybeShort,
    Number,
    PartialDate,
    ShortText,
    Texts,
)

__all__ = [
    "ArrestWarrant",
    "Asset",
    "BlackNotice",
    "BlueNotice",
    "GreenNotice",
    "Notice",
    "NoticeDocument",
    "NoticePage",
    "NoticeSummary",
    "OrangeNotice",
    "PersonNotice",
    "PurpleNotice",
    "RedNotice",
    "SilverNotice",
    "UnSpecialNotice",
    "YellowNotice",
]

Sex = Literal["M", "F", "U"]


def _hypermedia_allowed(schema: dict[str, Any]) -> None:
    """In the exported JSON Schema too, keys starting with ``_`` are accepted (and ignored)."""
    schema["patternProperties"] = {"^_": {}}


class NoticeDocument(BaseModel):
    """Fields every notice document has."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        use_attribute_docstrings=True,
        json_schema_extra=_hypermedia_allowed,
    )

    entity_id: EntityId | None = None
    """The notice's id, assigned by the General Secretariat on publication (absent in a request)."""

    @model_validator(mode="before")
    @classmethod
    def _drop_hypermedia(cls, data: Any) -> Any:
        # The public API decorates documents with HAL keys (_links, _embedded): not part of the
        # notice, accepted and dropped. Everything else unknown is still refused (extra="forbid").
        if isinstance(data, dict) and any(isinstance(k, str) and k.startswith("_") for k in data):
            return {k: v for k, v in data.items() if not (isinstance(k, str) and k.startswith("_"))}
        return data


class PersonNotice(NoticeDocument):
    """The person fields of the public notices API, shared by notices about a person."""

    forename: MaybeShort = None
    """Given names, as in the identity documents."""
    name: MaybeShort = None
    """Family name."""
    date_of_birth: PartialDate | None = None
    """Date of birth; may be partial (YYYY/MM or YYYY)."""
    sex_id: Sex | None = None
    """Sex: M, F or U (unknown)."""
    nationalities: tuple[CountryCode, ...] | None = None
    """Nationalities, ISO 3166-1 alpha-2."""
    country_of_birth_id: CountryCode | None = None
    """Country of birth, ISO 3166-1 alpha-2."""
    place_of_birth: MaybeShort = None
    """Place of birth as written in the source."""
    languages_spoken_ids: tuple[LanguageCode, ...] | None = None
    """Languages spoken, three-letter codes."""
    height: Annotated[Number, Field(ge=0, le=3)] | None = None
    """Height in metres (0 when unknown, as the API serves it)."""
    weight: Annotated[Number, Field(ge=0, le=500)] | None = None
    """Weight in kilograms (0 when unknown, as the API serves it)."""
    eyes_colors_id: tuple[Code, ...] | None = None
    """Eye colour codes."""
    hairs_id: tuple[Code, ...] | None = None
    """Hair colour codes."""
    distinguishing_marks: MaybeLong = None
    """Scars, tattoos and other distinguishing marks."""


class ArrestWarrant(BaseModel):
    """One arrest warrant or judicial decision behind a Red notice."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    issuing_country_id: CountryCode
    """The country whose judicial authority issued the warrant."""
    charge: LongText
    """The charge, in the issuing country's words."""
    charge_translation: MaybeLong = None
    """A translation of the charge, or null when none is given."""


class RedNotice(PersonNotice):
    """Red notice: locate and provisionally arrest a person for prosecution or a sentence."""

    notice_type: Literal["red"] = "red"
    """Discriminator."""
    name: ShortText
    """Family name (required for a Red notice)."""
    arrest_warrants: Annotated[tuple[ArrestWarrant, ...], Field(min_length=1)]
    """The warrants or judicial decisions the request rests on (at least one)."""


class YellowNotice(PersonNotice):
    """Yellow notice: locate a missing person, or identify a person unable to identify themself."""

    notice_type: Literal["yellow"] = "yellow"
    """Discriminator."""
    date_of_event: PartialDate | None = None
    """When the person disappeared."""
    place: MaybeShort = None
    """Where the person disappeared."""
    country: CountryCode | None = None
    """The country where the person disappeared."""
    father_forename: MaybeShort = None
    """Father's given names."""
    father_name: MaybeShort = None
    """Father's family name."""
    mother_forename: MaybeShort = None
    """Mother's given names."""
    mother_name: MaybeShort = None
    """Mother's family name."""
    birth_name: MaybeShort = None
    """Family name at birth, when it differs."""


class BlueNotice(PersonNotice):
    """Blue notice: collect information about a person's identity, location or activities."""

    notice_type: Literal["blue"] = "blue"
    """Discriminator."""
    information_sought: LongText
    """What the requesting country wants to know."""


class BlackNotice(NoticeDocument):
    """Black notice: seek information on an unidentified body."""

    notice_type: Literal["black"] = "black"
    """Discriminator."""
    sex_id: Sex | None = None
    """Sex of the deceased: M, F or U."""
    estimated_age_min: Annotated[Count, Field(ge=0, le=130)] | None = None
    """Lower bound of the estimated age, years."""
    estimated_age_max: Annotated[Count, Field(ge=0, le=130)] | None = None
    """Upper bound of the estimated age, years."""
    height: Annotated[Number, Field(ge=0, le=3)] | None = None
    """Height in metres."""
    date_of_event: PartialDate
    """When the body was found."""
    place: ShortText
    """Where the body was found."""
    country: CountryCode
    """The country where the body was found."""
    distinguishing_marks: MaybeLong = None
    """Scars, tattoos, dental work, clothing and other identifying features."""

    @model_validator(mode="after")
    def _age_range(self) -> BlackNotice:
        low, high = self.estimated_age_min, self.estimated_age_max
        if low is not None and high is not None and low > high:
            raise ValueError(f"estimated_age_min {low} is above estimated_age_max {high}")
        return self


class GreenNotice(PersonNotice):
    """Green notice: warn about a person's criminal activities that threaten public safety."""

    notice_type: Literal["green"] = "green"
    """Discriminator."""
    criminal_activity: LongText
    """The activities the warning is about."""


class OrangeNotice(NoticeDocument):
    """Orange notice: warn of an event, person, object or process posing an imminent threat."""

    notice_type: Literal["orange"] = "orange"
    """Discriminator."""
    threat_type: Literal["person", "object", "event", "process"]
    """What poses the threat."""
    description: LongText
    """The threat and how to recognise it."""
    countries_concerned: tuple[CountryCode, ...] = ()
    """Countries where the threat is expected, if known."""


class PurpleNotice(NoticeDocument):
    """Purple notice: modus operandi, objects, devices and concealment methods used by criminals."""

    notice_type: Literal["purple"] = "purple"
    """Discriminator."""
    modus_operandi: LongText
    """How the offence is committed."""
    objects: tuple[ShortText, ...] = ()
    """Objects used or targeted."""
    devices: tuple[ShortText, ...] = ()
    """Devices used."""
    concealment_methods: tuple[ShortText, ...] = ()
    """How items or people are hidden."""


class Asset(BaseModel):
    """One criminal asset to trace under a Silver notice."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    asset_type: Literal["real-estate", "vehicle", "vessel", "bank-account", "company", "other"]
    """What kind of asset it is."""
    description: LongText
    """The asset, as precisely as known."""
    country: CountryCode | None = None
    """Where the asset is believed to be."""
    estimated_value_eur: Annotated[Number, Field(ge=0)] | None = None
    """Estimated value in euros, if known."""


class SilverNotice(PersonNotice):
    """Silver notice: locate, identify and obtain information on a person's criminal assets."""

    notice_type: Literal["silver"] = "silver"
    """Discriminator."""
    predicate_offence: LongText
    """The offence the assets derive from."""
    assets: Annotated[tuple[Asset, ...], Field(min_length=1)]
    """The assets sought (at least one)."""


_ENTITY_FIELDS = (
    "legal_form",
    "registration_number",
    "administrators",
    "from_chamber_of_commerce",
    "formerly_known_as",
)
"""Fields only an entity's listing fills."""


_UN_LIST_REFERENCE = re.compile(r"^[A-Za-z]{1,3}([ie])\.")
"""A UN sanctions list reference says what it lists: ``QDi.123`` an individual, ``QDe.45`` an
entity (the letter before the dot)."""


def _subject_type(data: dict[str, Any]) -> str:
    """Person or entity: from the reference when it says, else from the fields filled in."""
    reference = data.get("un_reference")
    said = _UN_LIST_REFERENCE.match(reference) if isinstance(reference, str) else None
    if said is not None:
        return "entity" if said.group(1) == "e" else "person"
    return "entity" if any(data.get(field) for field in _ENTITY_FIELDS) else "person"


class UnSpecialNotice(NoticeDocument):
    """UN Security Council Special Notice: persons and entities subject to UN sanctions.

    The fields are those the public API serves for UN notices (``UNNoticeDetail``), persons and
    entities alike, with its nulls, partial dates, integer resolution numbers and spellings
    (``adresses``). ``subject_type`` is ours: when a document does not say, its UN reference does
    (``QDe.45``, an entity; ``QDi.123``, an individual), and failing that an entity is a listing
    with an entity's fields (legal form, registration number, administrators, chamber of
    commerce, former name) and anything else a person.
    """

    notice_type: Literal["un-special"] = "un-special"
    """Discriminator."""
    subject_type: Literal["person", "entity"] = "person"
    """Whether the listing is of a person or of an entity (derived when absent)."""
    un_reference: Annotated[str, Field(pattern=r"^[A-Za-z]{2,4}\.[0-9]{1,4}$")]
    """The UN sanctions list reference, such as ``QDi.123``."""
    un_resolution: Annotated[Count, Field(ge=1, le=99_999)] | ShortText
    """The Security Council resolution the listing rests on: its number (``1267``, as the public
    API gives it) or its citation (``1267 (1999)``)."""
    un_reference_date: PartialDate | None = None
    """When the UN listed the subject."""
    name: ShortText
    """Family name of the person, or name of the entity."""
    forename: MaybeShort = None
    """Given names of a person."""
    name_in_original_script: MaybeShort = None
    """The name in its original script."""
    forename_in_original_script: MaybeShort = None
    """The given names in their original script."""
    name_at_birth: MaybeShort = None
    """Family name at birth."""
    aliases: Texts = ()
    """Other names the subject is known by."""
    father_forename: MaybeShort = None
    """Father's given names."""
    father_name: MaybeShort = None
    """Father's family name."""
    mother_forename: MaybeShort = None
    """Mother's given names."""
    mother_name: MaybeShort = None
    """Mother's family name."""
    sex_id: Sex | None = None
    """Sex of a person: M, F or U."""
    nationalities: tuple[CountryCode, ...] | None = None
    """Nationalities of a person, ISO 3166-1 alpha-2."""
    date_of_birth: PartialDate | None = None
    """Date of birth of a person; may be partial."""
    country_of_birth_id: CountryCode | None = None
    """Country of birth, ISO 3166-1 alpha-2."""
    place_of_birth: MaybeShort = None
    """Place of birth as written in the source."""
    languages_spoken_ids: tuple[LanguageCode, ...] | None = None
    """Languages spoken, three-letter codes."""
    height: Annotated[Number, Field(ge=0, le=3)] | None = None
    """Height in metres (0 when unknown)."""
    weight: Annotated[Number, Field(ge=0, le=500)] | None = None
    """Weight in kilograms (0 when unknown)."""
    profession: MaybeShort = None
    """A person's profession."""
    purposes: Texts = ()
    """What the listing is for."""
    summary: MaybeLong = None
    """The UN's narrative summary of the listing."""
    main_activity: MaybeLong = None
    """What the subject is listed for doing."""
    associates: Texts = ()
    """Persons and entities associated with the subject."""
    identity_documents: Texts = ()
    """Identity documents, as the listing gives them."""
    adresses: Texts = ()
    """Addresses (spelt as the public API spells the field)."""
    additional_information: MaybeLong = None
    """Anything else the listing says."""
    legal_form: MaybeShort = None
    """An entity's legal form."""
    registration_number: MaybeShort = None
    """An entity's registration number."""
    administrators: Texts = ()
    """An entity's administrators."""
    from_chamber_of_commerce: MaybeShort = None
    """The chamber of commerce an entity is registered with."""
    formerly_known_as: MaybeShort = None
    """An entity's former name."""
    sanctions: tuple[Literal["assets-freeze", "travel-ban", "arms-embargo"], ...] = ()
    """The sanctions measures that apply (ours: the public API does not say)."""

    @model_validator(mode="before")
    @classmethod
    def _derive_subject_type(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("subject_type") is None:
            return {**data, "subject_type": _subject_type(data)}
        return data


Notice = Annotated[
    RedNotice
    | YellowNotice
    | BlueNotice
    | BlackNotice
    | GreenNotice
    | OrangeNotice
    | PurpleNotice
    | SilverNotice
    | UnSpecialNotice,
    Field(discriminator="notice_type"),
]
"""Any notice document, told apart by ``notice_type``."""


class NoticeSummary(BaseModel):
    """One entry of a paged list of notices, as the public API lists them.

    The API's entries have these fields and its hypermedia (``_links``, dropped: a list entry is
    a pointer to a notice, not the notice); any other field is refused, so that a misspelt one
    (``nationalitiez``) is named, not kept.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        use_attribute_docstrings=True,
        json_schema_extra=_hypermedia_allowed,
    )

    entity_id: EntityId | None = None
    """The notice's id."""
    forename: MaybeShort = None
    """Given names."""
    name: MaybeShort = None
    """Family name, or an entity's name."""
    date_of_birth: PartialDate | None = None
    """Date of birth; may be partial."""
    nationalities: tuple[CountryCode, ...] | None = None
    """Nationalities, ISO 3166-1 alpha-2."""

    @model_validator(mode="before")
    @classmethod
    def _drop_links(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (isinstance(k, str) and k.startswith("_"))}
        return data


Link = Annotated[str, Field(min_length=1, max_length=2_000, description="A link to a notice.")]
"""A page entry given only as the notice's address."""


_Entry = Annotated[
    Annotated[NoticeSummary, Tag("summary")] | Annotated[Link, Tag("link")],
    Discriminator(lambda entry: "link" if isinstance(entry, str) else "summary"),
]
"""A page entry: a summary, or a bare link (an error names the entry's own fields only)."""


def _page_schema(schema: dict[str, Any]) -> None:
    """The exported schema describes the page as served: the entries under ``_embedded``."""
    properties = schema["properties"]
    notices = properties.pop("notices")
    properties["_embedded"] = {
        "type": "object",
        "properties": {"notices": notices},
        "description": "What the page holds: its entries, under 'notices'.",
    }
    _hypermedia_allowed(schema)


class NoticePage(BaseModel):
    """A page of a paged list of notices (``/notices/v1/red``, ``yellow``, ``un``), as served.

    ``_embedded.notices`` is read into :attr:`notices`; ``_links`` (first, next, last) dropped;
    an error in an entry points into ``_embedded``, where it is in the document.
    """

    model_config = ConfigDict(
        frozen=True, extra="forbid", use_attribute_docstrings=True, json_schema_extra=_page_schema
    )

    total: Annotated[Count, Field(ge=0)]
    """How many notices match the query, on every page."""
    query: dict[str, str | Count | None] = Field(default_factory=dict)
    """The query the page answers (``page``, ``resultPerPage`` and the search fields)."""
    notices: tuple[_Entry, ...] = Field(
        default=(), validation_alias=AliasPath("_embedded", "notices")
    )
    """The entries of this page, from ``_embedded.notices``: each a summary, or only a link to
    the notice (as some descriptions of the API have it)."""

    @model_validator(mode="before")
    @classmethod
    def _links(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        page = {k: v for k, v in data.items() if not str(k).startswith("_")}
        embedded = data.get("_embedded")
        if isinstance(embedded, dict) and "notices" in embedded:
            page["_embedded"] = {"notices": embedded["notices"]}  # the rest is hypermedia
        elif "_embedded" in data and not isinstance(embedded, dict):
            page["_embedded"] = embedded  # refused: the schema says an object
        return page
