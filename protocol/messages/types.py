"""Constrained value types shared by the message models.

Each is an ``Annotated`` type, so the constraint shows up in the exported JSON Schema as well as in
validation. Validators that need the roster read it from pydantic's validation context
(``{"roster": Roster}``), falling back to the bundled roster, so a scenario with a subset or a
synthetic roster validates against its own bureaus.
"""

from __future__ import annotations

import calendar
import re
from contextvars import ContextVar
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    StrictBool,
    ValidationInfo,
    WithJsonSchema,
)

from protocol.messages.iso3166 import ALPHA2
from protocol.network.roster import BUREAU_ID_PATTERN, Roster, default_roster

__all__ = [
    "BLANK_PATTERN",
    "PARTIAL_DATE_PATTERN",
    "TIMESTAMP_PATTERN",
    "UUID_PATTERN",
    "WIRE",
    "BureauId",
    "Code",
    "Count",
    "CountryCode",
    "EntityId",
    "Flag",
    "HandlingCode",
    "LanguageCode",
    "LongText",
    "MaybeLong",
    "MaybeShort",
    "MessageUuid",
    "Number",
    "PartialDate",
    "Priority",
    "SchemaVersion",
    "ShortText",
    "Texts",
    "Timestamp",
    "Tlp",
    "at_the_boundary",
    "is_blank",
    "json_number",
]


ACTIVE_ROSTER: ContextVar[Roster | None] = ContextVar("bureaunet_active_roster", default=None)
"""The roster bureau ids are checked against when validation is given none in its context.

A run on another roster than the bundled one (a synthetic roster for scale runs) sets it once,
before it starts its tasks, so that messages built in code validate against that roster too.
"""


def _roster_from(info: ValidationInfo) -> Roster:
    context: Any = info.context
    if isinstance(context, dict):
        roster = context.get("roster")
        if isinstance(roster, Roster):
            return roster
    return ACTIVE_ROSTER.get() or default_roster()


WIRE = "bureaunet-wire"
"""The validation context key saying a document is read from outside (bytes, a file)."""


def at_the_boundary(info: ValidationInfo) -> bool:
    """Whether this validation reads a document from outside (see :data:`WIRE`)."""
    context: Any = info.context
    return isinstance(context, dict) and bool(context.get(WIRE))


def _known_bureau(value: str, info: ValidationInfo) -> str:
    if value not in _roster_from(info):
        raise ValueError(f"unknown bureau id {value!r}")
    return value


def _known_country(value: str) -> str:
    if value not in ALPHA2:
        raise ValueError(f"unknown ISO 3166-1 alpha-2 code {value!r}")
    return value


_YEAR = "(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
_LEAP_YEAR = "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
PARTIAL_DATE_PATTERN = (
    f"^(?:{_YEAR}(?:/(?:0[1-9]|1[0-2]))?"
    f"|{_YEAR}/(?:0[1-9]|1[0-2])/(?:0[1-9]|1[0-9]|2[0-8])"
    f"|{_YEAR}/(?:0[13-9]|1[0-2])/(?:29|30)"
    f"|{_YEAR}/(?:0[13578]|1[02])/31"
    f"|{_LEAP_YEAR}/02/29)$"
)
"""YYYY, YYYY/MM or YYYY/MM/DD, a real day of the Gregorian calendar (29 February in leap years
only), year 0001 to 9999: the calendar written as a pattern, so that the exported schema and
``validate`` refuse the same dates."""
_PARTIAL_DATE = re.compile(PARTIAL_DATE_PATTERN)
_PARTIAL_DATE_SHAPE = re.compile(r"^([0-9]{4})(?:/([0-9]{2})(?:/([0-9]{2}))?)?$")


def _partial_date(value: str) -> str:
    if _PARTIAL_DATE.fullmatch(value) is not None:
        return value
    shape = _PARTIAL_DATE_SHAPE.fullmatch(value)
    if shape is None:
        raise ValueError(f"{value!r} is not a date of the form YYYY/MM/DD, YYYY/MM or YYYY")
    year, month, day = shape.groups()
    if int(year) == 0:
        raise ValueError(f"{value!r} has no year 0000")
    if month is not None and not 1 <= int(month) <= 12:
        raise ValueError(f"{value!r} has no month {month}")
    last = calendar.monthrange(int(year), int(month or "1"))[1]
    raise ValueError(f"{value!r} has no day {day} in that month (it has {last} days)")


UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
"""A UUID as RFC 9562 writes it: 8-4-4-4-12 hexadecimal digits, nothing around them."""
_UUID = re.compile(UUID_PATTERN)


def _written_one_way(value: Any, made: type, pattern: re.Pattern[str], what: str) -> Any:
    """``value`` if it is already ``made`` (code) or text matching ``pattern`` (a document)."""
    if isinstance(value, made):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{what} is written as text, not as a {type(value).__name__}")
    if pattern.fullmatch(value) is None:
        raise ValueError(f"{value!r} is not {what}")
    return value


def _uuid_text(value: Any) -> Any:
    return _written_one_way(
        value,
        UUID,
        _UUID,
        "a UUID written as 8-4-4-4-12 hexadecimal digits (no braces, no urn:uuid: prefix)",
    )


