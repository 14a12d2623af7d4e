"""The run's clock, the one place that reads time: wall (live runs) or virtual (simulations).

Two implementations of one interface. :class:`Clock` is the wall clock of live runs and
exercises: wall time for certificates and latencies, compressed scenario time for plans.
:class:`VirtualClock` is the discrete-event clock of simulations: it runs on an event loop whose
time jumps to the next timer whenever every task waits (:class:`VirtualEventLoop`), so scenario
time, link time and the timestamps all follow virtual time, whatever the host's load.

Scenario time runs ``speed`` times faster than real time (a week-long exercise in an hour);
latencies are always real milliseconds. During a live exercise the controller can pause the
scenario clock and change its speed; :meth:`Clock.sleep_until` follows both, so timed injects,
review delays and held traffic wait for scenario time, not for a fixed number of real seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import selectors
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bureaus.core import Now
from bureaus.errors import ClockError

if TYPE_CHECKING:
    from _typeshed import FileDescriptorLike

__all__ = ["Clock", "VirtualClock", "VirtualEventLoop", "virtual_loop"]

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
            ClockError: The speed is not positive.
        """
        if not speed > 0:
            raise ClockError(f"a clock speed must be positive, not {speed}")
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

    virtual = False
    """Whether this is a simulation's virtual clock."""

    def wall(self) -> datetime:
        """The current UTC time."""
        return datetime.now(UTC)

    def now_ns(self) -> int:
        """Wall-clock nanoseconds (comparable across processes on one machine)."""
        return time.time_ns()

    def link_s(self) -> float:
        """Link time: monotonic real seconds (modelled delays and resends run on it)."""
        return time.monotonic()

    def now(self) -> Now:
        """Every reading of the time at once, for a bureau core."""
        return Now(self.scenario_s(), self.link_s(), self.now_ns(), self.wall())


class VirtualClock(Clock):
    """Virtual time on a fast-forwarding event loop (:func:`virtual_loop`).

    The loop's time since :meth:`restart` is link time, the virtual counterpart of the real
    seconds of a live run: modelled delays, service times and resends run on it, and the wall
    clock is ``epoch`` (a whole second) plus it. Scenario time runs ``speed`` times faster, as in
    a live run, so a scenario means the same on both clocks (a ten-hour outage at speed 7,200 is
    five seconds of link time, and a message queued through it is still fresh). The clock cannot
    be paused or re-speeded: in a simulation nobody waits for it.
    """

    virtual = True

    def __init__(self, epoch: datetime | None = None, speed: float = 1.0) -> None:
        super().__init__(speed=speed)
        start = epoch if epoch is not None else datetime.now(UTC)
        self.epoch = start.replace(microsecond=0)
        self._epoch_ns = int(self.epoch.timestamp()) * 1_000_000_000
        self._origin = 0.0

    def _loop_time(self) -> float:
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:
            return self._origin  # outside the loop: the run has not started or is over

    def restart(self) -> None:
        """Make now time zero."""
        self._origin = self._loop_time()
        self._base_s = 0.0

    def link_s(self) -> float:
        """Virtual seconds since the start."""
        return round(self._loop_time() - self._origin, 6)

    def scenario_s(self) -> float:
        """Scenario seconds since the start (link time x speed)."""
        return round(self.link_s() * self.speed, 6)

    def pause(self) -> None:
        """A virtual clock does not pause (nothing to do)."""

    def resume(self) -> None:
        """A virtual clock does not pause (nothing to do)."""

    def set_speed(self, speed: float) -> None:
        """A simulation's speed is fixed.

        Raises:
            ClockError: Always.
        """
        raise ClockError("a virtual clock's speed is fixed for the run")

    async def sleep_until(self, scenario_t: float) -> None:
        """Wait (in virtual time) until scenario time reaches ``scenario_t``."""
        wait = self.real_s(scenario_t - self.scenario_s())
        await asyncio.sleep(max(0.0, wait))

    def wall(self) -> datetime:
        """The epoch plus link time."""
        return self.epoch + timedelta(seconds=self.link_s())

    def now_ns(self) -> int:
        """The epoch plus link time, in nanoseconds."""
        return self._epoch_ns + round(self.link_s() * 1e9)


class _JumpingSelector(selectors.BaseSelector):
    """A selector whose wait is a jump of virtual time, to the loop's next timer.

    It wraps a real selector: what the loop registers (its self-pipe, and in a simulation
    nothing else) is polled first, and a ready file is handed back at once, with no jump. The
    loop's time is an integer count of microseconds, so that timers due at the same moment
    compare equal whatever the sums of floating-point delays that led to them.
    """

    def __init__(self) -> None:
        self._real = selectors.DefaultSelector()
        self.now_us = 0
        self.pending_outside = 0
        """Calls running in threads (``asyncio.to_thread``): time stands still until they end."""

    def register(
        self, fileobj: FileDescriptorLike, events: int, data: Any = None
    ) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: FileDescriptorLike) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(
        self, fileobj: FileDescriptorLike, events: int, data: Any = None
    ) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def get_map(self) -> Mapping[FileDescriptorLike, selectors.SelectorKey]:
        return self._real.get_map()

    def close(self) -> None:
        self._real.close()

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._real.select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None or self.pending_outside:
            # only the outside world can wake the loop now (a thread's result through the
            # self-pipe): wait for it in real time, and let no virtual time pass meanwhile
            return self._real.select(None)
        # a timeout shorter than a microsecond still moves the clock, or its timer never comes
        self.now_us += round(timeout * 1_000_000) + (1 if timeout < 1e-6 else 0)
        return []


class VirtualEventLoop(asyncio.SelectorEventLoop):
    """The discrete-event kernel of simulations: an asyncio loop on virtual time.

    The loop's timer heap is the kernel's event heap. When no callback is ready, the loop asks
    its selector to wait until the next timer, and the selector moves time there at once: no real
    waiting, no walk over tasks, and nothing depends on the host's speed. A call run in a thread
    (``asyncio.to_thread``) holds virtual time still until it returns.
    """

    def __init__(self) -> None:
        self._jumps = _JumpingSelector()
        super().__init__(self._jumps)

    def time(self) -> float:
        """Virtual seconds since the loop was made."""
        return self._jumps.now_us / 1_000_000

    def run_in_executor(  # type: ignore[override]
        self, executor: Any, func: Callable[..., Any], *args: Any
    ) -> asyncio.Future[Any]:
        """Run ``func`` in a thread; virtual time waits for it."""
        future = super().run_in_executor(executor, func, *args)
        self._jumps.pending_outside += 1

        def ended(_: asyncio.Future[Any]) -> None:
            self._jumps.pending_outside -= 1

        future.add_done_callback(ended)
        return future


def virtual_loop() -> VirtualEventLoop:
    """A new event loop whose time jumps to the next timer whenever every task waits.

    Only simulations run on it: anything that waits for the outside world (a socket, a
    subprocess) would see virtual time race ahead meanwhile.
    """
    return VirtualEventLoop()
