"""The run's clock: wall time for certificates and latencies, compressed scenario time for plans.

Scenario time runs ``speed`` times faster than real time (a week-long exercise in an hour);
latencies are always real milliseconds. During a live exercise the controller can pause the
scenario clock and change its speed; :meth:`Clock.sleep_until` follows both, so timed injects,
review delays and held traffic wait for scenario time, not for a fixed number of real seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = ["Clock"]

_SHORT_S = 0.01
"""Real waits shorter than this are plain sleeps (the common case under steady load)."""


@dataclass
class Clock:
    """Real time and scenario time of one run.

    Attributes:
        speed: Scenario seconds per real second.
    """

    speed: float = 1.0
    _start: float = field(default_factory=time.monotonic)
    _base_s: float = 0.0
    """Scenario seconds reached when the clock was last started, resumed or re-speeded."""
    _paused: bool = False
    _changed: asyncio.Event | None = None
    """Set (and replaced) when the clock is paused, resumed or re-speeded: wakes the sleepers."""

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    def restart(self) -> None:
        """Make now scenario time zero."""
        self._start = time.monotonic()
        self._base_s = 0.0
        self._paused = False

    @property
    def paused(self) -> bool:
        """Whether scenario time is standing still."""
        return self._paused

    def scenario_s(self) -> float:
        """Scenario seconds since the start."""
        if self._paused:
            return self._base_s
        return self._base_s + (time.monotonic() - self._start) * self.speed

    def pause(self) -> None:
        """Stop scenario time (real time, and traffic already in flight, go on)."""
        if not self._paused:
            self._base_s = self.scenario_s()
            self._paused = True
            self._wake()

    def resume(self) -> None:
        """Let scenario time run again from where it stood."""
        if self._paused:
            self._start = time.monotonic()
            self._paused = False
            self._wake()

    def set_speed(self, speed: float) -> None:
        """Change how many scenario seconds pass per real second, from now on.

        Raises:
            ValueError: The speed is not positive.
        """
        if not speed > 0:
            raise ValueError(f"a clock speed must be positive, not {speed}")
        self._base_s = self.scenario_s()
        self._start = time.monotonic()
        self.speed = speed
        self._wake()

    def real_s(self, scenario_seconds: float) -> float:
        """How many real seconds a span of scenario time takes at the current speed."""
        return scenario_seconds / self.speed

    async def sleep_until(self, scenario_t: float) -> None:
        """Wait until scenario time reaches ``scenario_t``, through pauses and speed changes."""
        while True:
            remaining = scenario_t - self.scenario_s()
            if remaining <= 0:
                return
            wait = self.real_s(remaining)
            if wait < _SHORT_S and not self._paused:
                await asyncio.sleep(wait)  # too short for a pause or a new speed to matter
                continue
            if self._changed is None:
                self._changed = asyncio.Event()
            changed = self._changed
            if self._paused:
                await changed.wait()
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), timeout=wait)

    async def sleep(self, scenario_seconds: float) -> None:
        """Wait for a span of scenario time."""
        await self.sleep_until(self.scenario_s() + scenario_seconds)

    @staticmethod
    def wall() -> datetime:
        """The current UTC time."""
        return datetime.now(UTC)

    @staticmethod
    def now_ns() -> int:
        """Wall-clock nanoseconds (comparable across processes on one machine)."""
        return time.time_ns()
