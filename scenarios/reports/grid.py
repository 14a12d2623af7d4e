"""Who knew what, when: a grid of bureaus by scripted messages, and the CSV files behind it.

Each column is an inject that sent a message (named as the script names it); each row a bureau
the message was for. A cell says what became of the message at that bureau and when, in
scenario time:

``acknowledged``
    the bureau acknowledged it (the time of the acknowledgement);
``delivered``
    it was delivered, not (or not yet) acknowledged;
``late``
    delivered or acknowledged after the inject's response deadline;
``blocked``
    a forward to this bureau was refused under the originator's caveats;
``missing``
    it never got there.

The sender of a message has no cell in its column. The same figures are written as
``deliveries.csv`` (one line per cell), ``deadlines.csv`` and ``breaches.csv``, for a
spreadsheet.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bureaus.events import Acknowledged, Breach, Delivered, Sent
from scenarios.exercise.deadlines import when
from scenarios.model import ForwardInject
from scenarios.reports.safety import spreadsheet_cell, write_run_file
from scenarios.results import RunResult

__all__ = ["Cell", "CellState", "KnowledgeGrid", "knowledge_grid", "write_csv"]

CellState = Literal["acknowledged", "delivered", "late", "blocked", "missing"]


@dataclass(frozen=True, slots=True)
class Cell:
    """What became of one message at one bureau.

    Attributes:
        state: See the module's description.
        t_s: When (scenario seconds): the acknowledgement, else the delivery, else the refusal.
        delivered_s: When it was delivered, if it was.
        acknowledged_s: When it was acknowledged, if it was.
    """

    state: CellState
    t_s: float | None = None
    delivered_s: float | None = None
    acknowledged_s: float | None = None


@dataclass(frozen=True, slots=True)
class KnowledgeGrid:
    """Bureaus (rows) by scripted messages (columns, in the order they were sent)."""

    messages: tuple[str, ...]
    bureaus: tuple[str, ...]
    cells: dict[tuple[str, str], Cell]
    """(bureau, message name) to its cell; no cell where the bureau was not a recipient."""
    due_s: dict[str, float]
    """Each message's response deadline, where it has one."""

    def unplanned(self) -> list[tuple[str, str, Cell]]:
        """The cells that went wrong: late, blocked or missing (bureau, message, cell)."""
        return [
            (bureau, name, cell)
            for (bureau, name), cell in self.cells.items()
            if cell.state in ("late", "blocked", "missing")
        ]


def knowledge_grid(result: RunResult) -> KnowledgeGrid:
    """The grid of a run, from its events and the script's message names."""
    events = result.events
    sent: dict[str, tuple[str, tuple[str, ...]]] = {}
    delivered: dict[tuple[str, str], float] = {}
    acknowledged: dict[tuple[str, str], float] = {}
    for e in events:
        if isinstance(e, Sent) and e.message_id and e.message_id not in sent:
            sent[e.message_id] = (e.bureau, e.recipients)
        elif isinstance(e, Delivered) and e.message_id:
            delivered.setdefault((e.message_id, e.bureau), e.t_s)
        elif isinstance(e, Acknowledged) and e.message_id and e.peer:
            acknowledged.setdefault((e.message_id, e.peer), e.t_s)
    blocked = _blocked(result)
    due = {d.name: d.due_s for d in result.deadlines}
    order = sorted(result.inject_ids, key=lambda n: result.inject_times.get(n, 0.0))
    columns: list[str] = []
    cells: dict[tuple[str, str], Cell] = {}
    rows: dict[str, None] = {}
    for name in order:
        mid = result.inject_ids[name]
        who = sent.get(mid)
        refused = blocked.get(name, {})
        if who is None and not refused:
            continue  # no message of its own (a revocation, a key rotation, a cancelled send)
        columns.append(name)
        sender, recipients = who if who is not None else ("", ())
        for bureau in (*recipients, *refused):
            if bureau == sender:
                continue
            rows.setdefault(bureau)
            cells[(bureau, name)] = _cell(
                delivered.get((mid, bureau)),
                acknowledged.get((mid, bureau)),
                refused.get(bureau),
                due.get(name),
            )
    ordered = sorted(rows, key=lambda b: (b != "gs", b))
    return KnowledgeGrid(tuple(columns), tuple(ordered), cells, due)


