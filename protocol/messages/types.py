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
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationInfo

from protocol.messages.iso3166 import ALPHA2
from protocol.network.roster import BUREAU_ID_PATTERN, Roster, default_roster

__all__ = [
    "BureauId",
    "CountryCode",
    "EntityId",
    "HandlingCode",
    "LanguageCode",
    "PartialDate",
    "Priority",
    "SchemaVersion",
    "Tlp",
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


def _known_bureau(value: str, info: ValidationInfo) -> str:
    if value not in _roster_from(info):
        raise ValueError(f"unknown bureau id {value!r}")
    return value


def _known_country(value: str) -> str:
    if value not in ALPHA2:
        raise ValueError(f"unknown ISO 3166-1 alpha-2 code {value!r}")
    return value


_PARTIAL_DATE = re.compile(r"^([0-9]{4})(?:/([0-9]{2})(?:/([0-9]{2}))?)?$")


def _partial_date(value: str) -> str:
    match = _PARTIAL_DATE.fullmatch(value)
    if match is None:
        raise ValueError(f"{value!r} is not a date of the form YYYY/MM/DD, YYYY/MM or YYYY")
    year, month, day = match.groups()
    if month is not None and not 1 <= int(month) <= 12:
        raise ValueError(f"{value!r} has no month {month}")
    if day is not None:
        last = calendar.monthrange(int(year), int(month or "1"))[1]
        if not 1 <= int(day) <= last:
            raise ValueError(f"{value!r} has no day {day} in that month")
    return value


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
    Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 country code.", examples=["FR"]),
    AfterValidator(_known_country),
]

PartialDate = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{4}(/[0-9]{2}(/[0-9]{2})?)?$",
        description="A date as YYYY/MM/DD, or partial as YYYY/MM or YYYY.",
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
