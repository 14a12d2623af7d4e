"""The player: one scenario played on one network, on the scenario clock.

It schedules the timeline (injects, load generators, faults: ``scenarios/injects.py``,
``traffic.py``, ``faults.py``), fires contingency injects from the event log, opens and expires
response deadlines, and lets traffic settle at the end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Any
from uuid import UUID

from broker import EmbeddedBroker
from broker.memory import MemoryBroker
from bureaus import (
    Network,
)
from bureaus.events import Delivered, Event, EventKind, make
from protocol import (
    MessageBase,
)
from scenarios import faults, injects, traffic
from scenarios.exercise.deadlines import Deadline, DeadlineBook, DeadlineKind, when
from scenarios.model import (
    CaseMessageInject,
    DiffusionInject,
    ForwardInject,
    Inject,
    NoticeRequestInject,
    Scenario,
    SearchInject,
)
from scenarios.results import RunResult, ScenarioRunError, resolve

__all__ = ["Player"]


_NOTHING_TO_ANSWER = frozenset(
    {"acknowledgement", "presence", "search-request", "search-result", "notice-refused"}
)
"""Kinds a played bureau does not acknowledge (answers, or nothing to answer)."""


class Player:
    """Plays one scenario on one network."""

    def __init__(
        self,
        scenario: Scenario,
        network: Network,
        broker: EmbeddedBroker | None,
        result: RunResult,
        *,
        shard: frozenset[str] | None = None,
        lead: bool = True,
    ) -> None:
        self.shard = shard
        """The bureaus this process runs (``None``: all); the rest run in other workers."""
        self.lead = lead
        """Whether this process records the notes that belong to no bureau (link faults)."""
        self.s = scenario
        self.net = network
        self.ctx = network.ctx
        self.broker = broker
        self.memory: MemoryBroker | None = None
        """The in-memory broker of a simulation."""
        self.result = result
        self.roster = network.ctx.roster
        self.players = resolve(scenario.players, self.roster) if scenario.players else []
        self.answered: set[tuple[str, str]] = set()
        """(played bureau, message id) pairs the person at the keyboard has dealt with."""
        self.finished = False
        self.stop_requested = False
        self.auto_answer: float | None = None
        """Rehearsal: scenario seconds after which a played bureau acknowledges what it got."""
        self.before_inject: Callable[[str], Awaitable[None]] | None = None
        """Awaited when a scripted inject is due, before it is played (a controller that stops
        the clock to present it first)."""
        self.deadlines = DeadlineBook(self.ctx.events.add, self._deadline_missed)
        result.deadlines = list(self.deadlines.deadlines.values())
        self.ctx.events.listeners.append(self.deadlines.observe)
        self.ctx.events.listeners.append(self._watch)
        self.ctx.events.listeners.append(self._rehearsal)
        self._script: list[asyncio.Task[None]] = []
        """Injects, load and faults: awaited at the end of the scenario."""
        self._timers: list[asyncio.Task[None]] = []
        """Deadline timers: cancelled once the run has settled."""
        self._waiting = [(i, inj) for i, inj in enumerate(scenario.injects) if inj.when is not None]
        """Contingency injects whose trigger has not happened yet."""
        self._cards: dict[str, int] = {}
        self._adhoc = 0
        self.request_ids: dict[str, tuple[str, UUID]] = {}
        """Notice request injects by name → (requester, request id), for cancellations."""
        self.crash: asyncio.Task[None] | None = None
        """The first part of the script that raised, if any (it fails the run)."""

    # time ------------------------------------------------------------------------------------

    async def at(self, t: float) -> None:
        """Wait until scenario time ``t``."""
        await self.ctx.clock.sleep_until(t)

    def lead_note(self, where: str, detail: str) -> None:
        """A fault note that belongs to no one bureau: recorded once, by the lead process."""
        if self.lead:
            self.note("fault", where, detail)

    def label(self, t_s: float) -> str:
        """A scenario time as people read it: seconds for short runs, a clock for long ones."""
        return when(t_s, self.s.duration)

    def note(
        self, kind: EventKind, bureau: str, detail: str, *, at_s: float | None = None, **fields: Any
    ) -> None:
        """Record a scenario-level event, now (or stamped ``at_s``: a controller's key press)."""
        clock = self.ctx.clock
        self.ctx.events.add(
            make(
                kind,
                t_ns=clock.now_ns(),
                t_s=round(clock.scenario_s() if at_s is None else at_s, 6),
                bureau=bureau,
                detail=detail,
                **fields,
            )
        )

    def now(self) -> datetime:
        """The clock's date and time (wall, or virtual)."""
        return self.ctx.clock.wall()

    def submit(self, sender: str, message: MessageBase, to: list[str] | None = None) -> None:
        """``sender`` sends ``message``."""
        # a failure to send is a `shed: send_failed` event, not a crash of the run
        self.net.send(sender, message, to)

    # injects ---------------------------------------------------------------------------------

    def mine(self, bureau: str) -> bool:
        """Whether ``bureau`` runs in this process."""
        return self.shard is None or bureau in self.shard

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """Run part of the script as a task awaited at the end of the scenario.

        A task that raises fails the run with its cause: the failure is noted at once, the run
        stops (a live one without waiting for its end) and :meth:`play` raises
        :class:`~scenarios.results.ScenarioRunError` from it.
        """
        task = asyncio.create_task(coro, name=name)
        task.add_done_callback(self._crashed)
        self._script.append(task)

    def _crashed(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None or self.crash is not None:
            return
        self.crash = task
        self.note("fault", "controller", f"{task.get_name()} failed: {task.exception()!r}")
        self.stop_requested = True

    def _watch(self, event: Event) -> None:
        """Fire the contingency injects whose trigger ``event`` is (an event-log listener)."""
        if not self._waiting or event.kind not in ("delivered", "breach"):
            return
        for index, inject in list(self._waiting):
            trigger = inject.when
            assert trigger is not None
            if event.kind == "breach" and trigger.breach:
                why = f"caveat breach at {event.bureau}"
            elif (
                trigger.search_hit is not None
                and isinstance(event, Delivered)
                and event.message_kind == "search-result"
                and event.outcome == "hit"
                and (
                    trigger.search_hit == "any"
                    or self.result.inject_ids.get(trigger.search_hit) == event.message_id
                )
            ):
                why = f"search hit for {event.bureau}"
            else:
                continue
            self._trigger(index, inject, event.t_s, why)

    def _rehearsal(self, event: Event) -> None:
        """With ``auto_answer``: a played bureau's delivery is answered later (a listener)."""
        if (
            self.auto_answer is not None
            and event.kind == "delivered"
            and event.bureau in self.players
            and event.message_id
            and event.message_kind not in _NOTHING_TO_ANSWER
        ):
            self._timers.append(
                asyncio.create_task(
                    self._rehearse(event.bureau, event.message_id, event.t_s + self.auto_answer),
                    name=f"rehearse[{event.bureau}]",
                )
            )

    async def _rehearse(self, bureau: str, message_id: str, at_s: float) -> None:
        # what a player pressing "acknowledge" does, through the same command (run --auto-answer)
        await self.ctx.clock.sleep_until(at_s)
        if (bureau, message_id) in self.answered or self.net.received(bureau, message_id) is None:
            return
        message = self.net.answer(bureau, message_id, "actioned")
        self.answered.add((bureau, message_id))
        self.note(
            "control",
            "controller",
            f"{bureau} (played, rehearsal) answered {message.kind} from {message.sender}: actioned",
            action="answer",
        )

    def _deadline_missed(self, deadline: Deadline) -> None:
        for index, inject in list(self._waiting):
            if inject.when is not None and inject.when.deadline_missed == deadline.name:
                self._trigger(index, inject, deadline.due_s, f"deadline of {deadline.name} missed")

    def _trigger(self, index: int, inject: Inject, t_s: float, why: str) -> None:
        self._waiting.remove((index, inject))
        after = inject.when.after if inject.when is not None else 0.0
        name = inject.name or f"inject-{index}"
        self.spawn(
            self.inject(index, inject, at=t_s + after, how=f"contingency: {why}"), f"inject[{name}]"
        )

    def fire_card(self, card: str) -> None:
        """Fire a prepared inject from the deck now.

        Raises:
            KeyError: No card of that name.
        """
        cards = {c.name: (i, c) for i, c in enumerate(self.s.deck)}
        index, inject = cards[card]
        count = self._cards[card] = self._cards.get(card, 0) + 1
        self.spawn(
            self.inject(
                index,
                inject,
                at=self.ctx.clock.scenario_s(),
                how="from the deck",
                key=(index, count),
                name=card if count == 1 else f"{card}#{count}",
            ),
            f"deck[{card}]",
        )

    def fire_adhoc(self, inject: Inject) -> str:
        """Play an inject the facilitator wrote during the exercise, now.

        Returns:
            The name it is recorded under (``ad-hoc-N``).
        """
        self._adhoc += 1
        name = f"ad-hoc-{self._adhoc}"
        self.spawn(
            self.inject(
                -1,
                inject,
                at=self.ctx.clock.scenario_s(),
                how="ad hoc, by the facilitator",
                key=(-1, self._adhoc),  # ids of their own: no deck card has index -1
                name=name,
            ),
            f"adhoc[{name}]",
        )
        return name

    def open_deadline(
        self, name: str, kind: DeadlineKind, message_id: str, *, by: str, to: list[str], span: float
    ) -> None:
        """Open a response deadline (and, in one process, its expiry timer)."""
        opened = self.ctx.clock.scenario_s()
        deadline = Deadline(name, kind, message_id, by, set(to), opened, opened + span)
        self.deadlines.open(deadline)
        self.result.deadlines.append(deadline)
        if self.shard is not None:
            return  # answers may arrive in other workers: the merged log decides

        async def expire() -> None:
            await self.ctx.clock.sleep_until(deadline.due_s)
            clock = self.ctx.clock
            self.deadlines.expire(deadline, clock.now_ns(), round(clock.scenario_s(), 6))

        self._timers.append(asyncio.create_task(expire(), name=f"deadline[{name}]"))

    def span_for(self, inject: Inject, priority: str) -> float:
        """An inject's response time: its own, or the scenario's for its priority."""
        if inject.deadline is not None:
            return inject.deadline
        return float(getattr(self.s.deadlines, priority))

    async def inject(
        self,
        index: int,
        inject: Inject,
        *,
        at: float | None = None,
        how: str = "",
        key: tuple[int, int] | None = None,
        name: str | None = None,
    ) -> None:
        """Play one inject at its time (or at ``at``, for contingency and deck injects)."""
        when = inject.at if at is None else at
        assert when is not None
        name = name or inject.name or f"inject-{index}"
        if not self.mine(inject.actor):
            return  # the worker that runs the acting bureau plays it
        if when > self.s.duration:
            self.note(
                "inject",
                "controller",
                f"{name}: due at t={when:g}, after the end; dropped",
                name=name,
            )
            return
        await self.at(when)
        if self.before_inject is not None and key is None:
            await self.before_inject(name)  # a scripted inject: presented before it is sent
        ids = self.ctx.ids
        mid = ids.card(*key) if key is not None else ids.inject(index)
        self.result.inject_times[name] = round(self.ctx.clock.scenario_s(), 6)
        key_id = str(mid)
        now = self.now()
        action = inject.action
        self.note(
            "inject",
            "controller",
            f"{name}: {action}" + (f" ({how})" if how else ""),
            message_id=key_id,
            name=name,
        )
        self.result.followed.add(key_id)  # before the send: its events are the script's
        self.result.inject_ids[name] = followed = await injects.act(self, name, inject, mid, now)
        self.result.followed.add(followed)
        match inject:
            case NoticeRequestInject() | SearchInject():
                sender = "gs"  # the publication and the answer come from the General Secretariat
            case DiffusionInject() | CaseMessageInject() | ForwardInject():
                sender = inject.actor
            case _:
                sender = "controller"
        self.result.inject_senders[name] = sender

    async def play(self, on_tick: Callable[[float, float, int], None] | None) -> None:
        """Play the whole script, let traffic settle, and stop the clock."""
        for index, inject in enumerate(self.s.injects):
            if inject.at is not None:
                self.spawn(self.inject(index, inject), f"inject[{index}]")
        for index, gen in enumerate(self.s.load):
            self.spawn(traffic.load(self, index, gen), f"load[{index}]")
        for index in range(len(self.s.faults)):
            self.spawn(faults.fault(self, index), f"fault[{index}]")
        clock, end = self.ctx.clock, self.s.duration
        if clock.virtual:
            # no one waits for a simulation: tick a hundred times over the run, no more
            step = max(end / 100, clock.speed)
            while clock.scenario_s() < end:
                if on_tick is not None:
                    on_tick(clock.scenario_s(), end, self.ctx.events.recorded)
                await clock.sleep_until(min(end, clock.scenario_s() + step))
        while clock.scenario_s() < end and not self.stop_requested:
            if on_tick is not None:
                on_tick(clock.scenario_s(), end, self.ctx.events.recorded)
            wait = 0.2 if clock.paused else min(0.2, clock.real_s(end - clock.scenario_s()))
            await asyncio.sleep(max(0.0, wait))
        clock.resume()
        await self._finish_script()
        await self.net.settle(quiet_s=0.3, timeout=max(1.0, self.s.drain))
        for timer in self._timers:
            timer.cancel()
        clock.pause()  # the scenario is over: its clock stops where the last event happened
        self.finished = True
        if on_tick is not None:
            on_tick(end, end, self.ctx.events.recorded)

    async def _finish_script(self) -> None:
        # injects and faults scheduled at the very end still run (unless the controller stopped
        # the exercise); contingency injects may add more meanwhile
        done = 0
        while done < len(self._script):
            batch = self._script[done:]
            done = len(self._script)
            if self.stop_requested:
                for task in batch:
                    task.cancel()
            await asyncio.gather(*batch, return_exceptions=True)
        if self.crash is not None:
            cause = self.crash.exception()
            raise ScenarioRunError(
                f"the script's {self.crash.get_name()} failed: {cause!r}"
            ) from cause
