"""What a JSON document is, when nobody says: a message, a notice, or a page of notices.

``validate`` without ``--as`` asks this. A guess is never made from what a document lacks: ``{}``
is nothing, not a Yellow notice with every field left out. In order:

1. ``kind``: a message (the union tells which);
2. ``total`` with ``_embedded`` or ``query``: a page of the public API's lists, its colour from
   its own link (``/notices/v1/red``), else a red list (all pages have one shape);
3. ``notice_type``: that notice;
4. a field only one notice type has (``arrest_warrants``: red; ``un_reference``: UN special;
   ``information_sought``: blue ...);
5. the document's own link (``_links.self.href``, as the public API serves a notice).

Anything else is not recognised, and the caller says what it would need.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from protocol.messages.codec import DOCUMENT_TYPES, PAGE_TYPES

__all__ = ["Recognised", "recognise"]

_NOTICE_TYPES = {name.removesuffix("-notice"): name for name in DOCUMENT_TYPES}
_LINK = re.compile(r"/notices/v1/(red|yellow|un)(?:/|\?|$)")
_LINKED = {"red": "red-notice", "yellow": "yellow-notice", "un": "un-special-notice"}
_ONLY_IN = {
    "arrest_warrants": "red-notice",
    "un_reference": "un-special-notice",
    "information_sought": "blue-notice",
    "criminal_activity": "green-notice",
    "threat_type": "orange-notice",
    "modus_operandi": "purple-notice",
    "predicate_offence": "silver-notice",
    "assets": "silver-notice",
    "estimated_age_min": "black-notice",
    "estimated_age_max": "black-notice",
    "birth_name": "yellow-notice",
}
"""Fields that only one notice type has, and that type."""


@dataclass(frozen=True, slots=True)
class Recognised:
    """What a document was taken for, and why.

    Attributes:
        kind: A name :func:`~protocol.messages.codec.decode_as` takes, or ``None``.
        because: The reason, for people (``it has arrest_warrants``).
    """

    kind: str | None
    because: str


def _self_link(document: Mapping[str, Any]) -> str:
    links = document.get("_links")
    own = links.get("self") if isinstance(links, Mapping) else None
    href = own.get("href") if isinstance(own, Mapping) else None
    return href if isinstance(href, str) else ""


def _by_kind(document: Mapping[str, Any]) -> Recognised | None:
    return Recognised("message", "it has a 'kind'") if "kind" in document else None


def _by_page(document: Mapping[str, Any]) -> Recognised | None:
    if "total" not in document or not ("_embedded" in document or "query" in document):
        return None
    link = _LINK.search(_self_link(document))
    name = f"{link.group(1) if link else 'red'}-notices"
    return Recognised(name, "it has 'total' and entries: a page of a list")


def _by_tag(document: Mapping[str, Any]) -> Recognised | None:
    tag = document.get("notice_type")
    if isinstance(tag, str) and tag in _NOTICE_TYPES:
        return Recognised(_NOTICE_TYPES[tag], f"its notice_type is {tag!r}")
    return None


def _by_link(document: Mapping[str, Any]) -> Recognised | None:
    link = _LINK.search(_self_link(document))
    if link is None:
        return None
    return Recognised(_LINKED[link.group(1)], f"its own link is {link.group(0)!r}")


def _by_field(document: Mapping[str, Any]) -> Recognised | None:
    for field, name in _ONLY_IN.items():
        if field in document:
            return Recognised(name, f"it has {field!r}, which only a {name} has")
    return None


_RULES = (_by_kind, _by_page, _by_tag, _by_field, _by_link)


def recognise(document: Any) -> Recognised:
    """What ``document`` (parsed JSON) is, by what it has (see the module's description)."""
    if not isinstance(document, Mapping):
        return Recognised(None, f"a JSON {type(document).__name__}, not an object")
    for rule in _RULES:
        found = rule(document)
        if found is not None:
            assert found.kind is None or found.kind in (*PAGE_TYPES, *DOCUMENT_TYPES, "message")
            return found
    return Recognised(
        None,
        "no 'kind' (a message has one), no 'notice_type', no link of its own and no field "
        "that only one notice type has",
    )
