"""Lean runs: figures kept as the run goes, every event streamed, only the notable ones kept.

A lean simulation must tell what a full one tells: the same summary, the same verdicts, the
same event log on disk (streamed with its evidence chain as the run goes), while keeping in
memory nothing per message once the message has arrived.
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
import tempfile
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pytest

from bureaus import EventLog, Tracer
from bureaus.events import EVENT_CLASSES, Delivered, Sent, make
from bureaus.idfile import FiledIds, IdFile
from scenarios.cli import LIBRARY, main
from scenarios.launch import run
from scenarios.model import load_scenario
from scenarios.reports.comparable import comparable_summary
from scenarios.reports.evidence import chained_lines, verify_log
from scenarios.reports.metrics import check_expectations, summarise
from scenarios.reports.plots import _cdf, bucketed
from scenarios.reports.running import (
    _PENDING,
    TIMELINE_BINS,
    RunningFigures,
    new_histogram,
    record_ms,
)
from scenarios.reports.writer import PARTIAL_LOG, SHOWN, write_report
from scenarios.results import RunResult, ScenarioRunError
from scenarios.runner import RunOptions, simulate

# a notice, attacks refused, crashes with and without a journal, a hub outage under load
SCENARIOS = {"red-notice": None, "online-fraud": None, "bureau-crash": None, "hub-outage": 40.0}


def both(name: str, tmp_path: Path) -> tuple[RunResult, RunResult, Path]:
    scenario = load_scenario(LIBRARY / f"{name}.yaml")
    duration = SCENARIOS[name]
    full = simulate(scenario, RunOptions(duration=duration))
    log = tmp_path / "events.jsonl"
    lean = simulate(scenario, RunOptions(duration=duration, lean=True, events_path=log))
    return full, lean, log


def verdicts(result: RunResult) -> list[tuple[str, bool, str]]:
    return [(x.name, x.passed, x.detail) for x in check_expectations(result)]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_a_lean_run_tells_what_a_full_run_tells(name: str, tmp_path: Path) -> None:
    full, lean, log = both(name, tmp_path)
    assert lean.figures is not None
    assert full.figures is None
    assert comparable_summary(summarise(lean)) == comparable_summary(summarise(full))
    assert verdicts(lean) == verdicts(full)
    assert len(lean.events) < len(full.events)  # the routine traffic is counted, not kept
    # the whole log is on disk, line for line what the full run recorded, chained as it went
    lines = [json.loads(line) for line in log.read_text("utf-8").splitlines()]
    assert len(lines) == len(full.events) == lean.figures.events

    def what(record: dict[str, Any]) -> tuple[Any, ...]:
        return (record["kind"], record["bureau"], record.get("message_id"), record["t_s"])

    assert [what(r) for r in lines] == [what(e.as_dict()) for e in full.events]
    records = [{k: v for k, v in r.items() if k not in ("seq", "chain")} for r in lines]
    *_, (_line, last) = chained_lines(records)
    assert lean.streamed is not None
    assert last == lean.streamed.chain.last == lines[-1]["chain"]
    # of the messages sent, only those still owed somewhere are followed (none, unless lost)
    messages = summarise(lean)["messages"]
    assert len(lean.figures) <= messages["lost"] + messages["still_owed_at_end"]
    assert (len(lean.figures) == 0) == (messages["lost"] + messages["still_owed_at_end"] == 0)


def test_a_lean_run_of_steady_load_keeps_no_event_and_follows_no_message(tmp_path: Path) -> None:
    scenario = load_scenario(LIBRARY / "steady-state.yaml")
    lean = simulate(
        scenario, RunOptions(duration=3.0, lean=True, events_path=tmp_path / "events.jsonl")
    )
    assert lean.figures is not None
    assert lean.figures.delivered > 1000
    assert lean.events == []
    assert len(lean.figures) == 0
    assert lean.figures.traffic  # the links are counted all the same


def test_a_lean_run_needs_the_virtual_clock() -> None:
    with pytest.raises(ScenarioRunError, match="lean run is a simulation"):
        run(load_scenario(LIBRARY / "red-notice.yaml"), RunOptions(lean=True, clock="wall"))


def test_the_tracer_forgets_a_message_once_every_recipient_has_it() -> None:
    tracer = Tracer()
    sent = Sent(t_ns=1_000_000, t_s=0.0, bureau="FR", message_id="m", recipients=("DE", "IT"))
    tracer.timed(sent)
    tracer.hold("FR/m", "FR", "gs", 3.0)
    tracer.hold("FR/m", "gs", "DE", 4.0)
    first = Delivered(
        t_ns=9_000_000, t_s=0.0, bureau="DE", message_id="m", peer="FR", route=("FR", "gs", "DE")
    )
    tracer.timed(first)
    assert (first.latency_ms, first.modelled_ms) == (8.0, 7.0)
    assert len(tracer) == 1  # IT still owes its delivery
    second = Delivered(
        t_ns=11_000_000, t_s=0.0, bureau="IT", message_id="m", peer="FR", route=("FR", "IT")
    )
    tracer.timed(second)
    assert second.latency_ms == 10.0
    assert len(tracer) == 0
    assert tracer.holds_ms == {}
    assert tracer.in_flight == 0


def test_an_event_log_keeps_what_it_is_told_and_tells_its_listeners_everything() -> None:
    heard: list[str] = []
    log = EventLog(keep=lambda e: e.kind != "sent")
    log.listeners.append(lambda e: heard.append(e.kind))
    log.add(make("sent", t_ns=1, t_s=0.0, bureau="FR"))
    log.add(make("rejected", t_ns=2, t_s=0.0, bureau="FR", reason="replay"))
    assert [e.kind for e in log.events] == ["rejected"]
    assert heard == ["sent", "rejected"]
    assert log.recorded == 2


@pytest.mark.parametrize("kind", sorted(EVENT_CLASSES))
def test_an_events_dictionary_has_its_non_empty_fields_in_order(kind: str) -> None:
    event = make(kind, t_ns=5, t_s=1.5, bureau="FR", message_id="m", route=("FR", "gs"))  # type: ignore[arg-type]
    expected = {
        k: list(v) if isinstance(v, tuple) else v
        for k, v in dataclasses.asdict(event).items()
        if v is not None and v != ()
    }
    assert event.as_dict() == expected
    assert list(event.as_dict()) == list(expected)


def test_a_lean_run_from_the_command_line_writes_a_signed_log_that_verifies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "lean"
    args = ["run", "steady-state", "--clock", "virtual", "--duration", "2", "--lean", "--quiet"]
    assert main([*args, "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["events.jsonl", "events.sig", "scenario.json", "summary.json", *SHOWN]
    )
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    lines = (out / "events.jsonl").read_text("utf-8").splitlines()
    assert len(lines) >= summary["messages"]["sent"] + summary["messages"]["delivered"] > 500
    capsys.readouterr()
    assert main(["verify-log", str(out)]) == 0
    assert "consistent and signed" in capsys.readouterr().out


LOADED = {"overload": 6.0, "scale-out": 6.0, "steady-state": 6.0, "hub-outage": 40.0}
"""The bundled scenarios under heavy load, shortened (the others run whole)."""


def _masked(report_md: str) -> str:
    """The Markdown report without what differs between any two runs (wall time, signer)."""
    report_md = re.sub(r"[0-9.]+ s wall time", "(wall) s wall time", report_md)
    return re.sub(r"fingerprint \(SHA-256\) `[0-9a-f]{64}`.*", "(signer)", report_md)


@pytest.mark.parametrize("name", sorted(p.stem for p in LIBRARY.glob("*.yaml")))
def test_a_lean_runs_report_says_what_a_full_runs_report_says(name: str, tmp_path: Path) -> None:
    # before: a lean run wrote no pages; and it lost the sending of each scripted message (its
    # id was noted after the send), so its grid had no delivery time where the full one had one
    scenario = load_scenario(LIBRARY / f"{name}.yaml")
    duration = LOADED.get(name, scenario.duration)
    written: list[Path] = []
    for kind in ("full", "lean"):
        log = tmp_path / "events.jsonl" if kind == "lean" else None
        options = RunOptions(duration=duration, lean=kind == "lean", events_path=log)
        result = simulate(scenario, options)
        write_report(result, summarise(result), check_expectations(result), tmp_path / kind)
        written.append(tmp_path / kind)
    full, lean = written
    assert _masked((lean / "report.md").read_text("utf-8")) == _masked(
        (full / "report.md").read_text("utf-8")
    )
    for same in ("deliveries.csv", "deadlines.csv", "breaches.csv", "map.png"):
        assert (lean / same).read_bytes() == (full / same).read_bytes(), same
    assert verify_log(lean).ok
    page = (lean / "report.html").read_text("utf-8")
    assert "This run was lean" in page
    assert "<code>events.jsonl</code> has every one" in page


def test_a_lean_run_draws_its_timeline_and_latency_from_what_it_counted(tmp_path: Path) -> None:
    scenario = load_scenario(LIBRARY / "steady-state.yaml")
    lean = simulate(
        scenario, RunOptions(duration=12.0, lean=True, events_path=tmp_path / "events.jsonl")
    )
    full = simulate(scenario, RunOptions(duration=12.0))
    assert lean.figures is not None
    assert not [e for e in lean.events if e.kind == "delivered"]  # nothing routine was kept
    # the timeline: every delivery counted in its slice of the run
    slices = lean.figures.delivered_in
    assert sum(slices.values()) == lean.figures.delivered
    width = lean.figures.slice_s
    assert width == pytest.approx(12.0 / TIMELINE_BINS)
    for k, n in slices.items():
        assert n == sum(1 for e in full.events if e.kind == "delivered" and int(e.t_s / width) == k)
    # the latency curves: from the histograms, each kind's count and its top within 0.1 %
    drawn = bucketed(lean.figures.by_kind["search-request"].total)
    exact = sorted(
        e.latency_ms
        for e in full.events
        if e.kind == "delivered" and e.message_kind == "search-request" and e.latency_ms
    )
    assert sum(n for _v, n in drawn) == len(exact)
    assert drawn[-1][0] == pytest.approx(exact[-1], rel=1e-3)


def test_a_lean_run_refuses_to_write_its_log_through_a_link(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "lean"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("kept\n", encoding="utf-8")
    (out / PARTIAL_LOG).symlink_to(elsewhere)
    args = ["run", "red-notice", "--clock", "virtual", "--lean", "--quiet", "--out", str(out)]
    assert main(args) == 2
    assert "cannot write the event log" in capsys.readouterr().err
    assert elsewhere.read_text("utf-8") == "kept\n"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_lean_is_for_simulations(
    workers: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    args = ["run", "red-notice", "--lean", "--workers", workers, "--quiet"]
    assert main([*args, "--out", str(tmp_path / "x")]) == 2
    assert "needs --clock virtual" in capsys.readouterr().err


def test_a_lean_runs_log_written_elsewhere_is_moved_into_its_report(tmp_path: Path) -> None:
    scenario = load_scenario(LIBRARY / "red-notice.yaml")
    (tmp_path / "scratch").mkdir()
    streamed = tmp_path / "scratch" / "events.jsonl"
    lean = simulate(scenario, RunOptions(lean=True, events_path=streamed))
    assert lean.streamed is not None
    lean.streamed.close()
    written = streamed.read_bytes()
    out = tmp_path / "report"
    write_report(lean, summarise(lean), check_expectations(lean), out)
    assert (out / "events.jsonl").read_bytes() == written
    assert not streamed.exists()
    assert not (out / PARTIAL_LOG).exists()
    assert verify_log(out).ok


def test_a_lean_runs_replay_memory_is_a_file_for_the_run_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ids each bureau must remember for an hour are kept on disk, and deleted at the end."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    made: list[FiledIds] = []
    memory = IdFile.memory

    def recorded(file: IdFile) -> FiledIds:
        made.append(memory(file))
        return made[-1]

    monkeypatch.setattr(IdFile, "memory", recorded)
    files: list[int] = []

    def tick(_now: float, _end: float, _events: int) -> None:
        files.append(len(list(scratch.glob("bureaunet-ids-*/ids.sqlite"))))

    scenario = load_scenario(LIBRARY / "steady-state.yaml")
    lean = simulate(
        scenario, RunOptions(duration=5, lean=True, on_tick=tick, events_path=tmp_path / "e")
    )
    assert set(files) == {1}
    assert len(made) == len(lean.roster)  # a memory in the file for each bureau
    assert lean.figures is not None
    assert sum(len(ids) for ids in made) == lean.figures.delivered  # each id accepted is in it
    assert list(scratch.glob("bureaunet-ids-*")) == []


def test_a_lean_run_that_cannot_keep_its_replay_memory_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-such-directory"))
    scenario = load_scenario(LIBRARY / "red-notice.yaml")
    options = RunOptions(lean=True, events_path=tmp_path / "events.jsonl")
    with pytest.raises(ScenarioRunError, match=r"cannot keep the replay memory in .*no-such"):
        simulate(scenario, options)


def test_latencies_counted_before_recording_make_the_histograms_recording_each_makes() -> None:
    # more distinct values than are kept waiting: recorded in several batches, and at the end
    figures = RunningFigures()
    direct = [new_histogram() for _ in range(3)]
    rng = random.Random(7)
    for k in range(3 * _PENDING):
        total = rng.choice([0.145, 0.29, 3.2]) if k % 3 else rng.uniform(0.001, 5_000.0)
        modelled = rng.uniform(0.0, total)
        event = Delivered(
            t_ns=k,
            t_s=k / 1000,
            bureau="gs",
            message_id=str(k),
            route=("FR", "gs"),
            latency_ms=total,
            modelled_ms=modelled,
            message_kind="search-request",
        )
        figures(event)
        values = (total, max(0.0, total - modelled), modelled)
        for histogram, value in zip(direct, values, strict=True):
            record_ms(histogram, value)
    kept = figures.overall
    assert kept.count == 3 * _PENDING
    for histogram, made in zip(direct, (kept.total, kept.measured, kept.modelled), strict=True):
        assert made.get_total_count() == histogram.get_total_count()
        assert made.get_max_value() == histogram.get_max_value()
        assert made.get_min_value() == histogram.get_min_value()
        for q in (1, 50, 90, 99, 99.9):
            assert made.get_value_at_percentile(q) == histogram.get_value_at_percentile(q)
    assert figures.by_kind["search-request"].table() == kept.table()


def test_a_latency_curve_rises_from_nothing_at_the_lowest_latency() -> None:
    # before: a curve from histogram buckets began at its first bucket's share, 0.86: the rise
    # of the fastest 86 % of the searches was not drawn
    fig, ax = plt.subplots()
    _cdf(ax, [(0.23, 86), (0.5, 10), (1.7, 4)], "search-request")
    (line,) = ax.get_lines()
    xs, ys = (np.asarray(v, dtype=float).tolist() for v in (line.get_xdata(), line.get_ydata()))
    plt.close(fig)
    assert (xs[0], ys[0]) == (0.23, 0.0)
    assert ys[1:] == [0.86, 0.96, 1.0]
