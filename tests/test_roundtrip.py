"""Property tests: every message kind and notice survives encode → decode unchanged."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import MESSAGE_KINDS, DecodeError, decode, decode_as, encode
from protocol.messages.codec import DOCUMENT_TYPES
from protocol.schemas.strategies import MESSAGES, NOTICES


def test_strategies_cover_every_kind() -> None:
    assert set(MESSAGES) == set(MESSAGE_KINDS)
    assert set(NOTICES) == set(DOCUMENT_TYPES)


@pytest.mark.parametrize("kind", sorted(MESSAGES))
@settings(max_examples=60)
@given(data=st.data())
def test_message_round_trip(kind: str, data: st.DataObject) -> None:
    message = data.draw(MESSAGES[kind])
    wire = encode(message)
    assert decode(wire) == message
    assert decode_as(wire, kind) == message
    # the wire form is compact UTF-8 JSON with the kind tag on it
    assert json.loads(wire.decode("utf-8"))["kind"] == kind
    assert b": " not in wire.split(b'"')[0]


@pytest.mark.parametrize("name", sorted(NOTICES))
@settings(max_examples=60)
@given(data=st.data())
def test_notice_round_trip(name: str, data: st.DataObject) -> None:
    notice = data.draw(NOTICES[name])
    assert decode_as(encode(notice), name) == notice


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_raise_decode_error(blob: bytes) -> None:
    with pytest.raises(DecodeError) as info:
        decode(blob)
    assert info.value.issues


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300)
@given(
    st.fixed_dictionaries(
        {"kind": st.sampled_from(sorted(MESSAGE_KINDS))},
        optional={
            "message_id": json_values,
            "sender": json_values,
            "recipients": json_values,
            "notice": json_values,
            "query": json_values,
            "created_at": json_values,
        },
    )
)
def test_arbitrary_json_only_raises_decode_error(document: dict[str, object]) -> None:
    with pytest.raises(DecodeError) as info:
        decode(json.dumps(document).encode())
    assert all(issue.pointer == "" or issue.pointer.startswith("/") for issue in info.value.issues)


@settings(max_examples=100)
@given(message=st.one_of(*MESSAGES.values()), junk=st.binary(min_size=1, max_size=8))
def test_trailing_junk_is_rejected(message: object, junk: bytes) -> None:
    wire = encode(message)  # type: ignore[arg-type]
    if junk.strip() == b"":
        return  # trailing whitespace is valid JSON
    with pytest.raises(DecodeError):
        decode(wire + junk)
