"""The tamper-evident event log: intact runs verify; any edit is found, with its line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scenarios.cli import main
from scenarios.evidence import chained_lines
from tests.conftest import require_mosquitto


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_mosquitto()
    out = tmp_path_factory.mktemp("run") / "report"
    scenario = out.parent / "small.yaml"
    scenario.write_text(
        "name: small\nroster: [gs, FR, DE, KE]\nduration: 1\ndrain: 1\ninjects:\n"
        "  - {at: 0.1, name: d, diffusion: {from: FR, to: [DE, KE]}}\n"
        "  - {at: 0.3, name: s, search: {from: KE}}\n",
        encoding="utf-8",
    )
    assert main(["run", str(scenario), "--quiet", "--out", str(out)]) == 0
    return out


def copy_of(run_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    target.mkdir()
    for name in ("events.jsonl", "events.sig"):
        (target / name).write_bytes((run_dir / name).read_bytes())
    return target


def test_an_untouched_run_verifies(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify-log", str(run_dir)]) == 0
    assert "lines intact" in capsys.readouterr().out


@pytest.mark.parametrize("line", [1, 3])
def test_an_edited_line_is_named(
    run_dir: Path, tmp_path: Path, line: int, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = copy_of(run_dir, tmp_path)
    lines = (copy / "events.jsonl").read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[line - 1])
    record["bureau"] = "XX"  # an edit a careless forger makes, chain field left as it was
    lines[line - 1] = json.dumps(record, separators=(",", ":"))
    (copy / "events.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["verify-log", str(copy)]) == 1
    assert f"line {line}: line altered" in capsys.readouterr().out


def test_a_deleted_or_reordered_line_is_found(run_dir: Path, tmp_path: Path) -> None:
    copy = copy_of(run_dir, tmp_path)
    lines = (copy / "events.jsonl").read_text(encoding="utf-8").splitlines()
    (copy / "events.jsonl").write_text("\n".join(lines[:2] + lines[3:]) + "\n", encoding="utf-8")
    assert main(["verify-log", str(copy)]) == 1
    (copy / "events.jsonl").write_text(
        "\n".join([lines[1], lines[0], *lines[2:]]) + "\n", encoding="utf-8"
    )
    assert main(["verify-log", str(copy)]) == 1


def test_a_rewritten_chain_fails_the_signature(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = copy_of(run_dir, tmp_path)
    records = []
    for line in (copy / "events.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        record.pop("chain")
        record.pop("seq")
        records.append(record)
    records[0]["bureau"] = "XX"
    rewritten = [line for line, _chain in chained_lines(records)]
    (copy / "events.jsonl").write_text("\n".join(rewritten) + "\n", encoding="utf-8")
    assert main(["verify-log", str(copy)]) == 1
    assert "rewritten" in capsys.readouterr().out


def test_a_missing_signature_is_bad_input(tmp_path: Path) -> None:
    assert main(["verify-log", str(tmp_path)]) == 2


def test_truncated_log_is_found(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = copy_of(run_dir, tmp_path)
    lines = (copy / "events.jsonl").read_text(encoding="utf-8").splitlines()
    (copy / "events.jsonl").write_text("\n".join(lines[:-2]) + "\n", encoding="utf-8")
    assert main(["verify-log", str(copy)]) == 1
    assert f"line {len(lines) - 1}: lines missing at the end" in capsys.readouterr().out