TIMESTAMP_PATTERN = (
    f"^{_YEAR}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    "T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,9})?"
    "(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$"
)
"""An RFC 3339 date and time with its offset, one way: ``T`` and ``Z`` upper case, seconds
given, no leap second. Which days exist is the ``date-time`` format's to check."""
_TIMESTAMP = re.compile(TIMESTAMP_PATTERN)


def _timestamp_text(value: Any) -> Any:
    return _written_one_way(
        value,
        datetime,
        _TIMESTAMP,
        "a date and time as RFC 3339 writes it, one way: YYYY-MM-DDTHH:MM:SS[.fraction] then "
        "its timezone offset, Z or +HH:MM",
    )


BLANK_PATTERN = (
    "^[\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff]*$"
)
"""A blank text: nothing, or white space only (the characters JSON Schema's ``\\s`` and
Python agree on)."""
_BLANK = re.compile(BLANK_PATTERN)


def is_blank(value: object) -> bool:
    """Whether ``value`` is a text with nothing but white space in it."""
    return isinstance(value, str) and _BLANK.fullmatch(value) is not None


def json_number(value: Any) -> Any:
    """JSON's numbers only: text (``"1.78"``) and booleans are not read as numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"a number is needed, not a {type(value).__name__}")
    return value


Number = Annotated[float, BeforeValidator(json_number)]
"""A number as JSON writes it (never text, never a boolean)."""
Count = Annotated[int, BeforeValidator(json_number)]
"""A whole number as JSON writes it (``2.0`` is 2, as JSON Schema's ``integer`` reads it)."""
Flag = StrictBool
"""``true`` or ``false``, and nothing read as one."""

MessageUuid = Annotated[
    UUID,
    BeforeValidator(_uuid_text),
    Field(json_schema_extra={"pattern": UUID_PATTERN}),
]
"""A message id: a UUID, written one way on the wire."""

Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_timestamp_text),
    Field(json_schema_extra={"pattern": TIMESTAMP_PATTERN}),
]
"""A moment with its offset from UTC, written one way on the wire (RFC 3339)."""

BureauId = Annotated[
    str,
    Field(
        pattern=BUREAU_ID_PATTERN,
        description="A bureau of the roster: an NCB's ISO 3166-1 alpha-2 code, or a short "
        "lower-case id for the General Secretariat, regional bureaus and organisations.",
        examples=["FR", "gs", "rb-nairobi"],
    ),
    AfterValidator(_known_bureau),
]

CountryCode = Annotated[
    str,
    Field(
        pattern=r"^[A-Z]{2}$",
        description="ISO 3166-1 alpha-2 country code.",
        examples=["FR"],
        json_schema_extra={"enum": sorted(ALPHA2)},
    ),
    AfterValidator(_known_country),
]

PartialDate = Annotated[
    str,
    Field(
        # the pattern is the schema's; validation reads the date itself, to say what is wrong
        json_schema_extra={"pattern": PARTIAL_DATE_PATTERN},
        description="A date as YYYY/MM/DD, or partial as YYYY/MM or YYYY (a day that exists).",
        examples=["1975/04/12", "1975/04", "1975"],
    ),
    AfterValidator(_partial_date),
]

EntityId = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{4}/[0-9]{1,6}$",
        description="A published notice's id: year of publication / sequence number.",
        examples=["2026/12345"],
    ),
]

LanguageCode = Annotated[
    str,
    Field(pattern=r"^[A-Z]{3}$", description="Three-letter language code.", examples=["ENG"]),
]

SchemaVersion = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{1,3}\.[0-9]{1,3}$",
        description="MAJOR.MINOR version of the message schema.",
        examples=["1.0"],
    ),
]

Priority = Literal["routine", "urgent", "flash"]
"""How fast the message must be handled; ``flash`` is for life-threatening emergencies."""

HandlingCode = Literal["H0", "H1", "H2", "H3"]
"""How the information may be used and passed on (H0 ... H3); see
:mod:`protocol.messages.caveats`."""

Tlp = Literal["TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED"]
"""Traffic Light Protocol 2.0 marking."""


ShortText = Annotated[str, Field(min_length=1, max_length=500)]
LongText = Annotated[str, Field(min_length=1, max_length=10_000)]
Code = Annotated[str, Field(pattern=r"^[A-Z]{3,4}$")]


def _blank_is_none(value: Any) -> Any:
    """The public API sometimes sends an empty string where it has nothing: read as null."""
    return None if is_blank(value) else value


def _maybe_text(longest: int) -> dict[str, Any]:
    """The schema of an optional text where blank means null, as ``validate`` reads it."""
    return {
        "anyOf": [
            {"type": "string", "minLength": 1, "maxLength": longest},
            {"type": "string", "pattern": BLANK_PATTERN, "description": "Blank: read as null."},
            {"type": "null"},
        ],
        "default": None,
    }


MaybeShort = Annotated[
    ShortText | None, BeforeValidator(_blank_is_none), WithJsonSchema(_maybe_text(500))
]
"""An optional short text; blank (white space only) is read as null."""
MaybeLong = Annotated[
    LongText | None, BeforeValidator(_blank_is_none), WithJsonSchema(_maybe_text(10_000))
]
"""An optional long text; blank (white space only) is read as null."""


def _none_is_empty(value: Any) -> Any:
    """The public API sends null for an empty list."""
    return () if value is None else value


Texts = Annotated[tuple[ShortText, ...] | None, BeforeValidator(_none_is_empty)]
"""A list of short texts; null (which the public API sends) is read as the empty list."""
