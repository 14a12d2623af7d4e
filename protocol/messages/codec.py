"""Bytes to typed messages and back. The JSON is the wire form: compact, UTF-8.

This is the one place where pydantic's and ``json``'s exceptions are translated: every failure to
decode becomes a :class:`~protocol.errors.DecodeError` listing each problem as a JSON pointer into
the input and a reason that names the offending value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from protocol.errors import DecodeError, Issue, UnknownKindError
from protocol.messages.models import MESSAGE_ADAPTER, MESSAGE_KINDS, Message
from protocol.messages.notices import (
    BlackNotice,
    BlueNotice,
    GreenNotice,
    NoticeDocument,
    NoticePage,
    OrangeNotice,
    PurpleNotice,
    RedNotice,
    SilverNotice,
    UnSpecialNotice,
    YellowNotice,
)
from protocol.messages.types import WIRE
from protocol.network.roster import Roster

__all__ = [
    "DOCUMENT_TYPES",
    "KIND_NAMES",
    "PAGE_TYPES",
    "decode",
    "decode_as",
    "decode_model",
    "encode",
    "model_for",
    "validation_issues",
]

DOCUMENT_TYPES: dict[str, type[NoticeDocument]] = {
    "red-notice": RedNotice,
    "yellow-notice": YellowNotice,
    "blue-notice": BlueNotice,
    "black-notice": BlackNotice,
    "green-notice": GreenNotice,
    "orange-notice": OrangeNotice,
    "purple-notice": PurpleNotice,
    "silver-notice": SilverNotice,
    "un-special-notice": UnSpecialNotice,
}
"""Notice documents by name, for validating a notice on its own (as the public API serves it)."""

PAGE_TYPES: dict[str, type[NoticePage]] = {
    "red-notices": NoticePage,
    "yellow-notices": NoticePage,
    "un-notices": NoticePage,
}
"""The public API's paged lists of notices, by name (one page each)."""

_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "message": MESSAGE_ADAPTER,
    **{name: TypeAdapter(cls) for name, cls in MESSAGE_KINDS.items()},
    **{name: TypeAdapter(cls) for name, cls in DOCUMENT_TYPES.items()},
    **{name: TypeAdapter(cls) for name, cls in PAGE_TYPES.items()},
}

KIND_NAMES: tuple[str, ...] = tuple(_ADAPTERS)
"""Every name :func:`decode_as` accepts: ``message`` (the union), each message kind, each notice."""


def model_for(kind: str) -> type[BaseModel] | None:
    """The model class for a kind or document name; ``None`` for the ``message`` union.

    Raises:
        UnknownKindError: No such kind.
    """
    if kind == "message":
        return None
    if kind in MESSAGE_KINDS:
        return MESSAGE_KINDS[kind]
    if kind in DOCUMENT_TYPES:
        return DOCUMENT_TYPES[kind]
    if kind in PAGE_TYPES:
        return PAGE_TYPES[kind]
    raise UnknownKindError(kind, KIND_NAMES)


def encode(model: BaseModel) -> bytes:
    """The wire form of a message or document: compact UTF-8 JSON."""
    return model.__pydantic_serializer__.to_json(model)


def decode(
    data: bytes | str, *, roster: Roster | None = None, ignore_unknown_fields: bool = False
) -> Message:
    """Decode bytes into whichever message kind their ``kind`` field names.

    Args:
        data: The wire bytes (or text).
        roster: Bureaus that exist for this run; the bundled roster when ``None``.
        ignore_unknown_fields: Drop fields this schema does not know instead of refusing them
            (for messages of a newer minor version; see :mod:`protocol.schemas.versions`).
            Every other rule still applies.

    Raises:
        DecodeError: Not JSON, or not a valid message; each issue has a JSON pointer and a reason.
    """
    try:
        result: Message = _validate(MESSAGE_ADAPTER, data, roster, None)
    except DecodeError as exc:
        if not ignore_unknown_fields or not all(
            i.reason == "Extra inputs are not permitted" for i in exc.issues
        ):
            raise
        document = json.loads(data)
        for issue in exc.issues:
            _drop(document, issue.pointer)
        result = _validate(MESSAGE_ADAPTER, json.dumps(document), roster, None)
    return result


