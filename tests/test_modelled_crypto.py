"""Modelled cryptography (``--crypto modelled``): the same story as the real thing, told cheaper.

A simulation whose subject is not the cryptography may model it: frames of the same shape and
size, checked by keyed digests. The same seed must then give the same summary as with real
cryptography, apart from the field that names the mode; attacks must be refused with the same
reasons; and a modelled frame must never pass for a real one, nor the other way round.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from bureaus.samples import NOW, sample_messages
from bureaus.samples import throwaway_world as world
from protocol.errors import CryptoError, Reason, Rejection
from protocol.messages.models import MessageBase
from protocol.security.envelope import EnvelopeCodec, peek
from protocol.security.suites import MODELLED, REAL, Suite
from scenarios.cli import LIBRARY, main
from scenarios.launch import run
from scenarios.model import load_scenario
from scenarios.reports.comparable import comparable_summary
from scenarios.reports.metrics import check_expectations, summarise
from scenarios.results import RunResult, ScenarioRunError
from scenarios.runner import RunOptions, run_scenario, simulate

# forged, replayed and garbage envelopes and a revocation; crashes; an outage under load
SCENARIOS = {"online-fraud": None, "bureau-crash": None, "hub-outage": 40.0, "red-notice": None}


def message() -> MessageBase:
    return sample_messages()["case-message"].model_copy(
        update={"created_at": NOW, "message_id": uuid4(), "sender": "KE"}
    )


def codec(bureau: str, suite: Suite) -> EnvelopeCodec:
    return world().codec(bureau, suite=suite)


def refusal(receiver: EnvelopeCodec, envelope: bytes) -> tuple[Reason, str]:
    with pytest.raises(Rejection) as info:
        receiver.open_at(envelope, NOW)
    return info.value.reason, info.value.detail


@pytest.mark.parametrize("suite", [REAL, MODELLED])
def test_each_suite_opens_its_own_frames_and_names_itself(suite: Suite) -> None:
    sent = message()
    envelope = codec("KE", suite).seal_at(sent, NOW, to=["FR"])
    assert envelope[1] == suite.number
    assert codec("FR", suite).open_at(envelope, NOW).message == sent
    assert peek(envelope, suite=suite).message_id == sent.message_id
    assert peek(envelope, suite=None).message_id == sent.message_id  # a tool reads either
    other = MODELLED if suite is REAL else REAL
    with pytest.raises(Rejection, match="suite"):
        peek(envelope, suite=other)  # a bureau routes only what it could open


def test_frames_of_one_suite_never_pass_for_the_other() -> None:
    sent = message()
    for made, opened_by in ((MODELLED, REAL), (REAL, MODELLED)):
        envelope = codec("KE", made).seal_at(sent, NOW, to=["FR"])
        reason, detail = refusal(codec("FR", opened_by), envelope)
        assert reason is Reason.UNSUPPORTED_VERSION
        assert f"suite {made.number}" in detail


def test_the_modelled_frame_is_the_real_ones_size_and_keeps_nothing_secret() -> None:
    sent = message()
    real = codec("KE", REAL).seal_at(sent, NOW, to=["FR", "DE"])
    modelled = codec("KE", MODELLED).seal_at(sent, NOW, to=["FR", "DE"])
    assert len(modelled) == len(real)
    plaintext = sent.__pydantic_serializer__.to_json(sent)
    assert plaintext in modelled  # not encryption: a model of it
    assert plaintext not in real


def tampered_cases(envelope: bytes) -> dict[str, bytes]:
    """The same damage done to a frame of either suite."""
    header_end = 6 + int.from_bytes(envelope[2:6], "big")
    flipped_content = bytearray(envelope)
    flipped_content[header_end + 10] ^= 0x01
    flipped_signature = bytearray(envelope)
    flipped_signature[-1] ^= 0x01
    return {
        "content": bytes(flipped_content),
        "signature": bytes(flipped_signature),
        "truncated": envelope[:-1],
    }


def test_damage_and_wrong_keys_are_refused_with_the_real_suites_reasons_and_words() -> None:
    sent = message()
    told: dict[Suite, dict[str, tuple[Reason, str]]] = {}
    for suite in (REAL, MODELLED):
        envelope = codec("KE", suite).seal_at(sent, NOW, to=["FR"])
        told[suite] = {
            name: refusal(codec("FR", suite), damaged)
            for name, damaged in tampered_cases(envelope).items()
        }
        # DE is not a recipient: no key for it
        told[suite]["not addressed"] = refusal(codec("DE", suite), envelope)
        opened = codec("FR", suite)
        opened.open_at(envelope, NOW)
        told[suite]["again"] = refusal(opened, envelope)
    assert told[MODELLED] == told[REAL]
    assert told[REAL]["signature"][0] is Reason.BAD_SIGNATURE
    assert told[REAL]["again"][0] is Reason.DUPLICATE


def test_a_wrong_pair_key_fails_to_unwrap_in_both_suites() -> None:
    """A recipient entry wrapped under another pair's key: refused as undecryptable by both."""
    for suite in (REAL, MODELLED):
        secret, info, nonce = bytes(32), b"info", bytes(12)
        wrapped = suite.wrap(b"k" * 32, info, nonce, secret)
        assert len(wrapped) == 48
        assert suite.unwrap(b"k" * 32, info, nonce, wrapped) == secret
        with pytest.raises(CryptoError) as refused:
            suite.unwrap(b"j" * 32, info, nonce, wrapped)
        assert refused.value.reason is Reason.DECRYPT_FAILED


