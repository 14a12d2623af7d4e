"""Version negotiation: one major version; a newer minor's unknown fields ignored; else refused."""

from __future__ import annotations

import json
from uuid import uuid4

import pytest

from bureaus.samples import NOW, sample_messages
from bureaus.samples import throwaway_world as world
from protocol import DecodeError, decode, encode
from protocol.errors import ArgumentError, Reason, Rejection
from protocol.schemas.versions import DiffusionV1_1, written_as


def diffusion(version: str) -> object:
    base = sample_messages()["diffusion"].model_copy(
        update={"created_at": NOW, "message_id": uuid4()}
    )
    return written_as(base, version)


def test_written_as_each_version() -> None:
    assert diffusion("1.0").schema_version == "1.0"  # type: ignore[attr-defined]
    newer = diffusion("1.1")
    assert isinstance(newer, DiffusionV1_1)
    assert json.loads(encode(newer))["language"] == "ENG"
    assert diffusion("2.0").schema_version == "2.0"  # type: ignore[attr-defined]
    with pytest.raises(ArgumentError, match="unknown schema version"):
        written_as(sample_messages()["diffusion"], "9.9")


def test_decode_ignores_unknown_fields_only_when_asked_and_only_them() -> None:
    wire = encode(diffusion("1.1"))  # type: ignore[arg-type]
    with pytest.raises(DecodeError, match="Extra inputs"):
        decode(wire)
    assert decode(wire, ignore_unknown_fields=True).kind == "diffusion"
    document = json.loads(wire)
    document["sender"] = "ZZ"  # another problem: still refused
    with pytest.raises(DecodeError) as info:
        decode(json.dumps(document), ignore_unknown_fields=True)
    assert "/sender" in {issue.pointer for issue in info.value.issues}


@pytest.mark.parametrize(
    ("sender_version", "receiver_version", "outcome"),
    [
        ("1.0", "1.0", "ok"),
        ("1.1", "1.0", "ok"),  # newer minor: the unknown field is ignored
        ("1.0", "1.1", "ok"),  # older minor: nothing missing that is required
        ("1.1", "1.1", "language"),  # same minor: the field is read
        ("2.0", "1.0", Reason.UNSUPPORTED_VERSION),
        ("1.0", "2.0", Reason.UNSUPPORTED_VERSION),
    ],
)
def test_envelopes_across_versions(
    sender_version: str, receiver_version: str, outcome: object
) -> None:
    sender = world().codec("DE", schema_version=sender_version)
    receiver = world().codec("FR", schema_version=receiver_version)
    envelope = sender.seal_at(diffusion(sender_version), NOW)  # type: ignore[arg-type]
    if isinstance(outcome, Reason):
        with pytest.raises(Rejection) as info:
            receiver.open_at(envelope, NOW)
        assert info.value.reason is outcome
        return
    opened = receiver.open_at(envelope, NOW)
    assert opened.message.schema_version == sender_version
    if outcome == "language":
        assert opened.message.language == "ENG"  # type: ignore[union-attr]
