"""Record again the summaries ``tests/test_determinism.py`` holds the simulator to.

Run after a deliberate change to what a summary says (a new figure, a changed model), and
commit the new files with the change that explains them::

    python tools/golden.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scenarios.cli import LIBRARY
from scenarios.model import load_scenario
from scenarios.reports.comparable import comparable_summary
from scenarios.reports.metrics import summarise
from scenarios.runner import RunOptions, simulate

GOLDEN = Path(__file__).resolve().parent.parent / "tests" / "data" / "golden"

NAMES = ("red-notice", "missing-child")


def main() -> None:
    """Simulate each scenario and write its summary, less the fields that depend on the host."""
    for name in NAMES:
        result = simulate(load_scenario(LIBRARY / f"{name}.yaml"), RunOptions())
        summary = comparable_summary(summarise(result))
        target = GOLDEN / f"{name}.summary.json"
        target.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        print(target)


if __name__ == "__main__":
    main()