def _blocked(result: RunResult) -> dict[str, dict[str, float]]:
    """For each forward inject, the bureaus its refused forward was meant for, and when."""
    by_original: dict[tuple[str, str], dict[str, float]] = {}
    for e in result.events:
        if isinstance(e, Breach) and e.blocked and e.message_id:
            targets = by_original.setdefault((e.message_id, e.bureau), {})
            for target in e.recipients:
                targets.setdefault(target, e.t_s)
    out: dict[str, dict[str, float]] = {}
    for inject in (*result.scenario.injects, *result.scenario.deck):
        if isinstance(inject, ForwardInject) and inject.name:
            original = result.inject_ids.get(inject.forward.message)
            refused = by_original.get((original or "", inject.forward.by))
            if refused:
                out[inject.name] = refused
    return out


def _cell(
    delivered_s: float | None,
    acknowledged_s: float | None,
    blocked_s: float | None,
    due_s: float | None,
) -> Cell:
    if blocked_s is not None and delivered_s is None:
        return Cell("blocked", blocked_s)
    t = acknowledged_s if acknowledged_s is not None else delivered_s
    if t is None:
        return Cell("missing")
    state: CellState = "acknowledged" if acknowledged_s is not None else "delivered"
    if due_s is not None and t > due_s + 1e-9:
        state = "late"
    return Cell(state, t, delivered_s, acknowledged_s)


def write_csv(result: RunResult, summary: dict[str, Any], out: Path) -> list[str]:
    """Write ``deliveries.csv``, ``deadlines.csv`` and ``breaches.csv``; their names.

    Times are given twice: as the report writes scenario time (``D+HH:MM``), and in scenario
    seconds for calculation. Every cell of text (inject names, bureaus, details) is written as a
    spreadsheet shows text, never as a formula
    (:func:`~scenarios.reports.safety.spreadsheet_cell`).
    """
    grid = knowledge_grid(result)
    duration = result.scenario.duration
    deliveries = [
        [
            "message",
            "bureau",
            "state",
            "delivered",
            "delivered_s",
            "acknowledged",
            "acknowledged_s",
            "due",
            "due_s",
        ]
    ]
    for name in grid.messages:
        for bureau in grid.bureaus:
            cell = grid.cells.get((bureau, name))
            if cell is None:
                continue
            due = grid.due_s.get(name)
            deliveries.append(
                [
                    _text(name),
                    _text(bureau),
                    cell.state,
                    *_times(cell.delivered_s, duration),
                    *_times(cell.acknowledged_s, duration),
                    *_times(due, duration),
                ]
            )
    deadlines = [
        [
            "message",
            "kind",
            "owed_by",
            "missed_by",
            "opened",
            "opened_s",
            "due",
            "due_s",
            "answered",
            "answered_s",
            "state",
        ]
    ]
    deadlines += [
        [
            _text(d["name"]),
            _text(d["kind"]),
            _text(" ".join(d["owed_by"])),
            _text(" ".join(d.get("missed_by", []))),
            *_times(d["opened_s"], duration),
            *_times(d["due_s"], duration),
            *_times(d["answered_s"], duration),
            _text(d["state"]),
        ]
        for d in summary["deadlines"]
    ]
    names = {mid: name for name, mid in result.inject_ids.items() if mid}
    breaches = [["t", "t_s", "bureau", "message", "to", "caveat", "action", "detail"]]
    breaches += [
        [
            *_times(b["t_s"], duration),
            _text(b["bureau"]),
            _text(names.get(b.get("message_id") or "", b.get("message_id") or "")),
            _text(" ".join(b.get("to", []))),
            _text(b["rule"] or ""),
            "blocked" if b.get("blocked", True) else "flagged",
            _text(b["detail"] or ""),
        ]
        for b in summary["breaches"]
    ]
    tables = {"deliveries.csv": deliveries, "deadlines.csv": deadlines, "breaches.csv": breaches}
    for file_name, rows in tables.items():
        buffer = io.StringIO(newline="")
        csv.writer(buffer).writerows(rows)
        write_run_file(out / file_name, buffer.getvalue())
    return list(tables)


def _times(t_s: float | None, duration: float) -> tuple[str, str]:
    """A scenario time as the report writes it, and in seconds (both empty for none)."""
    return ("", "") if t_s is None else (when(t_s, duration), _num(t_s))


def _text(value: str) -> str:
    return spreadsheet_cell(str(value))


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"
