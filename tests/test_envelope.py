"""The envelope: committed vectors, round-trip and tamper properties, format details."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bureaus.samples import NOW, sample_messages
from bureaus.samples import throwaway_world as world
from protocol import ToBureaus, decode, default_roster
from protocol.errors import ArgumentError, Reason, Rejection
from protocol.messages.authority import SENDERS
from protocol.schemas.strategies import MESSAGES
from protocol.security.envelope import SUITE, VERSION, peek
from tests.vectors.envelope import FILE, build, seal

VECTORS = json.loads(FILE.read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda c: c["kind"])
def test_committed_vectors_reseal_byte_for_byte_and_open(case: dict[str, object]) -> None:
    pinned = build(VECTORS)
    envelope = seal(pinned, case)
    assert envelope.hex() == case["envelope"]
    opened_at = datetime.fromisoformat(VECTORS["open_at"])
    expected = decode(bytes.fromhex(case["message"]))  # type: ignore[arg-type]
    for recipient in case["to"]:  # type: ignore[attr-defined]
        opened = pinned.codecs[recipient].open_at(envelope, opened_at)
        assert opened.message == expected
        assert opened.header.sender == expected.sender


@pytest.mark.parametrize("kind", sorted(MESSAGES))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_round_trip_every_kind(kind: str, data: st.DataObject) -> None:
    # a sender whose role may send this kind, addressed to exactly the bureaus it is sealed for
    sender = "FR" if "ncb" in SENDERS[kind].roles else "gs"
    to = data.draw(
        st.lists(
            st.sampled_from([b for b in ("gs", "DE", "KE", "BR", "europol") if b != sender]),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    message = data.draw(MESSAGES[kind]).model_copy(
        update={"sender": sender, "created_at": NOW, "recipients": ToBureaus(bureaus=tuple(to))}
    )
    envelope = world().codec(sender).seal_at(message, NOW, to=to)
    assert peek(envelope).recipient_ids == tuple(to)
    for bureau in to:
        assert world().codec(bureau).open_at(envelope, NOW).message == message


@pytest.fixture(scope="module")
def sealed() -> bytes:
    message = sample_messages()["case-message"].model_copy(update={"created_at": NOW})
    return world().codec("KE").seal_at(message, NOW, to=["FR"])


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_flipping_any_byte_is_rejected(sealed: bytes, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(sealed) - 1))
    flip = data.draw(st.integers(1, 255))
    tampered = bytearray(sealed)
    tampered[index] ^= flip
    with pytest.raises(Rejection):
        world().codec("FR").open_at(bytes(tampered), NOW)


@settings(max_examples=200, deadline=None)
@given(cut=st.integers(0, 10_000), junk=st.binary(min_size=1, max_size=64))
def test_truncating_or_appending_is_rejected(sealed: bytes, cut: int, junk: bytes) -> None:
    with pytest.raises(Rejection) as info:
        world().codec("FR").open_at(sealed[: cut % len(sealed)], NOW)
    assert info.value.reason in {Reason.MALFORMED, Reason.UNSUPPORTED_VERSION}
    with pytest.raises(Rejection) as info:
        world().codec("FR").open_at(sealed + junk, NOW)
    assert info.value.reason is Reason.MALFORMED


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_only_give_rejections(blob: bytes) -> None:
    with pytest.raises(Rejection):
        world().codec("FR").open_at(blob, NOW)


def test_the_untampered_envelope_opens(sealed: bytes) -> None:
    # the tamper properties above are only meaningful if the original is accepted
    assert world().codec("FR").open_at(sealed, NOW).message.kind == "case-message"


def test_header_is_readable_without_keys(sealed: bytes) -> None:
    header = peek(sealed)
    assert sealed[0] == VERSION
    assert sealed[1] == SUITE
    assert header.sender == "KE"
    assert header.kind == "case-message"
    assert header.recipient_ids == ("FR",)
    assert b"Please confirm" not in sealed  # content is encrypted


def test_oversized_input_is_refused_before_parsing() -> None:
    codec = world().codec("FR", max_size=1000)
    with pytest.raises(Rejection, match="exceeds") as info:
        codec.open_at(bytes([VERSION, SUITE]) + bytes(2000), NOW)
    assert info.value.reason is Reason.MALFORMED


def test_seal_to_region_needs_explicit_bureaus() -> None:
    published = sample_messages()["notice-published"]
    with pytest.raises(ArgumentError, match="explicit"):
        world().codec("gs").seal_at(published, NOW)


def test_broadcast_to_195_ncbs_opens_everywhere() -> None:
    published = sample_messages()["notice-published"].model_copy(update={"created_at": NOW})
    ncbs = [b.id for b in default_roster().ncbs()]
    envelope = world().codec("gs").seal_at(published, NOW, to=ncbs, ttl=timedelta(hours=2))
    assert len(peek(envelope).recipients) == 195
    for bureau in ("FR", "KE", "BR", "JP", "VA"):
        assert world().codec(bureau).open_at(envelope, NOW).message == published


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_wide_header_remembered_once_parsed_still_rejects_any_edit(data: st.DataObject) -> None:
    # wide headers are parsed once per process and remembered by their bytes: an edited copy
    # must never be taken for the remembered original
    published = sample_messages()["notice-published"].model_copy(update={"created_at": NOW})
    ncbs = [b.id for b in default_roster().ncbs()]
    envelope = world().codec("gs").seal_at(published, NOW, to=ncbs, ttl=timedelta(hours=2))
    assert peek(envelope) == peek(bytes(envelope))  # the second read comes from the memo
    index = data.draw(st.integers(0, len(envelope) - 1))
    tampered = bytearray(envelope)
    tampered[index] ^= data.draw(st.integers(1, 255))
    with pytest.raises(Rejection):
        world().codec("KE").open_at(bytes(tampered), NOW)
    assert world().codec("KE").open_at(envelope, NOW).message == published
