"""Decoding bad input: one typed error with a JSON pointer and a reason. Table-driven."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bureaus.samples import sample_messages
from protocol import DecodeError, decode, decode_as, default_roster, encode


def sample(kind: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(encode(sample_messages()[kind]))
    return document


def set_path(document: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    node: Any = document
    for step in path[:-1]:
        node = node[step]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return document


DELETE = object()

CASES = [
    # (kind of the sample, path to change, new value, expected pointer, words in the reason)
    ("presence", ["sender"], "ZZ", "/sender", "unknown bureau id 'ZZ'"),
    ("presence", ["sender"], "fr/x", "/sender", "should match pattern"),
    ("presence", ["message_id"], "not-a-uuid", "/message_id", "UUID"),
    ("presence", ["created_at"], "2026-11-23T09:00:00", "/created_at", "timezone"),
    ("presence", ["priority"], "whenever", "/priority", "got 'whenever'"),
    ("presence", ["handling_code"], "H9", "/handling_code", "'H0', 'H1', 'H2' or 'H3'"),
    ("presence", ["kind"], "pink", "/kind", "does not match any of the expected tags"),
    ("presence", ["kind"], DELETE, "/kind", "Unable to extract tag"),
    ("presence", ["recipients", "scope"], "galaxy", "/recipients/scope", "expected tags"),
    ("presence", ["extra"], 1, "/extra", "Extra inputs are not permitted"),
    ("diffusion", ["recipients", "bureaus", 1], "FR", "/recipients/bureaus", "listed twice"),
    (
        "diffusion",
        ["recipients", "bureaus", 2],
        "QQ",
        "/recipients/bureaus/2",
        "unknown bureau id 'QQ'",
    ),
    (
        "notice-request",
        ["notice", "date_of_birth"],
        "1979/13",
        "/notice/date_of_birth",
        "no month 13",
    ),
    (
        "notice-request",
        ["notice", "date_of_birth"],
        "1979/02/30",
        "/notice/date_of_birth",
        "no day 30",
    ),
    (
        "notice-request",
        ["notice", "arrest_warrants"],
        [],
        "/notice/arrest_warrants",
        "at least 1 item",
    ),
    ("notice-request", ["notice", "_links"], {"self": "x"}, None, None),  # dropped, still valid
    ("notice-published", ["notice", "entity_id"], None, "", "needs an entity_id"),
    ("search-result", ["hits"], [], "", "needs at least one hit"),
    ("search-request", ["query", "document_number"], "ab", "/query/document_number", "pattern"),
]


@pytest.mark.parametrize(("kind", "path", "value", "pointer", "reason"), CASES)
def test_decode_errors(
    kind: str, path: list[Any], value: Any, pointer: str | None, reason: str | None
) -> None:
    data = json.dumps(set_path(sample(kind), path, value)).encode()
    if pointer is None:
        assert decode(data).kind == kind
        return
    assert reason is not None
    with pytest.raises(DecodeError) as info:
        decode(data)
    assert any(i.pointer == pointer and reason in i.reason for i in info.value.issues), (
        info.value.issues
    )


def test_hypermedia_keys_are_not_emitted() -> None:
    document = sample("notice-request")
    document["notice"]["_links"] = {"self": {"href": "x"}}
    message = decode(json.dumps(document).encode())
    assert b"_links" not in encode(message)


def test_a_scenario_roster_decides_which_bureaus_exist() -> None:
    small = default_roster().subset(["gs", "FR"])
    wire = encode(sample_messages()["case-message"])  # sent by KE
    with pytest.raises(DecodeError) as info:
        decode(wire, roster=small)
    assert info.value.issues[0].pointer == "/sender"
    assert decode(wire).sender == "KE"


@pytest.mark.parametrize("kind", sorted(sample_messages()))
def test_bytes_whole_then_truncated_at_every_offset(kind: str) -> None:
    wire = encode(sample_messages()[kind])
    assert decode(wire) == sample_messages()[kind]
    for cut in range(len(wire)):
        with pytest.raises(DecodeError):
            decode(wire[:cut])


def test_decode_as_a_named_kind_checks_the_tag() -> None:
    wire = encode(sample_messages()["presence"])
    with pytest.raises(DecodeError) as info:
        decode_as(wire, "acknowledgement")
    assert info.value.kind == "acknowledgement"
    assert "/kind" in {i.pointer for i in info.value.issues}
