"""A bureau core's timers: typed records in one queue, each on the clock it is planned on.

Two time bases are passed in (:class:`~bureaus.core.outputs.Now`): reviews and link outages are
planned in scenario seconds, modelled losses and resends in link seconds. Each timer record says
which by its class (``CLOCK``); the queue keeps one heap per clock, since the two run at
different rates in a live run, and hands out what is due in the order the core always used:
scenario timers first, then link timers, each in time order and, at the same time, in the
order they were set.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar, Literal

from bureaus.core.outputs import Now
from bureaus.outbox import Transmission
from protocol import NoticeRequest

__all__ = ["EPS", "LossTimeout", "OutageOver", "ResendDue", "ReviewDue", "Timer", "TimerQueue"]

EPS = 1e-6
"""Timers this close to now are due (virtual time moves in whole microseconds)."""

Clock = Literal["s", "t"]


@dataclass(frozen=True, slots=True)
class ReviewDue:
    """The General Secretariat's review of a notice request is done."""

    CLOCK: ClassVar[Clock] = "s"
    request: NoticeRequest


@dataclass(frozen=True, slots=True)
class OutageOver:
    """A link outage ends: a transmission held for it goes out again."""

    CLOCK: ClassVar[Clock] = "s"
    item: Transmission


@dataclass(frozen=True, slots=True)
class ResendDue:
    """A sent message may need sending again (if still unacknowledged)."""

    CLOCK: ClassVar[Clock] = "t"
    message_id: str


@dataclass(frozen=True, slots=True)
class LossTimeout:
    """The modelled link lost a transmission: the transport tries again."""

    CLOCK: ClassVar[Clock] = "t"
    item: Transmission


Timer = ReviewDue | OutageOver | ResendDue | LossTimeout


class TimerQueue:
    """The timers of one bureau core."""

    def __init__(self) -> None:
        self._heaps: dict[Clock, list[tuple[float, int, Timer]]] = {"s": [], "t": []}
        self._seq = itertools.count()

    def __len__(self) -> int:
        return sum(len(h) for h in self._heaps.values())

    def clear(self) -> None:
        """No timer left (a restart without a journal)."""
        for heap in self._heaps.values():
            heap.clear()

    def at(self, when: float, timer: Timer) -> None:
        """Set ``timer`` for ``when``, on the timer's own clock."""
        heapq.heappush(self._heaps[timer.CLOCK], (when, next(self._seq), timer))

    def next(self) -> tuple[float | None, float | None]:
        """When the next timer is due: (scenario seconds, link seconds), ``None`` for none."""
        s, t = self._heaps["s"], self._heaps["t"]
        return (s[0][0] if s else None), (t[0][0] if t else None)

    def due(self, now: Now) -> Iterator[Timer]:
        """The timers due by ``now``, taken off the queue one by one (set ones included)."""
        times: tuple[tuple[Clock, float], ...] = (("s", now.s), ("t", now.t))
        for clock, at in times:
            heap = self._heaps[clock]
            while heap and heap[0][0] <= at + EPS:
                yield heapq.heappop(heap)[2]
