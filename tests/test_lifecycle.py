"""The notice lifecycle as one table: legal paths, illegal moves, and what a run records."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol.messages.lifecycle import TRANSITIONS, IllegalTransition, NoticeLifecycle
from scenarios.cli import main
from tests.conftest import require_mosquitto


@pytest.mark.parametrize(
    ("events", "final"),
    [
        (["request", "publish"], "published"),
        (["request", "refuse"], "refused"),
        (["request", "publish", "update", "update"], "updated"),
        (["request", "publish", "update", "cancel"], "cancelled"),
        (["request", "publish", "cancel"], "cancelled"),
    ],
)
def test_legal_paths(events: list[str], final: str) -> None:
    notice = NoticeLifecycle()
    for n, event in enumerate(events):
        notice.apply(event, float(n))  # type: ignore[arg-type]
    assert notice.state == final
    assert notice.path().startswith("draft → under-review")


@pytest.mark.parametrize(
    ("events", "illegal"),
    [
        ([], "publish"),  # nothing published without review
        (["request", "refuse"], "publish"),  # a refusal is final
        (["request", "publish", "cancel"], "update"),  # a cancelled notice stays cancelled
        (["request", "publish", "cancel"], "cancel"),
        (["request"], "request"),
    ],
)
def test_illegal_moves_are_typed_errors(events: list[str], illegal: str) -> None:
    notice = NoticeLifecycle()
    for event in events:
        notice.apply(event, 0.0)  # type: ignore[arg-type]
    before = notice.state
    with pytest.raises(IllegalTransition) as info:
        notice.apply(illegal, 1.0)  # type: ignore[arg-type]
    assert (info.value.state, info.value.event) == (before, illegal)
    assert notice.state == before


def test_every_state_but_the_final_ones_has_a_way_out() -> None:
    sources = {state for state, _event in TRANSITIONS}
    targets = set(TRANSITIONS.values())
    assert targets - sources == {"cancelled", "refused"}


def test_a_run_records_each_notices_path(tmp_path: Path) -> None:
    require_mosquitto()
    scenario = tmp_path / "lifecycle.yaml"
    scenario.write_text(
        "name: lifecycle\nroster: [gs, FR, DE, BE]\nduration: 2\ndrain: 1\ninjects:\n"
        "  - {at: 0.1, name: red, notice_request: {from: FR, summary: Fraud.}}\n"
        "  - {at: 0.2, name: political, notice_request: {from: DE, summary: A political case.}}\n"
        "  - {at: 1.0, name: cancel, cancel_notice: {notice: red}}\n"
        "  - {at: 1.5, name: again, cancel_notice: {notice: red}}\n"
        "expect:\n  - {rejected: {reason: illegal_transition, at_least: 1, at_most: 1}}\n",
        encoding="utf-8",
    )
    out = tmp_path / "r"
    assert main(["run", str(scenario), "--quiet", "--out", str(out)]) == 0
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## Notices" in report
    assert "draft → under-review" in report
    assert "published (0+" in report  # the scenario clock, D+HH:MM
    assert "cancelled (0+" in report
    assert "refused (0+" in report
