"""A schema-validating gateway: a regional organisation's own message form in, bureaunet's out.

The organisation speaks a SIENA-style form (its own field names, handling codes, and the source and
information evaluation codes: reliability A/B/C/X, accuracy 1-4). The gateway validates each message
against that form and translates it into a bureaunet :class:`~protocol.messages.models.CaseMessage`
that keeps the codes; anything that does not validate is refused with every problem's JSON path and
reason. Pure: bytes or a dictionary in, a message or a :class:`~protocol.errors.DecodeError` out.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from protocol.errors import DecodeError
from protocol.messages.codec import validation_issues
from protocol.messages.models import CaseMessage, ToBureaus
from protocol.messages.types import BureauId
from protocol.network.roster import Roster

__all__ = ["SienaMessage", "translate"]

_PRIORITY = {"normal": "routine", "high": "urgent", "immediate": "flash"}


class SienaMessage(BaseModel):
    """The organisation's own message form (SIENA-style)."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    siena_id: Annotated[str, Field(pattern=r"^SIENA-[0-9]{4}-[0-9]{1,8}$")]
    """The organisation's own message number."""
    from_unit: BureauId
    """The sending unit (the organisation)."""
    to_units: Annotated[list[BureauId], Field(min_length=1)]
    """The receiving bureaus."""
    case_ref: Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9/.-]{2,63}$")]
    """The case."""
    subject: Annotated[str, Field(min_length=1, max_length=500)]
    body: Annotated[str, Field(min_length=1, max_length=10_000)]
    handling_code: Literal["H0", "H1", "H2", "H3"]
    """Who may receive the information."""
    source_reliability: Literal["A", "B", "C", "X"]
    """Evaluation of the source."""
    information_accuracy: Literal[1, 2, 3, 4]
    """Evaluation of the information."""
    priority: Literal["normal", "high", "immediate"] = "normal"


def translate(
    raw: bytes | str | dict[str, Any],
    *,
    message_id: UUID,
    created_at: datetime,
    roster: Roster | None = None,
) -> CaseMessage:
    """Validate a SIENA-style message and translate it into a bureaunet case message.

    Raises:
        DecodeError: The message does not validate; every issue with its JSON path and reason.
    """
    context = None if roster is None else {"roster": roster}
    text = raw if isinstance(raw, str | bytes) else json.dumps(raw)
    try:
        siena = SienaMessage.model_validate_json(text, context=context)
    except ValidationError as exc:
        raise DecodeError(validation_issues(exc, text), "siena") from None
    return CaseMessage(
        message_id=message_id,
        sender=siena.from_unit,
        recipients=ToBureaus(bureaus=tuple(dict.fromkeys(siena.to_units))),
        created_at=created_at,
        priority=_PRIORITY[siena.priority],
        handling_code=siena.handling_code,
        source_reliability=siena.source_reliability,
        information_accuracy=siena.information_accuracy,
        case_reference=siena.case_ref,
        subject=siena.subject,
        body=f"[{siena.siena_id}] {siena.body}",
    )
