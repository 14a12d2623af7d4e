"""Who knew what, when: the bureau by message grid, its CSV files, and its place in the report."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import pytest

from bureaus import Event
from scenarios.cli import main
from scenarios.exercise.control import ExerciseControl
from scenarios.model import parse_scenario
from scenarios.reports.debrief import write_debrief
from scenarios.reports.grid import knowledge_grid
from scenarios.reports.metrics import check_expectations, summarise
from scenarios.reports.writer import write_report
from scenarios.runner import RunOptions, run_scenario
from tests.conftest import require_mosquitto
from tests.test_maps import run


def test_the_grid_names_injects_and_tells_late_blocked_and_acknowledged_apart() -> None:
    result = run("missing-child")
    grid = knowledge_grid(result)
    assert grid.messages[0] == "alert-1"  # inject names, in the order they were sent
    assert grid.cells[("NL", "leak")].state == "blocked"  # DE's forward refused under caveats
    assert grid.cells[("IT", "alert-1")].state == "late"  # IT was offline past the deadline
    assert grid.cells[("BE", "alert-1")].state == "acknowledged"
    assert ("FR", "alert-1") not in grid.cells  # the sender has no cell of its own message
    late = grid.cells[("IT", "alert-1")]
    assert late.t_s is not None
    assert late.t_s > grid.due_s["alert-1"]
    unplanned = {(bureau, name) for bureau, name, _cell in grid.unplanned()}
    assert ("NL", "leak") in unplanned
    assert ("BE", "alert-1") not in unplanned


def test_the_report_shows_the_grid_and_writes_the_csv_files(tmp_path: Path) -> None:
    result = run("missing-child")
    write_report(result, summarise(result), check_expectations(result), tmp_path)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Who knew what, when" in page
    assert 'class="cell-blocked"' in page
    assert 'href="deliveries.csv"' in page
    with (tmp_path / "deliveries.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    grid = knowledge_grid(result)
    assert len(rows) == len(grid.cells)
    blocked = [r for r in rows if r["state"] == "blocked"]
    assert [(r["message"], r["bureau"]) for r in blocked] == [("leak", "NL")]
    with (tmp_path / "deadlines.csv").open(encoding="utf-8") as handle:
        assert {r["message"] for r in csv.DictReader(handle)} >= {"alert-1"}
    assert (tmp_path / "breaches.csv").read_text(encoding="utf-8").count("\n") >= 2


def test_the_csv_files_say_when_as_the_report_does_who_missed_and_what_was_blocked(
    tmp_path: Path,
) -> None:
    # times were in seconds only, deadlines.csv said `missed` but not who, and breaches.csv had
    # no message, recipient or blocked-against-flagged column
    result = run("missing-child")
    write_report(result, summarise(result), check_expectations(result), tmp_path)

    def rows(name: str) -> list[dict[str, str]]:
        with (tmp_path / name).open(encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))

    late = next(
        r for r in rows("deliveries.csv") if (r["message"], r["bureau"]) == ("alert-1", "IT")
    )
    assert re.fullmatch(r"\d+\+\d\d:\d\d(:\d\d)?", late["acknowledged"] or late["delivered"])
    assert float(late["delivered_s"]) > float(late["due_s"])
    missed = [r for r in rows("deadlines.csv") if r["state"] in ("missed", "late")]
    assert missed
    assert all(r["missed_by"] for r in missed)
    assert "IT" in {b for r in missed for b in r["missed_by"].split()}
    breaches = rows("breaches.csv")  # one forward, two caveats broken: a row each
    assert {(b["message"], b["bureau"], b["to"], b["action"]) for b in breaches} == {
        ("alert-1", "DE", "NL", "blocked")
    }
    assert {b["caveat"] for b in breaches} == {"H2", "TLP:AMBER"}
    breach = breaches[0]
    assert re.fullmatch(r"\d+\+\d\d:\d\d(:\d\d)?", breach["t"])


def test_the_debrief_carries_the_grid_split_to_fit_a_page(tmp_path: Path) -> None:
    result = run("missing-child")
    write_report(result, summarise(result), check_expectations(result), tmp_path)
    files = write_debrief(tmp_path, pdf=False)
    page = files.html.read_text(encoding="utf-8")
    assert "Who knew what, when" in page
    assert 'class="cell-blocked">BLOCKED' in page
    assert page.count('<table class="knowledge">') == 1  # seven messages: one table


def test_the_planners_questions_are_a_discussion_page_of_the_debrief(tmp_path: Path) -> None:
    result = run("missing-child")
    assert result.scenario.lessons  # the bundled exercise asks some
    write_report(result, summarise(result), check_expectations(result), tmp_path)
    page = write_debrief(tmp_path, pdf=False).html.read_text(encoding="utf-8")
    assert '<section class="lessons"><h2>For discussion</h2>' in page
    assert page.count("<li>") >= len(result.scenario.lessons)
    assert "Who should have been asked first" in page


async def test_a_message_still_being_resent_when_the_exercise_ends_is_owed_not_lost() -> None:
    require_mosquitto()
    scenario = parse_scenario(
        "name: away\nroster: [FR, DE, IT]\nduration: 10m\nspeed: 60\ndrain: 1\n"
        "network: {model: false}\n"
        "injects:\n  - {at: 20s, name: alert, diffusion: {from: FR, to: [DE, IT]}}\n"
        "  - {at: 40s, name: later, case_message: {from: DE, to: [FR]}}\n"
        "faults:\n  - offline: {bureau: IT, from: 5s, to: 9m}\n"
    )
    control = ExerciseControl()

    def end_early(event: Event) -> None:  # the controller ends the exercise at 6 minutes
        if event.kind == "inject" and (event.detail or "").startswith("later"):
            control.stop()

    original_attach = control.attach

    def attach(player: Any) -> None:
        original_attach(player)
        player.ctx.events.listeners.append(end_early)

    control.attach = attach  # type: ignore[method-assign]
    options = RunOptions(broker="embedded:mosquitto", control=control)
    summary = summarise(await run_scenario(scenario, options))
    messages = summary["messages"]
    assert messages["still_owed_at_end"] == 1  # IT's copy: FR was still resending it
    assert messages["lost"] == 0
    assert messages["expected_deliveries"] - messages["delivered"] == 1


def test_the_debrief_scores_each_bureau_apart_from_the_outcome(tmp_path: Path) -> None:
    result = run("missing-child")
    write_report(result, summarise(result), check_expectations(result), tmp_path)
    page = write_debrief(tmp_path, pdf=False).html.read_text(encoding="utf-8")
    assert "<h2>How each bureau did</h2>" in page
    section = page[page.index("<h2>How each bureau did</h2>") : page.index("Who knew what")]
    it = re.search(r"<tr class=\"bad\"><td>IT</td><td>simulated</td>(.*?)</tr>", section)
    assert it is not None  # IT was late: its row stands out
    cells = re.findall(r"<td>([^<]*)</td>", it.group(1))
    assert cells[1] == "2"  # late twice (alert-1, ccc-alert)
    de = re.search(r"<tr class=\"bad\"><td>DE</td>(.*?)</tr>", section)
    assert de is not None
    assert re.findall(r"<td>([^<]*)</td>", de.group(1))[-1] == "2"  # DE's two breaches


def test_an_organisation_brands_and_translates_the_debrief_with_its_own_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run("missing-child")
    run_dir = tmp_path / "run"
    write_report(result, summarise(result), check_expectations(result), run_dir)
    shipped = Path(__file__).parent.parent / "scenarios" / "reports" / "templates"
    own = tmp_path / "house-style"
    own.mkdir()
    text = (shipped / "debrief.html").read_text(encoding="utf-8")
    text = text.replace("<h2>Outcome</h2>", "<h2>Résultat</h2>").replace(
        "<body>", '<body><p class="logo">Bureau central national, Lyon</p>'
    )
    (own / "debrief.html").write_text(text, encoding="utf-8")
    assert main(["debrief", str(run_dir), "--no-pdf", "--templates", str(own)]) == 0
    page = (run_dir / "debrief.html").read_text(encoding="utf-8")
    assert "<h2>Résultat</h2>" in page
    assert '<p class="logo">Bureau central national, Lyon</p>' in page
    assert "Who knew what, when" in page  # the prepared parts are all there
    (own / "debrief.html").write_text("{% if %}", encoding="utf-8")
    capsys.readouterr()
    assert main(["debrief", str(run_dir), "--no-pdf", "--templates", str(own)]) == 2
    assert "template debrief.html line 1" in capsys.readouterr().err


def test_the_report_page_takes_a_template_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = tmp_path / "templates"
    own.mkdir()
    shipped = Path(__file__).parent.parent / "scenarios" / "reports" / "templates"
    text = (shipped / "report.html").read_text(encoding="utf-8")
    (own / "report.html").write_text(
        text.replace("<h2>Expectations</h2>", "<h2>Attentes</h2>"), encoding="utf-8"
    )
    monkeypatch.setenv("BUREAUNET_TEMPLATES", str(own))
    result = run("missing-child")
    write_report(result, summarise(result), check_expectations(result), tmp_path / "run")
    page = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert "<h2>Attentes</h2>" in page
    assert "Who knew what, when" in page


def test_an_answer_never_given_is_overdue_and_a_bureau_that_owed_one_has_a_row() -> None:
    # before: a recipient that never answered an urgent message showed "delivered" (or
    # nothing), and the General Secretariat's overdue review was an empty cell
    from scenarios.runner import simulate  # noqa: PLC0415 - the grid's own tests need no runner

    scenario = parse_scenario(
        "name: silent\nroster: [FR, DE, IT]\nduration: 12h\n"
        "injects:\n"
        "  - {at: 10m, name: alert, diffusion: {from: FR, to: [DE, IT], priority: urgent}}\n"
        "faults:\n  - offline: {bureau: IT, from: 1m, to: 12h}\n"
    )
    result = simulate(scenario, RunOptions())
    grid = knowledge_grid(result)
    it, de = grid.cells[("IT", "alert")], grid.cells[("DE", "alert")]
    assert it.state == "overdue"
    assert it.due_s == grid.due_s["alert"]
    assert [state for _at, state, _shown in it.phases(43_200)] == ["waiting", "overdue"]
    assert de.state == "acknowledged"
    assert [state for _at, state, _shown in de.phases(43_200)] == [
        "waiting",
        "received",
        "acknowledged",
    ]
    assert ("IT", "alert", it) in grid.unplanned()


@pytest.mark.parametrize(("duration", "state"), [("26h", "overdue"), ("12h", "waiting")])
def test_a_review_the_general_secretariat_never_gave_is_a_cell_of_its_own(
    duration: str, state: str
) -> None:
    # an urgent review is due after 24 hours: overdue in a longer run, still owed in a shorter
    from scenarios.runner import simulate  # noqa: PLC0415 - the grid's own tests need no runner

    scenario = parse_scenario(
        f"name: no-review\nroster: [gs, FR, DE]\nduration: {duration}\n"
        "injects:\n"
        "  - at: 10m\n    name: yellow\n    notice_request: {from: FR, notice: yellow, "
        "name: EXEMPLE, forename: LINA, summary: Child missing., priority: urgent}\n"
        f"faults:\n  - offline: {{bureau: gs, from: 1m, to: {duration}}}\n"
    )
    grid = knowledge_grid(simulate(scenario, RunOptions()))
    assert grid.messages == ("yellow",)  # never published, still a column
    assert grid.cells[("gs", "yellow")].state == state
