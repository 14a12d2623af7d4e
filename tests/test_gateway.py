"""The schema-validating gateway: SIENA-style messages in, bureaunet case messages out."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest

from protocol import DecodeError, decode, encode
from protocol.messages.gateway import translate
from scenarios.cli import main
from tests.conftest import require_mosquitto

GOOD = {
    "siena_id": "SIENA-2026-1",
    "from_unit": "europol",
    "to_units": ["FR", "DE"],
    "case_ref": "EU/2026/1",
    "subject": "s",
    "body": "b",
    "handling_code": "H3",
    "source_reliability": "X",
    "information_accuracy": 4,
    "priority": "immediate",
}
T = datetime(2026, 11, 23, tzinfo=UTC)


def test_a_valid_message_keeps_its_codes() -> None:
    message = translate(GOOD, message_id=UUID(int=1), created_at=T)
    assert (
        message.handling_code,
        message.source_reliability,
        message.information_accuracy,
        message.priority,
    ) == ("H3", "X", 4, "flash")
    assert message.recipients.bureaus == ("FR", "DE")  # type: ignore[union-attr]
    assert decode(encode(message)) == message


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"source_reliability": "E"}, "/source_reliability"),
        ({"information_accuracy": 0}, "/information_accuracy"),
        ({"handling_code": "H9"}, "/handling_code"),
        ({"to_units": ["FR", "QQ"]}, "/to_units/1"),
        ({"siena_id": "12"}, "/siena_id"),
        ({"unknown": 1}, "/unknown"),
    ],
)
def test_invalid_messages_name_the_path(change: dict[str, object], pointer: str) -> None:
    with pytest.raises(DecodeError) as info:
        translate({**GOOD, **change}, message_id=UUID(int=2), created_at=T)
    assert pointer in {issue.pointer for issue in info.value.issues}


def test_report_shows_gateway_refusals_with_path_and_reason(tmp_path: Path) -> None:
    require_mosquitto()
    out = tmp_path / "gw"
    assert main(["run", "europol-gateway", "--quiet", "--out", str(out)]) == 0
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "gateway_invalid" in report
    assert "/source_reliability: Input should be 'A', 'B', 'C' or 'X' (got 'E')" in report
    assert "/case_ref: Field required" in report
