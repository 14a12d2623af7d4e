"""What two runs of the same seed must share: their events and summary, less the host's clock.

The wall-clock fields are left out: ``t_ns`` and ``chain`` of each event (anchored at the run's
start on the wall clock), and ``wall_s`` and ``evidence`` of the summary (the real duration; the
throwaway PKI's fingerprint). Everything else of a simulation on the virtual clock is the same on
every host, under any load (the suite, ``bench/determinism_under_load.py`` and the recorded
golden summaries hold it to that).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = [
    "WALL_CLOCK_EVENT_FIELDS",
    "WALL_CLOCK_SUMMARY_FIELDS",
    "comparable_run",
    "comparable_summary",
]

WALL_CLOCK_EVENT_FIELDS = ("t_ns", "chain")
WALL_CLOCK_SUMMARY_FIELDS = ("wall_s", "evidence")


def comparable_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """A summary (as written to ``summary.json``) without the fields that depend on the host."""
    kept: dict[str, Any] = json.loads(json.dumps(summary))
    for name in WALL_CLOCK_SUMMARY_FIELDS:
        kept.pop(name, None)
    return kept


def comparable_run(out: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A written run's events and summary, without the fields that depend on the host."""
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    for event in events:
        for name in WALL_CLOCK_EVENT_FIELDS:
            event.pop(name, None)
    summary = json.loads((out / "summary.json").read_text())
    return events, comparable_summary(summary)
