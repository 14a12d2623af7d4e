"""Who knew what, when: a grid of bureaus by scripted messages, and the CSV files behind it.

Each column is an inject that sent a message (named as the script names it); each row a bureau
the message was for, or that owed an answer to it. A cell says what became of the message at
that bureau and when, in scenario time:

``acknowledged``
    the bureau acknowledged (or, played, answered) it in time (the time of the answer);
``received``
    it was delivered, never acknowledged, and no deadline asked for an answer;
``late``
    acknowledged after the inject's response deadline;
``overdue``
    the deadline passed and the bureau never answered (received or not);
``blocked``
    a forward to this bureau was refused under the originator's caveats;
``missing``
    it never got there;
``waiting``
    an answer owed and not yet due when the run ended.

A cell also knows what it said at each moment of the run (:meth:`Cell.phases`): ``waiting``
before anything happened, ``received`` once delivered, ``overdue`` from the deadline until the
answer. The report's time slider shows those, so the grid at a moment tells what was true then.

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

from bureaus import Event
from bureaus.events import Acknowledged, Breach, Delivered, Sent
from scenarios.exercise.deadlines import Deadline, when
from scenarios.model import ForwardInject
from scenarios.reports.safety import spreadsheet_cell, write_run_file
from scenarios.results import RunResult

__all__ = ["Cell", "CellState", "KnowledgeGrid", "knowledge_grid", "write_csv"]

CellState = Literal["waiting", "acknowledged", "received", "late", "overdue", "blocked", "missing"]


@dataclass(frozen=True, slots=True)
class Cell:
    """What became of one message at one bureau.

    Attributes:
        state: How it ended (see the module's description).
        t_s: When (scenario seconds): the answer, else the delivery, else the refusal; for an
            overdue cell never delivered, the deadline.
        delivered_s: When it was delivered, if it was.
        acknowledged_s: When it was acknowledged, if it was.
        due_s: When an answer was due, if one was.
    """

    state: CellState
    t_s: float | None = None
    delivered_s: float | None = None
    acknowledged_s: float | None = None
    due_s: float | None = None

    def phases(self, end_s: float) -> list[tuple[float, CellState, float | None]]:
        """What the cell said from each moment on: (from, state, the time it shows), in order.

        ``end_s`` is the end of the run, when a message that never came becomes ``missing``.
        """
        if self.state == "blocked":
            return [(0.0, "waiting", None), (self.t_s or 0.0, "blocked", self.t_s)]
        changes = sorted(self._changes(end_s), key=lambda change: change[0])
        # a delivery after the deadline does not undo "overdue": unanswered is what matters
        out: list[tuple[float, CellState, float | None]] = []
        for at, state, shown in changes:
            if not (out and out[-1][1] == "overdue" and state == "received"):
                out.append((at, state, shown))
        return out

    def _changes(self, end_s: float) -> list[tuple[float, CellState, float | None]]:
        """Each moment the cell changed, in no particular order."""
        changes: list[tuple[float, CellState, float | None]] = [(0.0, "waiting", None)]
        answered, due = self.acknowledged_s, self.due_s
        if self.delivered_s is not None and (answered is None or self.delivered_s < answered):
            changes.append((self.delivered_s, "received", self.delivered_s))
        late = due is not None and answered is not None and answered > due + 1e-9
        if due is not None and (answered is None or late):
            changes.append((due, "overdue", due))
        if answered is not None:
            changes.append((answered, "late" if late else "acknowledged", answered))
        elif self.delivered_s is None and due is None:
            changes.append((end_s, "missing", None))
        return changes


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
        """The cells that went wrong: late, overdue, blocked or missing (bureau, message, cell)."""
        return [
            (bureau, name, cell)
            for (bureau, name), cell in self.cells.items()
            if cell.state in ("late", "overdue", "blocked", "missing")
        ]


@dataclass(frozen=True, slots=True)
class _Seen:
    """What the events say of each message: who sent it to whom, deliveries, answers."""

    sent: dict[str, tuple[str, tuple[str, ...]]]
    delivered: dict[tuple[str, str], float]
    acknowledged: dict[tuple[str, str], float]
    run_end: float

    @classmethod
    def of(cls, events: list[Event]) -> _Seen:
        seen = cls({}, {}, {}, max((e.t_s for e in events), default=0.0))
        for e in events:
            if isinstance(e, Sent) and e.message_id and e.message_id not in seen.sent:
                seen.sent[e.message_id] = (e.bureau, e.recipients)
            elif isinstance(e, Delivered) and e.message_id:
                seen.delivered.setdefault((e.message_id, e.bureau), e.t_s)
            elif isinstance(e, Acknowledged) and e.message_id and e.peer:
                seen.acknowledged.setdefault((e.message_id, e.peer), e.t_s)
        return seen


def knowledge_grid(result: RunResult) -> KnowledgeGrid:
    """The grid of a run, from its events, its deadlines and the script's message names."""
    seen = _Seen.of(result.events)
    blocked = _blocked(result)
    deadlines: dict[str, Deadline] = {}
    for d in result.deadlines:
        deadlines.setdefault(d.name, d)
    order = sorted(result.inject_ids, key=lambda n: result.inject_times.get(n, 0.0))
    columns: list[str] = []
    cells: dict[tuple[str, str], Cell] = {}
    for name in order:
        mid = result.inject_ids[name]
        refused = blocked.get(name, {})
        deadline = deadlines.get(name)
        if mid not in seen.sent and not refused and deadline is None:
            continue  # no message of its own (a revocation, a key rotation, a cancelled send)
        columns.append(name)
        for bureau, cell in _column(seen, mid, refused, deadline):
            cells[(bureau, name)] = cell
    rows = dict.fromkeys(bureau for bureau, _name in cells)
    ordered = sorted(rows, key=lambda b: (b != "gs", b))
    due_by_name = {name: d.due_s for name, d in deadlines.items()}
    return KnowledgeGrid(tuple(columns), tuple(ordered), cells, due_by_name)


def _column(
    seen: _Seen, mid: str, refused: dict[str, float], deadline: Deadline | None
) -> list[tuple[str, Cell]]:
    """One message's cells: its recipients', its refused forwards', and its debtors'."""
    sender, recipients = seen.sent.get(mid, ("", ()))
    owed = deadline.owed_by if deadline is not None else ()
    due = _due(deadline, seen.run_end)
    out: dict[str, Cell] = {}
    for bureau in (*recipients, *refused):
        if bureau != sender:
            out[bureau] = _cell(
                seen.delivered.get((mid, bureau)),
                seen.acknowledged.get((mid, bureau)),
                refused.get(bureau),
                due if bureau in owed else None,
            )
    for bureau in owed:
        if bureau in out or deadline is None:
            continue  # a recipient, done above
        answered = seen.acknowledged.get((deadline.message_id, bureau))
        if answered is None and deadline.kind != "acknowledgement":
            answered = deadline.answered_s  # a review or an answer: one bureau owes it
        owing = answered is None and due is None  # owed, and not yet due when the run ended
        out[bureau] = Cell("waiting") if owing else _cell(None, answered, None, due)
    return list(out.items())


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


def _due(deadline: Deadline | None, run_end: float) -> float | None:
    """When an answer was due, if the run got that far (a run ended early owes nothing yet)."""
    if deadline is None or deadline.due_s > run_end + 1e-9:
        return None
    return deadline.due_s


def _cell(
    delivered_s: float | None,
    acknowledged_s: float | None,
    blocked_s: float | None,
    due_s: float | None,
) -> Cell:
    """A cell's end state from what happened (``due_s``: when this bureau owed an answer)."""
    if blocked_s is not None and delivered_s is None:
        return Cell("blocked", blocked_s)
    late = due_s is not None and acknowledged_s is not None and acknowledged_s > due_s + 1e-9
    state: CellState
    if acknowledged_s is not None:
        state, t = ("late" if late else "acknowledged"), acknowledged_s
    elif due_s is not None:
        state, t = "overdue", delivered_s if delivered_s is not None else due_s
    elif delivered_s is not None:
        state, t = "received", delivered_s
    else:
        return Cell("missing")
    return Cell(state, t, delivered_s, acknowledged_s, due_s)


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
