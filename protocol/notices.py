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

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from protocol.types import CountryCode, EntityId, LanguageCode, PartialDate

__all__ = [
    "ArrestWarrant",
    "Asset",
    "BlackNotice",
    "BlueNotice",
    "GreenNotice",
    "Notice",
    "NoticeDocument",
    "OrangeNotice",
    "PersonNotice",
    "PurpleNotice",
    "RedNotice",
    "SilverNotice",
    "UnSpecialNotice",
    "YellowNotice",
]

Sex = Literal["M", "F", "U"]
ShortText = Annotated[str, Field(min_length=1, max_length=500)]
LongText = Annotated[str, Field(min_length=1, max_length=10_000)]
Code = Annotated[str, Field(pattern=r"^[A-Z]{3,4}$")]


class NoticeDocument(BaseModel):
    """Fields every notice document has."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

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

    forename: ShortText | None = None
    """Given names, as in the identity documents."""
    name: ShortText | None = None
    """Family name."""
    date_of_birth: PartialDate | None = None
    """Date of birth; may be partial (YYYY/MM or YYYY)."""
    sex_id: Sex | None = None
    """Sex: M, F or U (unknown)."""
    nationalities: tuple[CountryCode, ...] | None = None
    """Nationalities, ISO 3166-1 alpha-2."""
    country_of_birth_id: CountryCode | None = None
    """Country of birth, ISO 3166-1 alpha-2."""
    place_of_birth: ShortText | None = None
    """Place of birth as written in the source."""
    languages_spoken_ids: tuple[LanguageCode, ...] | None = None
    """Languages spoken, three-letter codes."""
    height: Annotated[float, Field(ge=0, le=3)] | None = None
    """Height in metres (0 when unknown, as the API serves it)."""
    weight: Annotated[float, Field(ge=0, le=500)] | None = None
    """Weight in kilograms (0 when unknown, as the API serves it)."""
    eyes_colors_id: tuple[Code, ...] | None = None
    """Eye colour codes."""
    hairs_id: tuple[Code, ...] | None = None
    """Hair colour codes."""
    distinguishing_marks: LongText | None = None
    """Scars, tattoos and other distinguishing marks."""


class ArrestWarrant(BaseModel):
    """One arrest warrant or judicial decision behind a Red notice."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    issuing_country_id: CountryCode
    """The country whose judicial authority issued the warrant."""
    charge: LongText
    """The charge, in the issuing country's words."""
    charge_translation: LongText | None = None
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
    place: ShortText | None = None
    """Where the person disappeared."""
    country: CountryCode | None = None
    """The country where the person disappeared."""
    father_forename: ShortText | None = None
    """Father's given names."""
    father_name: ShortText | None = None
    """Father's family name."""
    mother_forename: ShortText | None = None
    """Mother's given names."""
    mother_name: ShortText | None = None
    """Mother's family name."""


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
    estimated_age_min: Annotated[int, Field(ge=0, le=130)] | None = None
    """Lower bound of the estimated age, years."""
    estimated_age_max: Annotated[int, Field(ge=0, le=130)] | None = None
    """Upper bound of the estimated age, years."""
    height: Annotated[float, Field(ge=0, le=3)] | None = None
    """Height in metres."""
    date_of_event: PartialDate
    """When the body was found."""
    place: ShortText
    """Where the body was found."""
    country: CountryCode
    """The country where the body was found."""
    distinguishing_marks: LongText | None = None
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
    estimated_value_eur: Annotated[float, Field(ge=0)] | None = None
    """Estimated value in euros, if known."""


class SilverNotice(PersonNotice):
    """Silver notice: locate, identify and obtain information on a person's criminal assets."""

    notice_type: Literal["silver"] = "silver"
    """Discriminator."""
    predicate_offence: LongText
    """The offence the assets derive from."""
    assets: Annotated[tuple[Asset, ...], Field(min_length=1)]
    """The assets sought (at least one)."""


class UnSpecialNotice(NoticeDocument):
    """UN Security Council Special Notice: persons and entities subject to UN sanctions."""

    notice_type: Literal["un-special"] = "un-special"
    """Discriminator."""
    subject_type: Literal["person", "entity"]
    """Whether the listing is of a person or of an entity."""
    un_reference: Annotated[str, Field(pattern=r"^[A-Za-z]{2,4}\.[0-9]{1,4}$")]
    """The UN sanctions list reference, such as ``QDi.123``."""
    un_resolution: ShortText
    """The Security Council resolution the listing rests on."""
    name: ShortText
    """Family name of the person, or name of the entity."""
    forename: ShortText | None = None
    """Given names of a person."""
    name_in_original_script: ShortText | None = None
    """The name in its original script."""
    aliases: tuple[ShortText, ...] = ()
    """Other names the subject is known by."""
    nationalities: tuple[CountryCode, ...] | None = None
    """Nationalities of a person, ISO 3166-1 alpha-2."""
    date_of_birth: PartialDate | None = None
    """Date of birth of a person; may be partial."""
    sanctions: tuple[Literal["assets-freeze", "travel-ban", "arms-embargo"], ...] = ()
    """The sanctions measures that apply."""


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
