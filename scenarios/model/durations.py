"""Scenario time as a file writes it, and the pieces every part of a scenario is built from.

Durations (``90s``, ``30m``, ``2h``), bureau references, the shared model configuration, the
actions an inject or a card performs, and the tag that tells a union's members apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from protocol.messages.types import CountryCode, HandlingCode, PartialDate, Priority, Tlp

_UNITS = {"d": 86_400.0, "h": 3_600.0, "m": 60.0, "s": 1.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([dhms])")


def parse_duration(value: object) -> object:
    """Read a duration: ``90``, ``"90"``, ``"8h"``, ``"1d 12h"`` or ``"2h30m"`` → seconds.

    Anything that is not a string is left for pydantic to check.
    """
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    try:
        return float(text)
    except ValueError:
        pass
    parts = _DURATION.findall(text)
    if not parts or _DURATION.sub("", text).strip():
        raise ValueError(f"{value!r} is not a duration (seconds, or like 8h, 3d, 1d 12h, 30m)")
    return sum(float(n) * _UNITS[unit] for n, unit in parts)


DURATION_INPUT = float | Annotated[str, Field(pattern=r"^[0-9. dhms]+$")]
"""What a duration may be written as in a file (the exported scenario schema says so)."""
Seconds = Annotated[
    float, BeforeValidator(parse_duration, json_schema_input_type=DURATION_INPUT), Field(ge=0)
]
"""Scenario seconds: a number, or a duration such as ``8h``, ``3d`` or ``1d 12h``."""
BureauRef = Annotated[str, Field(min_length=2, max_length=32)]
Group = BureauRef | list[BureauRef]
"""A bureau id, a list of ids, or a group: ``all-ncbs``, ``region:africa``."""

MODEL_CONFIG = ConfigDict(
    extra="forbid", frozen=True, populate_by_name=True, use_attribute_docstrings=True
)


class Action(BaseModel):
    """A part of a scenario: closed (an unknown key is an error), fields by their YAML names."""

    model_config = MODEL_CONFIG


class NoticeRequestAction(Action):
    """An NCB asks the General Secretariat to publish a notice."""

    sender: BureauRef = Field(alias="from")
    notice: Literal["red", "yellow", "blue", "green", "silver"] = "red"
    name: Annotated[str, Field(min_length=1, max_length=500)] = "EXEMPLE"
    forename: Annotated[str, Field(min_length=1, max_length=500)] | None = "JEAN"
    date_of_birth: PartialDate | None = "1980/01"
    """As the notice has it: ``YYYY/MM/DD``, or partial (``YYYY/MM``, ``YYYY``)."""
    nationalities: list[CountryCode] | None = None
    """ISO 3166-1 alpha-2 codes (checked here, not when the notice is sent)."""
    summary: str = "Organised fraud in several countries."
    priority: Priority = "urgent"


class DiffusionAction(Action):
    """A bureau sends a diffusion directly to chosen bureaus."""

    sender: BureauRef = Field(alias="from")
    to: Group
    type: Literal["wanted", "missing", "information", "warning", "locate"] = "information"
    text: str = "Please check your records and report."
    priority: Priority = "routine"
    handling_code: HandlingCode = "H1"
    tlp: Tlp | None = None
    source_reliability: Literal["A", "B", "C", "X"] | None = None
    information_accuracy: Literal[1, 2, 3, 4] | None = None


class CaseMessageAction(Action):
    """Correspondence on a case."""

    sender: BureauRef = Field(alias="from")
    to: Group
    case: str = "CASE/2026/0001"
    subject: str = "Case update"
    body: str = "Please find the latest information on the case."
    priority: Priority = "routine"
    handling_code: HandlingCode = "H1"
    tlp: Tlp | None = None


class SearchAction(Action):
    """A database search, addressed to the General Secretariat."""

    sender: BureauRef = Field(alias="from")
    database: Literal["nominal", "sltd", "smv"] = "sltd"
    value: str = "X0000000"
    country: str = "FR"
    priority: Priority = "routine"


class CancelNoticeAction(Action):
    """The General Secretariat cancels a notice it published (named by its request's inject)."""

    notice: str
    reason: str = "The person was arrested."


class SienaAction(Action):
    """A regional organisation's message in its own (SIENA-style) form, via the gateway.

    The message is checked by the schema-validating gateway during the run, not here.
    """

    organisation: BureauRef = Field(alias="from")
    message: dict[str, Any]


class ForwardAction(Action):
    """A bureau passes a message it received on to other bureaus (under its caveats)."""

    by: BureauRef
    message: str
    """The inject whose message is forwarded (the bureau must have received it)."""
    to: Group
    permission: bool = False
    """Whether the originator allowed this dissemination."""


class Trigger(Action):
    """What makes a contingency inject fire (once), instead of a time on the timeline."""

    deadline_missed: str | None = None
    """The named inject's response deadline passed unanswered."""
    search_hit: str | None = None
    """The named search inject (or ``any`` search) came back with a hit."""
    breach: bool | None = None
    """A caveat breach happened."""
    after: Seconds = 0.0
    """Scenario seconds between the trigger and the inject."""

    @model_validator(mode="after")
    def _one(self) -> Trigger:
        found = [k for k in ("deadline_missed", "search_hit", "breach") if getattr(self, k)]
        if len(found) != 1:
            raise ValueError("a trigger needs exactly one of: deadline_missed, search_hit, breach")
        return self


class BureauAction(Action):
    """An action on one bureau (revoke its certificate, rotate its keys)."""

    bureau: BureauRef


class Tagged(BaseModel):
    """One member of a tagged union: the one action key it carries is its tag."""

    model_config = MODEL_CONFIG

    tag: ClassVar[str]
    """The key that names this kind in a scenario file (``notice_request``, ``offline`` ...)."""

    @property
    def spec(self) -> BaseModel:
        """The mapping under the tag key."""
        spec: BaseModel = getattr(self, self.tag)
        return spec


def tag_among(tags: tuple[str, ...]) -> Callable[[Any], str | None]:
    """The discriminator of a union: the one key of ``tags`` a mapping carries (or none)."""

    def tag(value: Any) -> str | None:
        if isinstance(value, Tagged):
            return value.tag
        if not isinstance(value, dict):
            return None
        present = [k for k in tags if value.get(k) is not None and value.get(k) is not False]
        return present[0] if len(present) == 1 else None

    return tag
