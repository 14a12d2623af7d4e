"""The debrief: a printable page for players who have no access to the tool.

``write_debrief(run_dir)`` reads what a run left in its report directory (``summary.json``,
the hash-chained ``events.jsonl`` with ``events.sig``, ``scenario.json`` and the plots), checks the
log first, and writes ``debrief.html``: a self-contained page with print styles, and
``debrief.pdf`` beside it when a headless Chromium is installed. Everything in it comes from the
signed log and the summary, so the page states whether the log it was built from is intact.

Sections: the outcome (expectations with the planners' comments), the timeline (injects with
their comments, faults, deadlines, caveat breaches, the controller's actions and bookmarks), the
deadlines, the breaches, how each bureau did, who knew what when, the planners' questions, what
each bureau received and did, and the latency and routing figures with plots. The page itself
comes from a template (``templates/debrief.html``) that an organisation can replace.

Why one long module: every section of the handout is built here from the same few files of the
run directory, in the order the page shows them, each beside the reading of its file.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509

from scenarios.errors import ScenarioLayerError
from scenarios.model import Scenario
from scenarios.reports.debrief_events import EventsRead, read_events
from scenarios.reports.debrief_sections import SECTIONS, RunRead
from scenarios.reports.evidence import (
    LogVerdict,
    RunFileError,
    open_run_file,
    read_run_file,
    verify_log,
)
from scenarios.reports.safety import write_run_file
from scenarios.reports.templating import html_part, render

__all__ = ["DebriefError", "DebriefFiles", "chromium", "write_debrief"]


class DebriefError(ScenarioLayerError):
    """A run directory that cannot be debriefed (missing or unreadable files): one line."""


@dataclass(frozen=True)
class DebriefFiles:
    """What ``write_debrief`` wrote, and the state of the log it read."""

    html: Path
    pdf: Path | None
    verdict: LogVerdict


def chromium() -> str | None:
    """A headless-capable Chromium on this machine, if any."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _read(run_dir: Path) -> tuple[dict[str, Any], EventsRead, Scenario | None]:
    if not run_dir.is_dir():
        raise DebriefError(f"{run_dir} is not a run directory")
    try:
        summary = json.loads(read_run_file(run_dir / "summary.json"))
        with open_run_file(run_dir / "events.jsonl") as handle:
            lines = [json.loads(line) for line in handle if line.strip()]
    except RunFileError as exc:
        raise DebriefError(f"{run_dir} is not a run directory bureaunet wrote: {exc}") from None
    except (OSError, ValueError) as exc:
        raise DebriefError(f"cannot read the run in {run_dir}: {exc}") from None
    if not isinstance(summary, dict) or not all(isinstance(e, dict) for e in lines):
        raise DebriefError(f"{run_dir}: summary.json or events.jsonl is not what a run writes")
    scenario = None
    try:
        scenario = Scenario.model_validate_json(read_run_file(run_dir / "scenario.json"))
    except (OSError, ValueError):
        scenario = None  # the debrief can do without the planners' comments
    return summary, read_events(lines), scenario


def write_debrief(
    run_dir: Path,
    *,
    pdf: bool | None = None,
    root: x509.Certificate | None = None,
    fingerprint: str | None = None,
    templates: Path | None = None,
) -> DebriefFiles:
    """Write ``debrief.html`` (and ``debrief.pdf``) into ``run_dir``.

    The page calls the run intact only when the log, the summary, the scenario and the signer
    verify (:func:`~scenarios.reports.evidence.verify_log`, with ``root`` or ``fingerprint`` as
    given).

    Args:
        run_dir: A report directory written by ``bureaunet run`` or ``bureaunet exercise``.
        pdf: Write the PDF (``None``: when Chromium is installed; ``True``: fail without it).
        root: The certificate that must have signed the evidence.
        fingerprint: Its SHA-256 fingerprint instead (default: the one the report recorded).
        templates: A directory whose ``debrief.html`` replaces ours (branding, translation).

    Raises:
        DebriefError: Files missing or unreadable, or a PDF asked for and impossible.
        TemplateError: The replacement template is missing or broken.
    """
    summary, events, scenario = _read(run_dir)
    try:
        verdict = verify_log(run_dir, root=root, fingerprint=fingerprint)
    except OSError as exc:
        verdict = LogVerdict(False, events.lines, None, f"cannot be checked: {exc}")
    try:
        page = _page(run_dir, summary, events, scenario, verdict=verdict, templates=templates)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        # fields of the wrong shape in a directory that passed for a run: one line, never a
        # traceback (a run written by bureaunet has them all)
        detail = f"{type(exc).__name__}: {exc}"[:200]
        raise DebriefError(f"{run_dir}: not a run bureaunet wrote ({detail})") from None
    target = run_dir / "debrief.html"
    try:
        write_run_file(target, page)  # a link planted as debrief.html is replaced, not followed
    except OSError as exc:
        raise DebriefError(f"cannot write {target}: {exc.strerror or exc}") from None
    pdf_path = _pdf(target, required=pdf) if pdf is not False else None
    return DebriefFiles(target, pdf_path, verdict)


def _page(
    run_dir: Path,
    summary: dict[str, Any],
    events: EventsRead,
    scenario: Scenario | None,
    *,
    verdict: LogVerdict,
    templates: Path | None,
) -> str:
    """The debrief page: each section built by its own function, filled into the template."""
    read = RunRead(run_dir, summary, events, scenario, verdict)
    parts = {key: html_part(make(read)) for key, make in SECTIONS.items()}
    context = {
        "name": summary.get("scenario", run_dir.name),
        "description": scenario.description.strip() if scenario is not None else "",
        "teaches": scenario.teaches.strip() if scenario is not None else "",
        **parts,
    }
    return render("debrief.html", context, templates)


def _pdf(page: Path, *, required: bool | None) -> Path | None:
    browser = chromium()
    if browser is None:
        if required:
            raise DebriefError("no PDF: Chromium is not installed (the HTML debrief prints too)")
        return None
    target = page.with_suffix(".pdf")
    profile = page.parent / ".chromium-profile"
    try:
        subprocess.run(  # noqa: S603 - a fixed program and our own file
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--no-pdf-header-footer",
                f"--print-to-pdf={target}",
                page.resolve().as_uri(),
            ],
            capture_output=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        if required:
            raise DebriefError(f"no PDF: Chromium failed: {exc}") from None
        return None
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if not target.exists() or target.stat().st_size == 0:
        if required:
            raise DebriefError("no PDF: Chromium wrote nothing")
        return None
    return target
