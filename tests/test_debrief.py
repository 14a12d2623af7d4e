"""The tabletop exercise end to end: run, report, debrief (HTML and PDF), and an edited log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scenarios.cli import main
from tests.browser import dom, require_chromium, screenshot
from tests.conftest import require_mosquitto


@pytest.fixture(scope="module")
def exercise_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One run of the bundled missing-child exercise (a caveat breach, a missed deadline and
    a contingency inject), shared by the tests below."""
    require_mosquitto()
    out = tmp_path_factory.mktemp("missing-child")
    assert main(["run", "missing-child", "--quiet", "--out", str(out)]) == 0
    return out


def test_the_report_shows_the_breach_the_missed_deadline_and_the_contingency(
    exercise_run: Path,
) -> None:
    report = (exercise_run / "report.md").read_text(encoding="utf-8")
    assert "## Caveat breaches" in report
    assert "blocked: DE passed FR's H2 diffusion to NL without permission" in report
    assert "| alert-1 | acknowledgement | BE, DE, ES, IT |" in report
    assert "LATE (no answer from" not in report  # IT answered in the end, late
    assert "| LATE |" in report
    assert "reminder-it: case_message (contingency: deadline of alert-1 missed)" in report
    assert "ccc-alert: diffusion (contingency: search hit for ES)" in report
    summary = json.loads((exercise_run / "summary.json").read_text(encoding="utf-8"))
    states = {d["name"]: d["state"] for d in summary["deadlines"]}
    assert states["alert-1"] == "late"
    assert states["reminder-it"] == "met"
    assert {b["rule"] for b in summary["breaches"]} == {"H2", "TLP:AMBER"}


def test_the_debrief_renders_in_chromium_and_prints_to_pdf(exercise_run: Path) -> None:
    require_chromium()
    summary = json.loads((exercise_run / "summary.json").read_text(encoding="utf-8"))
    kept = summary["evidence"]["signer_fingerprint"]  # what the trainer kept from the run
    assert main(["debrief", str(exercise_run), "--fingerprint", kept]) == 0
    page = exercise_run / "debrief.html"
    pdf = exercise_run / "debrief.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert pdf.stat().st_size > 20_000
    shot = exercise_run / "debrief.png"
    log = screenshot(page, shot, exercise_run)
    assert shot.stat().st_size > 50_000, log[-2000:]
    assert [line for line in log.splitlines() if "CONSOLE" in line] == []
    text = dom(page, exercise_run)
    for heading in (
        "Outcome",
        "Timeline",
        "Deadlines",
        "Caveat breaches",
        "What each bureau received and did",
        "Latency and routing",
    ):
        assert f"<h2>{heading}</h2>" in text
    assert "The event log this debrief is built from is intact" in text
    assert "Germany should have asked France" in text  # the planners' comment on the expectation
    assert '<tr class="bad"><td>0+02:00' in text  # the breach, highlighted on the timeline
    assert "no acknowledgement from IT within 8.0 h" in text
    assert text.count('src="data:image/png;base64,') == 3
    # the bureaus the script names get a row each; the rest are summed up
    assert "<td>IT</td>" in text
    assert "other bureaus" in text


def test_an_edited_log_fails_verify_log_with_the_line_and_the_debrief_warns(
    exercise_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "run"
    copy.mkdir()
    for item in exercise_run.iterdir():
        if item.is_file():
            (copy / item.name).write_bytes(item.read_bytes())
    assert main(["verify-log", str(copy)]) == 0
    lines = (copy / "events.jsonl").read_text(encoding="utf-8").splitlines()
    target = next(i for i, line in enumerate(lines) if '"kind":"breach"' in line)
    lines[target] = lines[target].replace("blocked:", "allowed:")
    (copy / "events.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["verify-log", str(copy)]) == 1
    assert f"line {target + 1}:" in capsys.readouterr().out
    assert main(["debrief", str(copy), "--no-pdf"]) == 1
    page = (copy / "debrief.html").read_text(encoding="utf-8")
    assert f"the event log was altered after the run at line {target + 1}" in page


def test_log_lines_that_are_no_event_are_left_out_and_counted_on_the_page(
    exercise_run: Path, tmp_path: Path
) -> None:
    """The debrief reads typed events: a line of an unknown kind, with a field no event has, or
    with a field of the wrong type is left out of every table, counted, and said so."""
    copy = tmp_path / "run"
    copy.mkdir()
    for item in exercise_run.iterdir():
        if item.is_file():
            (copy / item.name).write_bytes(item.read_bytes())
    assert main(["debrief", str(copy), "--no-pdf"]) == 0
    activity = _section(copy / "debrief.html", "What each bureau received and did")
    lines = (copy / "events.jsonl").read_text(encoding="utf-8").splitlines()
    sent = json.loads(next(line for line in lines if '"kind":"sent"' in line))
    hostile = [
        {**sent, "kind": "takeover"},
        {**sent, "bureau": "XX", "planted": "<script>alert(1)</script>"},
        {**sent, "bureau": ["FR", "DE"]},
        {**sent, "t_s": "at once"},
    ]
    extra = [json.dumps(line) for line in hostile]
    (copy / "events.jsonl").write_text("\n".join([*lines, *extra]) + "\n", encoding="utf-8")
    assert main(["debrief", str(copy), "--no-pdf"]) == 1  # the log no longer verifies
    page = (copy / "debrief.html").read_text(encoding="utf-8")
    assert f"4 of the log's {len(lines) + 4} lines are no event bureaunet writes" in page
    assert "<script>alert(1)" not in page
    assert "<h2>Timeline</h2>" in page
    # the planted sends are counted nowhere
    assert _section(copy / "debrief.html", "What each bureau received and did") == activity


def _section(page: Path, heading: str) -> str:
    text = page.read_text(encoding="utf-8")
    start = text.index(f"<h2>{heading}</h2>")
    return text[start : text.index("<h2>", start + 4)]


def test_debrief_of_a_directory_that_is_not_a_run_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["debrief", str(tmp_path)]) == 2
    assert "is not a run directory bureaunet wrote: " in capsys.readouterr().err
