"""The tamper-evident event log: intact runs verify; any edit is found, with its line."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.security.pki import CertificateAuthority
from scenarios.cli import main
from scenarios.reports.evidence import chained_lines, fingerprint_of, sign_log
from tests.conftest import require_mosquitto


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_mosquitto()
    out = tmp_path_factory.mktemp("run") / "report"
    scenario = out.parent / "small.yaml"
    scenario.write_text(
        "name: small\nroster: [gs, FR, DE, KE]\nduration: 1\ndrain: 1\ninjects:\n"
        "  - {at: 0.1, name: d, diffusion: {from: FR, to: [DE, KE]}}\n"
        "  - {at: 0.3, name: s, search: {from: KE}}\n"
        "expect:\n  - {name: d arrives, delivered: {message: d, to: [DE, KE], within: 1}}\n",
        encoding="utf-8",
    )
    assert main(["run", str(scenario), "--quiet", "--out", str(out)]) == 0
    return out


def copy_of(run_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    target.mkdir()
    for name in sorted(p.name for p in run_dir.iterdir() if p.is_file()):
        (target / name).write_bytes((run_dir / name).read_bytes())
    return target


def edited_records(copy: Path) -> list[dict[str, object]]:
    """The log's records without their chain, the first one edited."""
    records = []
    for line in (copy / "events.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        record.pop("chain")
        record.pop("seq")
        records.append(record)
    records[0]["bureau"] = "XX"
    return records


def recorded_fingerprint(run_dir: Path) -> str:
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    return str(summary["evidence"]["signer_fingerprint"])


def test_an_untouched_run_verifies(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # against the fingerprint the run printed (kept by whoever ran it): intact
    assert main(["verify-log", str(run_dir), "--fingerprint", recorded_fingerprint(run_dir)]) == 0
    said = capsys.readouterr().out
    assert "report files intact" in said
    # without an anchor it is consistent, never called intact
    assert main(["verify-log", str(run_dir)]) == 0
    said = capsys.readouterr().out
    assert "not anchored" in said
    assert "intact" not in said


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
    records = edited_records(copy)
    rewritten = [line for line, _chain in chained_lines(records)]
    (copy / "events.jsonl").write_text("\n".join(rewritten) + "\n", encoding="utf-8")
    assert main(["verify-log", str(copy)]) == 1
    assert "rewritten" in capsys.readouterr().out


def test_a_directory_without_a_run_is_bad_input(tmp_path: Path) -> None:
    assert main(["verify-log", str(tmp_path)]) == 2


@pytest.mark.parametrize("damage", ["missing", "unreadable"])
def test_verify_log_and_debrief_agree_on_a_missing_or_unreadable_signature(
    run_dir: Path, tmp_path: Path, damage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = copy_of(run_dir, tmp_path)
    if damage == "missing":
        (copy / "events.sig").unlink()
    else:
        (copy / "events.sig").write_text("{not json", encoding="utf-8")
    assert main(["verify-log", str(copy)]) == 1
    said = capsys.readouterr().out
    assert "no usable signature" in said
    assert main(["debrief", str(copy), "--no-pdf"]) == 1
    assert "no usable signature" in capsys.readouterr().err
    assert "Do not rely on this debrief" in (copy / "debrief.html").read_text(encoding="utf-8")


def test_summary_rewritten_to_failed_is_found(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # every expectation rewritten to failed: the summary is covered by the signed manifest
    copy = copy_of(run_dir, tmp_path)
    summary = json.loads((copy / "summary.json").read_text(encoding="utf-8"))
    assert summary["expectations"]
    for expectation in summary["expectations"]:
        expectation["passed"] = False
    (copy / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    assert main(["verify-log", str(copy)]) == 1
    assert "summary.json was altered" in capsys.readouterr().out
    assert main(["debrief", str(copy), "--no-pdf"]) == 1
    page = (copy / "debrief.html").read_text(encoding="utf-8")
    assert "is intact" not in page
    assert "summary.json was altered" in page


def test_reformatting_the_summary_changes_nothing(run_dir: Path, tmp_path: Path) -> None:
    copy = copy_of(run_dir, tmp_path)
    summary = json.loads((copy / "summary.json").read_text(encoding="utf-8"))
    (copy / "summary.json").write_text(json.dumps(summary, indent=7), encoding="utf-8")
    assert main(["verify-log", str(copy)]) == 0


def _resign(copy: Path, *, record_new_signer: bool) -> str:
    """Re-chain and re-sign the whole run with a key of the forger's own; its fingerprint."""
    forger = CertificateAuthority.create(datetime.now(UTC), timedelta(days=1))
    if record_new_signer:
        summary = json.loads((copy / "summary.json").read_text(encoding="utf-8"))
        summary["evidence"]["signer_fingerprint"] = fingerprint_of(forger.root_certificate)
        (copy / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    records = edited_records(copy)
    lines = list(chained_lines(records))
    (copy / "events.jsonl").write_text("\n".join(line for line, _ in lines) + "\n", "utf-8")
    signature = sign_log(copy, lines[-1][1], len(lines), forger.root_key, forger.root_certificate)
    (copy / "events.sig").write_text(json.dumps(signature), encoding="utf-8")
    return fingerprint_of(forger.root_certificate)


def test_a_log_resigned_with_another_key_is_found(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    genuine = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    signer = genuine["evidence"]["signer_fingerprint"]
    copy = copy_of(run_dir, tmp_path)
    _resign(copy, record_new_signer=False)
    # by default, against the fingerprint the report recorded
    assert main(["verify-log", str(copy)]) == 1
    assert "re-signed with another key" in capsys.readouterr().out
    assert main(["debrief", str(copy), "--no-pdf"]) == 1
    # a forger who also rewrote the recorded fingerprint is caught by the one the user kept
    forged = _resign(copy, record_new_signer=True)
    assert main(["verify-log", str(copy)]) == 0  # consistent with itself: shows its signer
    assert forged in capsys.readouterr().out
    assert main(["verify-log", str(copy), "--fingerprint", signer]) == 1
    assert "re-signed with another key" in capsys.readouterr().out
    assert main(["debrief", str(copy), "--no-pdf", "--fingerprint", signer]) == 1


def test_verify_log_against_the_root_of_the_pki_the_run_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require_mosquitto()
    pki = tmp_path / "pki"
    assert main(["keys", "init", "--roster", "gs,FR,DE,KE", "--out", str(pki)]) == 0
    other = tmp_path / "other"
    assert main(["keys", "init", "--roster", "gs,FR,DE,KE", "--out", str(other)]) == 0
    scenario = tmp_path / "small.yaml"
    scenario.write_text(
        "name: small\nroster: [gs, FR, DE, KE]\nduration: 1\ndrain: 1\ninjects:\n"
        "  - {at: 0.1, name: d, diffusion: {from: FR, to: [DE, KE]}}\n",
        encoding="utf-8",
    )
    out = tmp_path / "report"
    assert main(["run", str(scenario), "--quiet", "--pki", str(pki), "--out", str(out)]) == 0
    root = str(pki / "root.crt.pem")
    assert main(["verify-log", str(out), "--root", root]) == 0
    capsys.readouterr()
    assert main(["verify-log", str(out), "--root", str(other / "root.crt.pem")]) == 1
    assert "re-signed with another key" in capsys.readouterr().out


def test_truncated_log_is_found(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = copy_of(run_dir, tmp_path)
    lines = (copy / "events.jsonl").read_text(encoding="utf-8").splitlines()
    (copy / "events.jsonl").write_text("\n".join(lines[:-2]) + "\n", encoding="utf-8")
    assert main(["verify-log", str(copy)]) == 1
    assert f"line {len(lines) - 1}: lines missing at the end" in capsys.readouterr().out


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


_KEYS = st.sampled_from(["chain", "seq", "kind", "é"]) | st.text()


@given(records=st.lists(st.dictionaries(_KEYS, _JSON, max_size=6), min_size=1, max_size=4))
def test_each_line_is_its_record_numbered_and_linked_as_json_writes_it(
    records: list[dict[str, object]],
) -> None:
    # the lines are built from encoders made once; they must be what json.dumps writes
    last = "0" * 64
    for seq, (line, chain) in enumerate(chained_lines(records), start=1):
        body = {**records[seq - 1], "seq": seq}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        last = hashlib.sha256(last.encode() + canonical.encode()).hexdigest()
        assert chain == last
        expected = {**body, "chain": last}
        assert line == json.dumps(expected, separators=(",", ":"), ensure_ascii=False)
