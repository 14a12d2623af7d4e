"""Handling codes and TLP markings: which forwards break the originator's caveats."""

from __future__ import annotations

import pytest

from bureaus.samples import diffusion
from protocol import MessageBase
from protocol.messages.caveats import forwarding_breaches


def marked(handling_code: str = "H1", tlp: str | None = None) -> MessageBase:
    """FR's diffusion to DE and IT with the given caveats."""
    return diffusion("FR", ("DE", "IT")).model_copy(
        update={"handling_code": handling_code, "tlp": tlp}
    )


@pytest.mark.parametrize(
    ("code", "breaks"), [("H0", False), ("H1", False), ("H2", True), ("H3", True)]
)
def test_handling_codes_that_need_the_originators_permission(code: str, breaks: bool) -> None:
    breaches = forwarding_breaches(marked(code), "DE", ["NL"], entitled=("DE", "IT"))
    assert [b.rule for b in breaches] == ([code] if breaks else [])
    for breach in breaches:
        assert breach.originator == "FR"
        assert breach.forwarder == "DE"
        assert breach.to == ("NL",)
        assert "without permission" in breach.detail


@pytest.mark.parametrize(
    ("tlp", "breaks"),
    [
        ("TLP:CLEAR", False),
        ("TLP:GREEN", False),
        ("TLP:AMBER", True),
        ("TLP:AMBER+STRICT", True),
        ("TLP:RED", True),
    ],
)
def test_tlp_markings_beyond_the_recipients_organisation(tlp: str, breaks: bool) -> None:
    breaches = forwarding_breaches(marked("H0", tlp), "DE", ["NL"], entitled=("DE", "IT"))
    assert [b.rule for b in breaches] == ([tlp] if breaks else [])


def test_both_caveats_broken_are_two_breaches() -> None:
    breaches = forwarding_breaches(marked("H2", "TLP:RED"), "DE", ["NL", "BE"])
    assert [b.rule for b in breaches] == ["H2", "TLP:RED"]
    assert breaches[0].to == ("NL", "BE")


def test_permission_makes_any_forward_allowed() -> None:
    assert forwarding_breaches(marked("H3", "TLP:RED"), "DE", ["NL"], permission=True) == []


def test_back_to_the_originator_or_to_earlier_recipients_is_no_breach() -> None:
    message = marked("H2", "TLP:RED")
    assert forwarding_breaches(message, "DE", ["FR"]) == []
    assert forwarding_breaches(message, "DE", ["IT", "FR"], entitled=("DE", "IT")) == []
    # only the bureau that is new is named
    breaches = forwarding_breaches(message, "DE", ["IT", "NL"], entitled=("DE", "IT"))
    assert {b.to for b in breaches} == {("NL",)}


def test_the_originator_can_be_someone_other_than_the_sender() -> None:
    # a copy DE forwarded with permission carries FR's caveats; NL forwarding it needs FR's consent
    copy = marked("H2").model_copy(update={"sender": "DE"})
    breaches = forwarding_breaches(copy, "NL", ["BE"], originator="FR")
    assert breaches[0].originator == "FR"
    assert "FR's H2" in breaches[0].detail
