"""MQTT topic names, all in one place.

The only thing ``protocol`` knows about MQTT is these strings::

    bureaunet/v1/inbox/{bureau_id}      a bureau's own inbox (QoS 1)
    bureaunet/v1/broadcast/{scope}      scope "all" or a region id
    bureaunet/v1/presence/{bureau_id}   retained birth / last-will death
    bureaunet/v1/crl                    the General Secretariat's revocation list (retained)

Bureau ids are checked before they go into a topic, so none can hold ``+``, ``#`` or ``/``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from protocol.errors import TopicError
from protocol.network.roster import REGIONS, is_valid_bureau_id

__all__ = [
    "CRL",
    "PREFIX",
    "ParsedTopic",
    "broadcast",
    "inbox",
    "parse",
    "presence",
    "presence_payload",
    "subscriptions",
]

PREFIX = "bureaunet/v1"
CRL = f"{PREFIX}/crl"

TopicKind = Literal["inbox", "broadcast", "presence", "crl"]


def _checked(bureau_id: str) -> str:
    if not is_valid_bureau_id(bureau_id):
        raise TopicError(bureau_id, "not a valid bureau id for a topic")
    return bureau_id


def inbox(bureau_id: str) -> str:
    """The inbox topic of one bureau.

    Raises:
        TopicError: ``bureau_id`` is not a valid bureau id.
    """
    return f"{PREFIX}/inbox/{_checked(bureau_id)}"


def presence(bureau_id: str) -> str:
    """The presence topic of one bureau.

    Raises:
        TopicError: ``bureau_id`` is not a valid bureau id.
    """
    return f"{PREFIX}/presence/{_checked(bureau_id)}"


def broadcast(scope: str) -> str:
    """The broadcast topic for ``all`` or for one region.

    Raises:
        TopicError: ``scope`` is neither ``all`` nor a region.
    """
    if scope != "all" and scope not in REGIONS:
        raise TopicError(scope, "broadcast scope must be 'all' or a region")
    return f"{PREFIX}/broadcast/{scope}"


def subscriptions(bureau_id: str, *, broadcast_all: bool = True) -> list[tuple[str, int]]:
    """Every topic a bureau subscribes to, with its QoS.

    Its inbox, the revocation list, and ``broadcast/all`` unless the network does without it.

    Raises:
        TopicError: ``bureau_id`` is not a valid bureau id.
    """
    wanted = [(inbox(bureau_id), 1), (CRL, 1)]
    if broadcast_all:
        wanted.append((broadcast("all"), 1))
    return wanted


def presence_payload(bureau_id: str, status: Literal["birth", "death"]) -> bytes:
    """What a bureau publishes, retained, on its presence topic.

    ``birth`` when it connects, and ``death`` (its Last Will) when it goes away.
    """
    return json.dumps({"bureau": bureau_id, "status": status}).encode()


@dataclass(frozen=True, slots=True)
class ParsedTopic:
    """A bureaunet topic taken apart.

    Attributes:
        kind: Which family of topic.
        target: The bureau id (inbox, presence), the scope (broadcast), or ``""`` (crl).
    """

    kind: TopicKind
    target: str


def parse(topic: str) -> ParsedTopic:
    """Take a topic string apart.

    Raises:
        TopicError: Not one of bureaunet's topics.
    """
    if topic == CRL:
        return ParsedTopic("crl", "")
    head, sep, rest = topic.rpartition("/")
    if sep:
        if head == f"{PREFIX}/inbox" and is_valid_bureau_id(rest):
            return ParsedTopic("inbox", rest)
        if head == f"{PREFIX}/presence" and is_valid_bureau_id(rest):
            return ParsedTopic("presence", rest)
        if head == f"{PREFIX}/broadcast" and (rest == "all" or rest in REGIONS):
            return ParsedTopic("broadcast", rest)
    raise TopicError(topic, "not a bureaunet topic")
