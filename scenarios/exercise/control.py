"""What a live exercise adds to a run: response deadlines, contingency triggers and the controller.

Theory of operation. A :class:`DeadlineBook` opens one deadline per injected request (a notice
request the General Secretariat must review, a search it must answer, a diffusion or case message
every recipient must acknowledge) and watches the event log for the answers. At the due scenario
time a deadline still open is *missed*: a ``deadline`` event is recorded and the book's
``on_missed`` callback fires the contingency injects waiting for it. An answer after the deadline
is still recorded, as late.

An :class:`ExerciseControl` is the controller's handle on a running scenario: pause, resume, clock
speed, bookmarks, prepared injects from the deck and ad-hoc ones, bureaus taken off the network
and back, stopping early, and the answers of bureaus played by people; it also builds what the
screens read (:mod:`scenarios.exercise.views`). Every action is recorded as a ``control``
event, so the event log (and the debrief built from it) holds what the controller did as well as
what the network did.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from bureaus.errors import NotKept
from bureaus.events import Event
from protocol import CaseMessage, ToBureaus
from scenarios.errors import ControlError
from scenarios.exercise.deadlines import Deadline, when
from scenarios.exercise.views import (
    LiveState,
    PlayerView,
    Received,
    Snapshot,
    full_text,
    gist,
    live_state,
)
from scenarios.model import DiffusionInject
from scenarios.reports.metrics import check_expectations

if TYPE_CHECKING:
    from bureaus.node import AckStatus

__all__ = [
    "ExerciseControl",
    "LiveState",
    "PauseAt",
    "PlayerView",
    "Received",
    "Snapshot",
    "live_state",
]

_HUB = "hub"
"""How dashboards list the bureaus outside every region (the General Secretariat, the CCC)."""


PauseAt = Literal["inject", "player"]
"""Moments the clock may stop at by itself (``exercise --pause-at``)."""


class ExerciseControl:
    """The controller's handle on a live run; bound to the run when it starts.

    Every method may be called from the run's event loop (a dashboard's key handler) at any
    moment after :attr:`ready` is true; each records a ``control`` event.
    """

    def __init__(self, *, pause_at: frozenset[PauseAt] = frozenset()) -> None:
        """A control, pausing the clock by itself at the moments ``pause_at`` names.

        ``inject``: each scripted inject; ``player``: whenever a played bureau receives
        something to answer.
        """
        self.pause_at = pause_at
        self._resumes = 0
        self._player: Any = None
        self._held = False
        self.log: list[str] = []
        self._delivered: Counter[str] = Counter()

    # binding -----------------------------------------------------------------------------

    def attach(self, player: Any) -> None:
        """Called by the runner when the scenario starts."""
        self._player = player
        regions = {b.id: b.region or _HUB for b in player.roster}
        events = player.ctx.events

        def listen(event: Event) -> None:
            if event.kind == "delivered":
                self._delivered[regions.get(event.bureau, "?")] += 1
                if "player" in self.pause_at and event.bureau in player.players:
                    self._auto_pause(f"{event.bureau} (played) has {event.message_kind} to answer")
            elif event.kind in ("inject", "fault", "deadline", "breach", "control"):
                where = "" if event.bureau in ("", "controller") else f" {event.bureau}"
                self.log.append(
                    f"{when(event.t_s, player.s.duration)} {event.kind}{where}: "
                    f"{event.detail or ''}"
                )
                del self.log[:-200]

        events.listeners.append(listen)
        if "inject" in self.pause_at:
            player.before_inject = self._before_inject

    async def _before_inject(self, name: str) -> None:
        # the clock stops when a scripted inject is due, before it is sent, so the facilitator
        # can present it first; it is sent when the clock runs again
        player = self._player
        resumed = self._resumes
        self._auto_pause(f"inject {name} is due: present it, then resume")
        if not player.ctx.clock.paused:
            return  # a clock that cannot pause (a simulation): nothing to wait for
        # wait for a resume after this pause, not for the clock to run: at a high speed it may
        # already stand still again at the next inject before this one looks
        while self._resumes == resumed and not player.stop_requested:
            await asyncio.sleep(0.05)

    @property
    def ready(self) -> bool:
        """Whether the run has started (the controls act on something)."""
        return self._player is not None

    @property
    def finished(self) -> bool:
        """Whether the scenario's time is over (or the controller stopped it)."""
        return self._player is not None and self._player.finished

    # actions -----------------------------------------------------------------------------

    def _note(self, detail: str, action: str, *, at_s: float | None = None) -> None:
        self._player.note("control", "controller", detail, action=action, at_s=at_s)

    def now_s(self) -> float:
        """The scenario time now (what a key press is stamped with)."""
        return float(round(self._player.ctx.clock.scenario_s(), 6))

    def hold(self) -> None:
        """Freeze the scenario clock while the controller types (a prompt is open).

        Nothing is recorded: the exercise stands still until :meth:`release`, and what the
        controller types is stamped with the moment the prompt opened.
        """
        clock = self._player.ctx.clock
        if not clock.paused:
            clock.pause()
            self._held = True

    def release(self) -> None:
        """Let the clock run again after :meth:`hold` (a clock paused before stays paused)."""
        if self._held:
            self._held = False
            self._player.ctx.clock.resume()

    def _auto_pause(self, why: str) -> None:
        clock = self._player.ctx.clock
        if not clock.paused and not self._player.finished:
            clock.pause()
            self._note(f"paused by itself: {why}", "pause")

    def pause(self) -> None:
        """Stop the scenario clock."""
        clock = self._player.ctx.clock
        if not clock.paused:
            clock.pause()
            self._note("paused", "pause")

    def resume(self) -> None:
        """Start the scenario clock again."""
        clock = self._player.ctx.clock
        if clock.paused:
            clock.resume()
            self._resumes += 1
            self._note("resumed", "resume")

    def toggle(self) -> None:
        """Pause when running, resume when paused."""
        if self._player.ctx.clock.paused:
            self.resume()
        else:
            self.pause()

    def set_speed(self, speed: float) -> None:
        """Scenario seconds per real second, from now on."""
        self._player.ctx.clock.set_speed(speed)
        self._note(f"clock speed set to {speed:g}x", "speed")

    def bookmark(self, text: str, at_s: float | None = None) -> None:
        """Mark a moment for the debrief: ``at_s`` (the key press), or now."""
        self._note(f"bookmark: {text}", "bookmark", at_s=at_s)

    def fire(self, card: str) -> None:
        """Fire a prepared inject from the deck now.

        Raises:
            ControlError: No card of that name in the scenario's deck.
        """
        if card not in self.deck():
            raise ControlError(f"no card {card!r} in the deck ({', '.join(self.deck())})")
        self._player.fire_card(card)

    def stop(self) -> None:
        """End the scenario now (traffic in flight still settles, and the report is written)."""
        if not self.finished:
            self._note("exercise ended by the controller", "stop")
            self._player.stop_requested = True

    def answer(self, bureau: str, message_id: str, status: AckStatus = "actioned") -> None:
        """The person playing ``bureau`` acknowledges a message in its inbox.

        Raises:
            ControlError: No such message in that bureau's inbox.
        """
        try:
            message = self._player.net.answer(bureau, message_id, status)
        except NotKept as exc:
            raise ControlError(str(exc)) from exc
        self._player.answered.add((bureau, message_id))
        self._note(
            f"{bureau} (played) answered {message.kind} from {message.sender}: {status}", "answer"
        )

    def reply(self, bureau: str, message_id: str, text: str) -> None:
        """The person playing ``bureau`` replies to a message with a case message to its sender.

        Raises:
            ControlError: No such message in that bureau's inbox.
        """
        message = self._player.net.received(bureau, message_id)
        if message is None:
            raise ControlError(str(NotKept(bureau, message_id)))
        reply = CaseMessage(
            message_id=self._player.ctx.ids.played_reply(bureau, message_id),
            sender=bureau,
            recipients=ToBureaus(bureaus=(message.sender,)),
            created_at=self._player.now(),
            case_reference=f"RE/{message_id[:8].upper()}",
            subject=f"Re: {message.kind} of {message.created_at:%Y-%m-%d %H:%M}",
            body=text,
            priority=message.priority,
            handling_code=message.handling_code,
            tlp=message.tlp,
        )
        try:
            self._player.net.reply(bureau, message_id, reply)  # answers it: `actioned`
        except NotKept as exc:
            raise ControlError(str(exc)) from exc
        self._player.answered.add((bureau, message_id))
        self._note(f"{bureau} (played) replied to {message.kind} from {message.sender}", "reply")

    def forward(self, bureau: str, message_id: str, to: list[str], *, permission: bool) -> int:
        """The person playing ``bureau`` forwards a message; returns the breaches recorded.

        Raises:
            ControlError: No such message in that bureau's inbox, or a bureau to forward to is not
                in the exercise.
        """
        unknown = [b for b in to if b not in self._player.roster]
        if unknown or not to:
            raise ControlError(f"not in this exercise: {', '.join(unknown) or '(nobody named)'}")
        if self._player.net.received(bureau, message_id) is None:
            raise ControlError(str(NotKept(bureau, message_id)))
        mid = self._player.ctx.ids.played_forward(bureau, message_id, tuple(to))
        self._note(f"{bureau} (played) forwards {message_id[:8]} to {', '.join(to)}", "forward")
        sent, breaches = self._player.net.forward(
            bureau, message_id, to, mid, permission=permission
        )
        if sent:  # passed on: that answers it (`actioned`); refused, it stays to be answered
            self._player.answered.add((bureau, message_id))
        else:
            reasons = ", ".join(sorted({b.rule for b in breaches}))
            self._note(
                f"{bureau} (played): forward refused under the caveats ({reasons})", "forward"
            )
        return len(breaches)

    def send_adhoc(
        self, sender: str, to: list[str], text: str, *, priority: str = "routine"
    ) -> str:
        """The facilitator sends a diffusion as ``sender`` now (an inject not in the script).

        Returns:
            The name the inject is recorded under (``ad-hoc-N``).

        Raises:
            ControlError: A bureau not in the exercise, a played bureau as the sender, or a
                diffusion the scenario format refuses (its reason).
        """
        player = self._player
        unknown = [b for b in (sender, *to) if b not in player.roster]
        if unknown or not to:
            raise ControlError(f"not in this exercise: {', '.join(unknown) or '(nobody named)'}")
        if sender in player.players:
            raise ControlError(f"{sender} is played by a person: its player sends for it")
        try:
            inject = DiffusionInject.model_validate(
                {"diffusion": {"from": sender, "to": to, "text": text, "priority": priority}}
            )
        except ValidationError as exc:
            problem = exc.errors(include_url=False)[0]
            raise ControlError(f"{'.'.join(map(str, problem['loc']))}: {problem['msg']}") from None
        return str(player.fire_adhoc(inject))

    def _in_exercise(self, bureau: str) -> Any:
        if bureau not in self._player.roster:
            raise ControlError(f"not in this exercise: {bureau}")
        return self._player

    async def take_down(self, bureau: str) -> None:
        """Take a bureau off the network by hand (a fault, recorded as one).

        Raises:
            ControlError: Not a bureau of this exercise.
        """
        player = self._in_exercise(bureau)
        player.note("fault", bureau, "offline (by the facilitator)")
        self._note(f"took {bureau} offline", "fault")
        await player.net.stop([bureau], graceful=False)

    async def bring_up(self, bureau: str) -> None:
        """Bring a bureau taken down by hand back onto the network.

        Raises:
            ControlError: Not a bureau of this exercise.
        """
        player = self._in_exercise(bureau)
        await player.net.start([bureau])
        player.note("fault", bureau, "back online (by the facilitator)")
        self._note(f"brought {bureau} back online", "fault")

    def player_view(self, bureau: str) -> PlayerView:
        """What the person playing ``bureau`` sees now (and nothing of any other bureau).

        Raises:
            ControlError: ``bureau`` is not played by a person in this exercise.
        """
        player = self._player
        if bureau not in player.players:
            raise ControlError(f"{bureau} is not played in this exercise")
        pending = player.deadlines.pending()
        inbox = [
            _received(bureau, mid, message, pending)
            for mid, message in player.net.inbox(bureau)
            if (bureau, mid) not in player.answered
        ]
        sent = [
            (e.t_s, e.message_kind or "", ", ".join(getattr(e, "recipients", ()) or ()))
            for e in player.ctx.events.events[-2000:]
            if e.kind == "sent" and e.bureau == bureau and e.message_kind != "acknowledgement"
        ][-20:]
        clock = player.ctx.clock
        return PlayerView(
            bureau, clock.scenario_s(), clock.paused, player.finished, inbox, sent[::-1]
        )

    def lessons(self) -> list[str]:
        """The planners' questions for after the exercise (the scenario's ``lessons``)."""
        return list(self._player.s.lessons)

    def lesson(self, bureau: str, index: int, text: str) -> None:
        """The person playing ``bureau`` answers lesson question ``index`` (from 0).

        The answer is a ``control`` event of its bureau, in the signed log; the debrief prints it
        under its question.

        Raises:
            ControlError: Not a played bureau, no such question, or an empty answer.
        """
        player = self._player
        if bureau not in player.players:
            raise ControlError(f"{bureau} is not played in this exercise")
        if not 0 <= index < len(player.s.lessons):
            raise ControlError(f"no question {index + 1} (there are {len(player.s.lessons)})")
        words = " ".join(text.split())[:2000]
        if not words:
            raise ControlError("the answer is empty")
        player.note("control", bureau, f"lesson {index + 1}: {words}", action="lesson")

    def played(self) -> list[str]:
        """The bureaus played by people."""
        return list(self._player.players)

    def bureaus(self) -> list[str]:
        """Every bureau of the exercise."""
        return [b.id for b in self._player.roster]

    # reading -----------------------------------------------------------------------------

    def deck(self) -> list[str]:
        """The names of the prepared injects."""
        return [card.name or "" for card in self._player.s.deck]

    def snapshot(self, *, expectations: bool = True) -> Snapshot:
        """What the dashboard shows now."""
        player = self._player
        clock = player.ctx.clock
        online: dict[str, list[int]] = {}
        in_flight: Counter[str] = Counter()
        for info in player.roster:
            counts = online.setdefault(info.region or _HUB, [0, 0])
            counts[0] += player.net.online(info.id)
            counts[1] += 1
            in_flight[info.region or _HUB] += player.net.unacknowledged(info.id)
        inboxes = {
            bureau: [
                (mid, message.kind, message.sender)
                for mid, message in player.net.inbox(bureau)
                if (bureau, mid) not in player.answered
            ]
            for bureau in player.players
        }
        checked = check_expectations(player.result) if expectations else []
        gists = {
            mid: gist(message, player.deadlines.pending(), bureau)
            for bureau in player.players
            for mid, message in player.net.inbox(bureau)
            if (bureau, mid) not in player.answered
        }
        return Snapshot(
            scenario_s=clock.scenario_s(),
            duration_s=player.s.duration,
            speed=clock.speed,
            paused=clock.paused,
            finished=player.finished,
            online={r: (c[0], c[1]) for r, c in sorted(online.items())},
            delivered=dict(sorted(self._delivered.items())),
            in_flight=dict(in_flight),
            deadlines=player.deadlines.pending(),
            expectations=checked,
            states=[
                live_state(e, c, player.result, clock.scenario_s(), finished=player.finished)
                for e, c in zip(player.s.expect, checked, strict=True)
            ]
            if expectations
            else [],
            log=list(self.log[-12:]),
            inboxes=inboxes,
            gists=gists,
        )


def _received(bureau: str, mid: str, message: Any, pending: list[Deadline]) -> Received:
    """A message ``bureau``'s player has to answer, with the deadline that waits for it."""
    due = [d.due_s for d in pending if d.message_id == mid and bureau in d.waiting_for]
    return Received(
        message_id=mid,
        kind=message.kind,
        sender=message.sender,
        priority=str(getattr(message, "priority", "routine")),
        handling_code=str(getattr(message, "handling_code", "") or ""),
        tlp=str(getattr(message, "tlp", "") or ""),
        text=full_text(message),
        due_s=min(due) if due else None,
    )