def decode_model(
    data: bytes | str, model: type[BaseModel], *, roster: Roster | None = None
) -> BaseModel:
    """Decode bytes as one given model (a versioned model of :mod:`protocol.schemas.versions`).

    Raises:
        DecodeError: Not JSON, or not valid as that model.
    """
    result: BaseModel = _validate(_adapter(model), data, roster, None)
    return result


_MODEL_ADAPTERS: dict[type[BaseModel], TypeAdapter[Any]] = {}


def _adapter(model: type[BaseModel]) -> TypeAdapter[Any]:
    adapter = _MODEL_ADAPTERS.get(model)
    if adapter is None:
        adapter = _MODEL_ADAPTERS[model] = TypeAdapter(model)
    return adapter


def _drop(document: Any, pointer: str) -> None:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    node = document
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node.get(part, {})
    if isinstance(node, dict):
        node.pop(parts[-1], None)


def decode_as(data: bytes | str, kind: str, *, roster: Roster | None = None) -> BaseModel:
    """Decode bytes as one named kind: ``message``, a message kind, or a notice document.

    Raises:
        UnknownKindError: ``kind`` is not one of :data:`KIND_NAMES`.
        DecodeError: Not JSON, or not valid as that kind.
    """
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        raise UnknownKindError(kind, KIND_NAMES)
    result: BaseModel = _validate(adapter, data, roster, kind)
    return result


def _validate(
    adapter: TypeAdapter[Any], data: bytes | str, roster: Roster | None, kind: str | None
) -> Any:
    """Validate a document read from outside, as the exported schemas say.

    The models' types refuse text for a number or a boolean and a number for a time; the
    context asks for every union tag to be given.
    """
    context: dict[str, Any] = {WIRE: True}
    if roster is not None:
        context["roster"] = roster
    try:
        return adapter.validate_json(data, context=context)
    except ValidationError as exc:
        raise DecodeError(validation_issues(exc, data), kind) from None
    except (ValueError, RecursionError) as exc:  # defensive: anything else pydantic-core lets out
        raise DecodeError((Issue("", f"cannot decode: {exc}"),), kind) from None


def validation_issues(exc: ValidationError, data: bytes | str) -> tuple[Issue, ...]:
    """The errors pydantic found, as issues: a JSON pointer into ``data`` and a reason each."""
    try:
        document: Any = json.loads(data)
    except (ValueError, RecursionError):
        document = None
    issues = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        if err["type"] in {"union_tag_invalid", "union_tag_not_found"}:
            # point at the discriminator field itself (pydantic quotes its name: "'kind'")
            loc = (*loc, str(err.get("ctx", {}).get("discriminator", "")).strip("'"))
        issues.append(Issue(_pointer(loc, document), _reason(err)))
    return tuple(issues)


def _pointer(loc: Sequence[int | str], document: Any) -> str:
    """Turn pydantic's error location into a JSON pointer into the input document.

    pydantic inserts the tag of a discriminated union (``'notice-request'``, ``'red'``) into the
    location; walking the input document alongside tells those apart from real keys.
    """
    parts: list[str] = []
    node = document
    fresh = True  # no union tag consumed yet at this node
    for index, step in enumerate(loc):
        if isinstance(node, Mapping) and isinstance(step, str):
            if fresh and _is_tag(node, step):
                fresh = False
                continue  # a union's tag, not a key of the input
            following = loc[index + 1] if index + 1 < len(loc) else None
            if fresh and step not in node and isinstance(following, str) and following in node:
                fresh = False
                continue  # a union member's label (a model's name), not a key of the input
            node = node.get(step)  # None for a missing key: named, since the problem is there
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            node = node[step]
        else:
            node = None
        fresh = True
        parts.append(str(step).replace("~", "~0").replace("/", "~1"))
    return "".join("/" + p for p in parts)


def _is_tag(node: Mapping[str, Any], step: str) -> bool:
    return any(node.get(key) == step for key in ("kind", "notice_type", "scope", "database"))


def _reason(err: ErrorDetails) -> str:
    message = err["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    if err["type"] in {"missing", "extra_forbidden", "value_error", "json_invalid"}:
        return message
    value = err.get("input")
    if isinstance(value, str | int | float | bool) or value is None:
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return f"{message} (got {shown})"
    return message
