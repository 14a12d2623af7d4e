"""Topic names: built in one place, parsed back, never holding a wildcard."""

from __future__ import annotations

import pytest

from protocol import TopicError, topics


@pytest.mark.parametrize(
    ("topic", "kind", "target"),
    [
        (topics.inbox("FR"), "inbox", "FR"),
        (topics.inbox("rb-nairobi"), "inbox", "rb-nairobi"),
        (topics.presence("gs"), "presence", "gs"),
        (topics.broadcast("all"), "broadcast", "all"),
        (topics.broadcast("africa"), "broadcast", "africa"),
        (topics.CRL, "crl", ""),
    ],
)
def test_round_trip(topic: str, kind: str, target: str) -> None:
    parsed = topics.parse(topic)
    assert (parsed.kind, parsed.target) == (kind, target)


def test_names_are_the_documented_ones() -> None:
    assert topics.inbox("FR") == "bureaunet/v1/inbox/FR"
    assert topics.broadcast("all") == "bureaunet/v1/broadcast/all"
    assert topics.presence("DE") == "bureaunet/v1/presence/DE"
    assert topics.CRL == "bureaunet/v1/crl"


@pytest.mark.parametrize("bad", ["+", "#", "FR/x", "", "admin"])
def test_wildcards_never_enter_a_topic(bad: str) -> None:
    with pytest.raises(TopicError):
        topics.inbox(bad)
    with pytest.raises(TopicError):
        topics.presence(bad)


@pytest.mark.parametrize(
    "topic",
    [
        "bureaunet/v1/inbox/+",
        "bureaunet/v1/inbox/#",
        "bureaunet/v1/broadcast/mars",
        "bureaunet/v2/inbox/FR",
        "bureaunet/v1/inbox/FR/extra",
        "other",
        "",
    ],
)
def test_foreign_topics_are_refused(topic: str) -> None:
    with pytest.raises(TopicError):
        topics.parse(topic)


def test_broadcast_scope_is_checked() -> None:
    with pytest.raises(TopicError):
        topics.broadcast("mars")
