"""The run's clock: wall time for certificates and latencies, compressed scenario time for plans.

Scenario time runs ``speed`` times faster than real time (a week-long exercise in an hour);
latencies are always real milliseconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = ["Clock"]


@dataclass
class Clock:
    """Real time and scenario time of one run.

    Attributes:
        speed: Scenario seconds per real second.
    """

    speed: float = 1.0
    _start: float = field(default_factory=time.monotonic)

    def restart(self) -> None:
        """Make now scenario time zero."""
        self._start = time.monotonic()

    def scenario_s(self) -> float:
        """Scenario seconds since the start."""
        return (time.monotonic() - self._start) * self.speed

    def real_s(self, scenario_seconds: float) -> float:
        """How many real seconds a span of scenario time takes."""
        return scenario_seconds / self.speed

    @staticmethod
    def wall() -> datetime:
        """The current UTC time."""
        return datetime.now(UTC)

    @staticmethod
    def now_ns() -> int:
        """Wall-clock nanoseconds (comparable across processes on one machine)."""
        return time.time_ns()
