"""What a run writes is safe to open, and what the debrief shows is what was signed.

Each test is an attack that worked: names that a spreadsheet runs as formulas, HTML in Markdown,
Rich markup that stopped the command, names that wrote outside ``./reports``, links planted in a
handed-over run directory, a malformed run directory, a template that runs code, a CSV edited
beside a signed log, a run re-signed with another key, and bounds that were not bounds.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol.security.pki import CertificateAuthority
from scenarios.cli import main
from scenarios.model import ScenarioError, load_scenario, parse_scenario
from scenarios.reports.evidence import chained_lines, fingerprint_of, sign_log
from scenarios.reports.safety import (
    from_spreadsheet_cell,
    markdown_text,
    path_component,
    spreadsheet_cell,
)
from tests.test_evidence import edited_records

HOSTILE_NAMES = [
    '=HYPERLINK("http://127.0.0.1/?"&A1,"click")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "\tTAB",
    "<script>alert(1)</script>",
    "[/]",
    "[bold]x[/bold",
]
"""Inject names as a hostile scenario writer types them."""


def _scenario(tmp: Path, name: str = "hostile", inject_names: list[str] | None = None) -> Path:
    names = inject_names or HOSTILE_NAMES
    injects = "".join(
        f"  - {{at: {0.1 + n / 10:.1f}, name: {json.dumps(label)}, "
        "diffusion: {from: FR, to: [DE, KE]}}\n"
        for n, label in enumerate(names)
    )
    expects = "".join(
        f"  - {{name: {json.dumps(label + ' arrives')}, delivered: "
        f"{{message: {json.dumps(label)}, to: [DE, KE], within: 5}}}}\n"
        for label in names
    )
    path = tmp / "hostile.yaml"
    path.write_text(
        f"name: {json.dumps(name)}\nroster: [gs, FR, DE, KE]\nduration: 2\ndrain: 1\n"
        f"injects:\n{injects}expect:\n{expects}",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("hostile")
    out = tmp / "report"
    code = main(["run", str(_scenario(tmp)), "--clock", "virtual", "--quiet", "--out", str(out)])
    assert code == 0
    return out


# --- what a run writes -----------------------------------------------------------------------


def _formula(cell: str) -> bool:
    # the rule spreadsheets apply when they open a CSV: these first characters start a formula
    return cell[:1] in ("=", "+", "-", "@", "\t", "\r")


def test_no_csv_cell_is_a_formula_to_a_spreadsheet(hostile_run: Path) -> None:
    seen: set[str] = set()
    for name in ("deliveries.csv", "deadlines.csv", "breaches.csv"):
        with (hostile_run / name).open(encoding="utf-8", newline="") as handle:
            for row in csv.reader(handle):
                assert [cell for cell in row if _formula(cell)] == [], (name, row)
                seen.update(from_spreadsheet_cell(cell) for cell in row)
    assert set(HOSTILE_NAMES) <= seen  # every name is there, as text


def test_names_in_report_md_are_text_not_html(hostile_run: Path) -> None:
    text = (hostile_run / "report.md").read_text(encoding="utf-8")
    assert "<script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_markup_in_names_is_printed_as_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a Rich MarkupError stopped `run` and `compare` and lost the result
    out = tmp_path / "report"
    path = _scenario(tmp_path, name="[/] [bold]x[/bold", inject_names=["[/]", "[red]r[/"])
    assert main(["run", str(path), "--clock", "virtual", "--out", str(out)]) == 0
    said = capsys.readouterr()
    assert "PASS [/] arrives" in said.out
    assert "[red]r[/ arrives" in said.out
    assert (out / "summary.json").is_file()


def test_a_scenario_name_cannot_put_a_report_outside_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("../escaped", "/abs/escaped", "..", "a/../../b"):
        path = _scenario(tmp_path, name=name, inject_names=["d"])
        assert main(["run", str(path), "--clock", "virtual", "--quiet"]) == 0
    written = {p.name for p in (tmp_path / "reports").iterdir()}
    assert written == {"escaped", "abs-escaped", "run", "a-..-..-b"}
    assert not (tmp_path / "escaped").exists()  # "../escaped" from reports/ would be here


def test_the_rules_on_their_own() -> None:
    assert spreadsheet_cell("=1+1") == "'=1+1"
    assert spreadsheet_cell("FR") == "FR"
    assert from_spreadsheet_cell(spreadsheet_cell("-x")) == "-x"
    assert from_spreadsheet_cell("'quoted") == "'quoted"  # only what the rule added is taken off
    assert markdown_text("a|b\n<i>") == "a\\|b &lt;i&gt;"
    assert path_component("../x") == "x"
    assert path_component("") == "run"


# --- a handed-over run directory ------------------------------------------------------------


def _copy(run: Path, tmp: Path) -> Path:
    target = tmp / "handed-over"
    shutil.copytree(run, target)
    return target


def _fingerprint(run: Path) -> str:
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    return str(summary["evidence"]["signer_fingerprint"])


def test_the_debrief_writes_no_file_through_a_planted_link(
    hostile_run: Path, tmp_path: Path
) -> None:
    copy = _copy(hostile_run, tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("the victim's own file\n", encoding="utf-8")
    (copy / "debrief.html").unlink(missing_ok=True)
    (copy / "debrief.html").symlink_to(victim)
    assert main(["debrief", str(copy), "--no-pdf", "--fingerprint", _fingerprint(copy)]) == 0
    assert victim.read_text(encoding="utf-8") == "the victim's own file\n"
    assert not (copy / "debrief.html").is_symlink()


def test_a_covered_file_replaced_by_a_link_is_named_not_followed(
    hostile_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = _copy(hostile_run, tmp_path)
    elsewhere = tmp_path / "elsewhere.csv"
    shutil.copy(copy / "deliveries.csv", elsewhere)  # the very same bytes, behind a link
    (copy / "deliveries.csv").unlink()
    (copy / "deliveries.csv").symlink_to(elsewhere)
    assert main(["verify-log", str(copy), "--fingerprint", _fingerprint(copy)]) == 1
    assert "deliveries.csv is a symbolic link: not followed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("summary.json", "[]"),
        ("summary.json", '{"expectations": 5, "deadlines": "x"}'),
        ("events.jsonl", "[1, 2]\n"),
        ("events.jsonl", '{"t_ns": "soon"}\n'),
        ("summary.json", "\u00ff not json"),
    ],
)
def test_a_malformed_run_directory_is_one_line_and_exit_2(
    hostile_run: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: str,
) -> None:
    copy = _copy(hostile_run, tmp_path)
    (copy / name).write_text(content, encoding="utf-8")
    code = main(["debrief", str(copy), "--no-pdf"])
    said = capsys.readouterr()
    assert code in (1, 2)  # 1: written, and the page says the evidence does not verify
    assert "Traceback" not in said.err
    if code == 2:
        assert len(said.err.strip().splitlines()) == 1
    assert main(["verify-log", str(copy)]) in (1, 2)
    assert "Traceback" not in capsys.readouterr().err


def test_a_template_cannot_run_code(hostile_run: Path, tmp_path: Path) -> None:
    copy = _copy(hostile_run, tmp_path)
    templates = tmp_path / "templates"
    templates.mkdir()
    marker = tmp_path / "ran"
    (templates / "debrief.html").write_text(
        "{{ ''.__class__.__mro__[1].__subclasses__() }}"
        "{{ cycler.__init__.__globals__.os.system('touch " + str(marker) + "') }}",
        encoding="utf-8",
    )
    assert main(["debrief", str(copy), "--no-pdf", "--templates", str(templates)]) == 2
    assert not marker.exists()


# --- evidence covers what people read ---------------------------------------------------------


def test_an_edited_csv_beside_a_signed_log_is_found_and_not_shown(
    hostile_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = _copy(hostile_run, tmp_path)
    rows = (copy / "deliveries.csv").read_text(encoding="utf-8").splitlines()
    rows[1] = rows[1].replace("acknowledged", "late").replace("delivered", "late")
    rows.append("invented,FR,acknowledged,1.000,2.000,")
    (copy / "deliveries.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert main(["verify-log", str(copy), "--fingerprint", _fingerprint(copy)]) == 1
    assert "deliveries.csv was altered" in capsys.readouterr().out
    assert main(["debrief", str(copy), "--no-pdf"]) == 1
    page = (copy / "debrief.html").read_text(encoding="utf-8")
    assert "intact" not in page.split("<h2>", 2)[1]
    assert "deliveries.csv was altered" in page


def _resign(run: Path, key: Ed25519PrivateKey, certificate: x509.Certificate) -> None:
    """What an attacker who can edit the directory does: edit, re-chain, re-sign, rewrite the
    recorded fingerprint, and sign every file again with a key of their own."""
    chained = list(chained_lines(edited_records(run)))
    (run / "events.jsonl").write_text("".join(line + "\n" for line, _ in chained), "utf-8")
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    summary["evidence"]["signer_fingerprint"] = fingerprint_of(certificate)
    (run / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    old = json.loads((run / "events.sig").read_text(encoding="utf-8"))
    signature = sign_log(
        run, chained[-1][1], len(chained), key, certificate, raw=old["manifest"]["raw"]
    )
    (run / "events.sig").write_text(json.dumps(signature, indent=1) + "\n", encoding="utf-8")


def test_a_resigned_run_is_never_called_intact_without_an_anchor(
    hostile_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime, timedelta  # noqa: PLC0415

    kept = _fingerprint(hostile_run)
    copy = _copy(hostile_run, tmp_path)
    forger = CertificateAuthority.create(datetime.now(UTC) - timedelta(days=1), timedelta(days=9))
    _resign(copy, forger.root_key, forger.root_certificate)
    # consistent, so it passes as signed, but it says by whom and that nothing anchors it
    assert main(["verify-log", str(copy)]) == 0
    said = capsys.readouterr().out
    assert "not anchored" in said
    assert fingerprint_of(forger.root_certificate) in said
    assert "intact" not in said
    assert main(["debrief", str(copy), "--no-pdf"]) == 0
    page = (copy / "debrief.html").read_text(encoding="utf-8")
    assert "Not anchored" in page
    assert "is intact" not in page
    # against the fingerprint the trainer kept, it is what it is: re-signed
    assert main(["verify-log", str(copy), "--fingerprint", kept]) == 1
    assert "re-signed with another key" in capsys.readouterr().out


# --- bounds -------------------------------------------------------------------------------------


def test_the_size_bound_counts_bytes(tmp_path: Path) -> None:
    # 280 KiB of two-byte characters is 140 K characters: it passed a bound on characters
    big = tmp_path / "big.yaml"
    big.write_bytes(b"name: big\ndescription: " + "é".encode() * (140 * 1024) + b"\n")
    with pytest.raises(ScenarioError, match="larger than the 256 KiB"):
        load_scenario(big)
    cut = tmp_path / "cut.yaml"
    cut.write_bytes(big.read_bytes()[: 256 * 1024 + 1])  # cut inside a character
    with pytest.raises(ScenarioError, match="larger than the 256 KiB"):
        load_scenario(cut)
    with pytest.raises(ScenarioError, match="larger than the 256 KiB"):
        parse_scenario("name: big\ndescription: " + "é" * (140 * 1024) + "\n")


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("seed: " + "9" * 5000, "an integer of 5000 digits"),
        ("seed: 9223372036854775808", "seed"),
        ("seed: -1", "seed"),
        ("roster: synthetic:99999", "at most 10,000 made-up bureaus"),
        ("speed: 0.000001", "speed"),
        ("speed: 0.01\nduration: 30d", "real days"),
    ],
)
def test_bounds_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, problem: str
) -> None:
    path = tmp_path / "bounds.yaml"
    path.write_text(f"name: bounds\n{line}\n", encoding="utf-8")
    assert main(["run", str(path), "--clock", "virtual", "--quiet"]) == 2
    said = capsys.readouterr().err
    assert problem in said
    assert "Traceback" not in said


@pytest.mark.parametrize(
    "argv",
    [
        ["--speed", "1e-6"],
        ["--pace", "1000d/s"],
        ["--seed", "9" * 30],
        ["--seed", "-1"],
    ],
)
def test_command_line_bounds_are_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text("name: ok\nroster: [gs, FR]\nduration: 1\n", encoding="utf-8")
    assert main(["exercise", str(path), *argv]) == 2
    assert "Traceback" not in capsys.readouterr().err
