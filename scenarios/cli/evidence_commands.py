"""``verify-log`` and ``debrief``: a run's evidence checked, and its debrief written.

Both read a run's report directory; both check the signed manifest against an anchor the user
kept (``--root``, ``--pki`` or ``--fingerprint``) before trusting what the files say.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from cryptography import x509

from scenarios.cli.base import EXIT_FAILED, CliError
from scenarios.cli.common import err, out
from scenarios.reports.debrief import DebriefError, write_debrief
from scenarios.reports.evidence import verify_log
from scenarios.reports.templating import TemplateError

ROOT_OPTION = click.option(
    "--root",
    "root_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The GS root certificate that must have signed (root.crt.pem of the run's PKI).",
)
FINGERPRINT_OPTION = click.option(
    "--fingerprint",
    help="The SHA-256 fingerprint of that certificate instead (the one the run printed).",
)
PKI_ANCHOR_OPTION = click.option(
    "--pki",
    "pki_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The PKI directory the run used: its root.crt.pem must have signed.",
)


def _expected_root(root_file: Path | None, pki_dir: Path | None = None) -> x509.Certificate | None:
    if root_file is None and pki_dir is not None:
        root_file = pki_dir / "root.crt.pem"
    if root_file is None:
        return None
    try:
        return x509.load_pem_x509_certificate(root_file.read_bytes())
    except (OSError, ValueError) as exc:
        raise CliError(f"--root {root_file}: not a readable PEM certificate ({exc})") from exc


@click.command("verify-log")
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@ROOT_OPTION
@PKI_ANCHOR_OPTION
@FINGERPRINT_OPTION
def verify_log_command(
    run_dir: Path, root_file: Path | None, pki_dir: Path | None, fingerprint: str | None
) -> None:
    """Check a run's event log, summary, scenario and report files against their signed manifest.

    The run is called intact only when the signer is checked against an anchor you kept
    (--root, --pki or --fingerprint); without one it is at most "consistent, signed by X, not
    anchored": compare X with the fingerprint you kept. Exit 0 when consistent (intact when
    anchored), 1 when altered, re-signed or unsigned (naming the first altered line or file),
    2 when the directory holds no run.
    """
    root = _expected_root(root_file, pki_dir)
    try:
        verdict = verify_log(run_dir, root=root, fingerprint=fingerprint)
    except OSError as exc:
        raise CliError(f"cannot check {run_dir}: {exc}") from exc
    if verdict.intact:
        out.print(
            f"{run_dir}: {verdict.lines} lines and {len(verdict.covered) - 1} report files "
            f"intact, signed by certificate {verdict.fingerprint} (checked against "
            f"{verdict.expected})",
            markup=False,
        )
        return
    if verdict.ok:
        out.print(f"{run_dir}: {verdict.lines} lines, {verdict.reason}", markup=False)
        return
    where = f"events.jsonl: line {verdict.first_bad_line}: " if verdict.first_bad_line else ""
    out.print(f"{run_dir}: {where}{verdict.reason}", markup=False)
    sys.exit(EXIT_FAILED)


@click.command("debrief")
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--pdf/--no-pdf",
    default=None,
    help="Also print to debrief.pdf (default: when Chromium is installed).",
)
@ROOT_OPTION
@PKI_ANCHOR_OPTION
@FINGERPRINT_OPTION
@click.option(
    "--templates",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="A directory whose debrief.html replaces the shipped page template (a logo, a house "
    "style, another language); copy scenarios/reports/templates/debrief.html as a start.",
)
def debrief_command(
    run_dir: Path,
    pdf: bool | None,
    root_file: Path | None,
    pki_dir: Path | None,
    fingerprint: str | None,
    templates: Path | None,
) -> None:
    """Write a printable debrief (debrief.html, and debrief.pdf) of a run's report directory.

    The page calls the run intact only when the signer is checked against an anchor you kept
    (--root, --pki or --fingerprint); without one it says who signed and that it is not
    anchored. Exit 0 when written from consistent, signed evidence; 1 when a file was altered,
    re-signed or is unsigned (the debrief says so); 2 when the directory cannot be read.
    """
    root = _expected_root(root_file, pki_dir)
    try:
        files = write_debrief(
            run_dir, pdf=pdf, root=root, fingerprint=fingerprint, templates=templates
        )
    except (DebriefError, TemplateError) as exc:
        raise CliError(str(exc)) from exc
    out.print(f"debrief: {files.html}", markup=False)
    if files.pdf is not None:
        out.print(f"debrief: {files.pdf}", markup=False)
    if not files.verdict.ok:
        err.print(f"warning: the evidence does not verify: {files.verdict.reason}", markup=False)
        sys.exit(EXIT_FAILED)
    if not files.verdict.intact:
        err.print(f"note: {files.verdict.reason}", markup=False)