def verdicts(result: RunResult) -> list[tuple[str, bool, str]]:
    return [(x.name, x.passed, x.detail) for x in check_expectations(result)]


def told(result: RunResult) -> list[tuple[Any, ...]]:
    """Every event as the log says it, less the wall clock's anchor."""
    return [
        (
            e.kind,
            e.bureau,
            e.t_s,
            sorted((k, str(v)) for k, v in e.as_dict().items() if k != "t_ns"),
        )
        for e in result.events
    ]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_same_seed_tells_the_same_story_with_modelled_cryptography(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = load_scenario(LIBRARY / f"{name}.yaml")
    duration = SCENARIOS[name]
    signed_with: list[str] = []
    sign = Suite.sign

    def recorded(suite: Suite, key: Any, data: bytes) -> bytes:
        signed_with.append(suite.name)
        return sign(suite, key, data)

    monkeypatch.setattr(Suite, "sign", recorded)
    real = simulate(scenario, RunOptions(duration=duration))
    assert set(signed_with) == {"real"}
    signed_with.clear()
    modelled = simulate(scenario, RunOptions(duration=duration, crypto="modelled"))
    assert set(signed_with) == {"modelled"}  # every bureau sealed with the model
    real_summary = comparable_summary(summarise(real))
    modelled_summary = comparable_summary(summarise(modelled))
    assert (real_summary.pop("crypto"), modelled_summary.pop("crypto")) == ("real", "modelled")
    assert modelled_summary == real_summary
    assert verdicts(modelled) == verdicts(real)
    assert told(modelled) == told(real)


def test_modelled_cryptography_is_for_simulations_only() -> None:
    scenario = load_scenario(LIBRARY / "red-notice.yaml")
    with pytest.raises(ScenarioRunError, match="simulations"):
        simulate(scenario, RunOptions(crypto="modelled", verifiers=1))

    async def live() -> RunResult:
        return await run_scenario(scenario, RunOptions(crypto="modelled", clock="wall"))

    with pytest.raises(ScenarioRunError, match="simulations"):
        asyncio.run(live())
    with pytest.raises(ScenarioRunError, match="simulations"):
        run(scenario, RunOptions(crypto="modelled", workers=2))  # before any worker starts


def test_a_comparison_with_modelled_cryptography_has_the_same_figures(tmp_path: Path) -> None:
    """The topology lab is a study whose subject is not the cryptography: the same rows."""
    rows = {}
    for crypto in ("real", "modelled"):
        out = tmp_path / crypto
        argv = ["compare", "red-notice", "--topology", "hub,mesh", "--seeds", "2", "--jobs", "1"]
        assert main([*argv, "--crypto", crypto, "--out", str(out), "--quiet"]) == 0
        rows[crypto] = json.loads((out / "compare.json").read_text("utf-8"))
    for real, modelled in zip(rows["real"], rows["modelled"], strict=True):
        assert (real.pop("crypto"), modelled.pop("crypto")) == ("real", "modelled")
        assert modelled == real
    page = (tmp_path / "modelled" / "compare.md").read_text("utf-8")
    assert "cryptography was modelled" in page
    assert "cryptography was modelled" not in (tmp_path / "real" / "compare.md").read_text("utf-8")
    assert main(["compare", "red-notice", "--clock", "wall", "--crypto", "modelled"]) == 2
