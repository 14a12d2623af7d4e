"""The narrow stage a scenario's injects, faults and load play on.

A :class:`Stage` is what an inject, a fault or a load generator may use: the scenario, the
network's commands, the clock and ids of the context, the run's record, deadlines, and notes.
The player (:class:`scenarios.player.Player`) is the one stage of a run; the kinds of inject,
fault and load (:mod:`scenarios.injects`, :mod:`scenarios.faults`, :mod:`scenarios.traffic`)
depend on this protocol only, never on the player, so nothing ties them to it in a cycle.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from broker import EmbeddedBroker
from broker.memory import MemoryBroker
from bureaus import Network, NetworkContext
from bureaus.events import EventKind
from protocol import MessageBase, Roster
from scenarios.exercise.deadlines import DeadlineKind
from scenarios.model import Inject, Scenario
from scenarios.results import RunResult

__all__ = ["Stage"]


class Stage(Protocol):
    """What the kinds of inject, fault and load may use of a run."""

    @property
    def s(self) -> Scenario:
        """The scenario."""

    @property
    def net(self) -> Network:
        """The network's commands (send, forward, degrade, start, stop ...)."""

    @property
    def ctx(self) -> NetworkContext:
        """The clock, the ids, the event log."""

    @property
    def roster(self) -> Roster:
        """Who takes part."""

    @property
    def result(self) -> RunResult:
        """The run's record (seed, inject ids, revocations)."""

    @property
    def broker(self) -> EmbeddedBroker | None:
        """The embedded broker, if the run started one."""

    @property
    def memory(self) -> MemoryBroker | None:
        """The in-memory broker of a simulation, if any."""

    @property
    def request_ids(self) -> dict[str, tuple[str, UUID]]:
        """Notice requests by inject name: (requester, request id)."""

    async def at(self, t: float) -> None:
        """Wait until scenario time ``t``."""

    def label(self, t_s: float) -> str:
        """A scenario time as people read it."""

    def note(
        self, kind: EventKind, bureau: str, detail: str, *, at_s: float | None = None, **fields: Any
    ) -> None:
        """Record a scenario-level event."""

    def lead_note(self, where: str, detail: str) -> None:
        """A fault note that belongs to no one bureau (recorded once)."""

    def now(self) -> datetime:
        """The clock's date and time."""

    def submit(self, sender: str, message: MessageBase, to: list[str] | None = None) -> None:
        """``sender`` sends ``message``."""

    def mine(self, bureau: str) -> bool:
        """Whether ``bureau`` runs in this process."""

    def open_deadline(
        self, name: str, kind: DeadlineKind, message_id: str, *, by: str, to: list[str], span: float
    ) -> None:
        """Open a response deadline."""

    def span_for(self, inject: Inject, priority: str) -> float:
        """An inject's response time."""
