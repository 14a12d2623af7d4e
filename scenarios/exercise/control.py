"""What a live exercise adds to a run: response deadlines, contingency triggers and the controller.

Theory of operation. A :class:`DeadlineBook` opens one deadline per injected request (a notice
request the General Secretariat must review, a search it must answer, a diffusion or case message
every recipient must acknowledge) and watches the event log for the answers. At the due scenario
time a deadline still open is *missed*: a ``deadline`` event is recorded and the book's
``on_missed`` callback fires the contingency injects waiting for it. An answer after the deadline
is still recorded, as late.

An :class:`ExerciseControl` is the controller's handle on a running scenario: pause, resume, clock
speed, bookmarks, prepared injects from the deck, stopping early, and the answers of bureaus
played by people. Every action is recorded as a ``control`` event, so the event log (and the
debrief built from it) holds what the controller did as well as what the network did.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from bureaus.errors import NotKept
from bureaus.events import Event
from protocol import CaseMessage, ToBureaus
from scenarios.errors import ControlError
from scenarios.exercise.deadlines import Deadline, clock_label, when
from scenarios.model import (
    AcknowledgedCheck,
    DeadlineCheck,
    DeliveredCheck,
    DiffusionInject,
    Expectation,
)
from scenarios.reports.metrics import ExpectationResult, check_expectations
from scenarios.results import RunResult

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


LiveState = Literal["met", "pending", "failed"]
PauseAt = Literal["inject", "player"]
"""Moments the clock may stop at by itself (``exercise --pause-at``)."""


def live_state(
    expectation: Expectation,
    checked: ExpectationResult,
    result: RunResult,
    now_s: float,
    *,
    finished: bool,
) -> LiveState:
    """Whether an expectation is met, failed, or not decided yet at scenario time ``now_s``.

    Finished runs are met or failed. While running, a delivery or acknowledgement check fails
    only once its window after the inject has passed; a deadline check waits for the deadline;
    counts, latency and loss are decided at the end (pending until then, unless met so far and
    unable to change, which only the first two kinds are).
    """
    if finished:
        return "met" if checked.passed else "failed"
    match expectation:
        case DeliveredCheck(delivered=spec) | AcknowledgedCheck(acknowledged=spec):
            sent = result.inject_times.get(spec.message)
            over = sent is not None and now_s > sent + spec.within
            return "met" if checked.passed else "failed" if over else "pending"
        case DeadlineCheck(deadline=spec):
            deadline = next((d for d in result.deadlines if d.name == spec.message), None)
            if deadline is None or deadline.state == "open":
                return "pending"
            return "met" if checked.passed else "failed"
        case _:
            return "pending"


def _gist(message: Any, deadlines: list[Deadline], bureau: str) -> str:
    """Priority, handling code, TLP, the deadline for ``bureau``'s answer, and the text's start."""
    parts = [str(getattr(message, "priority", "routine"))]
    handling = getattr(message, "handling_code", None)
    parts.append(f"handling {handling}" if handling else "no handling code")
    tlp = getattr(message, "tlp", None)
    if tlp:
        marking = str(tlp).upper()
        parts.append(marking if marking.startswith("TLP:") else f"TLP:{marking}")
    mid = str(message.message_id)
    due = [d.due_s for d in deadlines if d.message_id == mid and bureau in d.waiting_for]
    if due:
        parts.append(f"answer due {clock_label(min(due))}")
    text = (
        getattr(message, "text", None)
        or getattr(message, "subject", None)
        or getattr(message, "summary_of_facts", None)
        or ""
    )
    words = " ".join(str(text).split())
    if words:
        parts.append(f'"{words[:70]}{"..." if len(words) > 70 else ""}"')
    return "; ".join(parts)


def full_text(message: Any) -> str:
    """Everything a person reads of a message: subject, text, body, summary, the notice's name."""
    parts = [
        str(value)
        for name in ("subject", "text", "body", "summary_of_facts", "reason", "detail")
        if (value := getattr(message, name, None))
    ]
    notice = getattr(message, "notice", None)
    if notice is not None:
        who = " ".join(
            str(v) for v in (getattr(notice, "forename", ""), getattr(notice, "name", "")) if v
        )
        parts.insert(0, f"{getattr(notice, 'notice_type', 'notice')} notice: {who}".strip())
    return "\n".join(parts)


@dataclass(frozen=True)
class Received:
    """One message a played bureau has to answer, as its player sees it."""

    message_id: str
    kind: str
    sender: str
    priority: str
    handling_code: str
    tlp: str
    text: str
    due_s: float | None
    """Scenario time by which the player's answer is due, if a deadline waits for it."""


@dataclass(frozen=True)
class PlayerView:
    """What one played bureau's page shows: its unanswered messages and what it sent."""

    bureau: str
    scenario_s: float
    paused: bool
    finished: bool
    inbox: list[Received]
    sent: list[tuple[float, str, str]]
    """The bureau's latest sends: (scenario time, kind, recipients)."""


@dataclass(frozen=True)
class Snapshot:
    """What a dashboard shows, taken at one moment."""

    scenario_s: float
    duration_s: float
    speed: float
    paused: bool
    finished: bool
    online: dict[str, tuple[int, int]]
    """Region → (bureaus online, bureaus)."""
    delivered: dict[str, int]
    """Region → messages delivered there."""
    in_flight: dict[str, int]
    """Region → messages its bureaus sent that are not yet acknowledged by every recipient."""
    deadlines: list[Deadline]
    """Pending deadlines, soonest first."""
    expectations: list[ExpectationResult]
    """Expectations as they stand now (final only when the run has finished)."""
    states: list[LiveState]
    """For each expectation: ``met``, ``pending`` (not decided yet) or ``failed``."""
    log: list[str]
    """The latest controller-level lines: injects, faults, deadlines, breaches, control."""
    inboxes: dict[str, list[tuple[str, str, str]]]
    """Played bureau → its unanswered messages as (message id, kind, sender)."""
    gists: dict[str, str]
    """Message id → what a player needs to judge it: priority, handling code, TLP, the answer's
    deadline and the start of its text."""


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
            elif (
                event.kind == "inject"
                and event.bureau == "controller"
                and "inject" in self.pause_at
                and "(from the deck)" not in (event.detail or "")
            ):
                self._auto_pause(f"inject {(event.detail or '').split(':')[0]}")
            elif event.kind in ("inject", "fault", "deadline", "breach", "control"):
                where = "" if event.bureau in ("", "controller") else f" {event.bureau}"
                self.log.append(
                    f"{when(event.t_s, player.s.duration)} {event.kind}{where}: "
                    f"{event.detail or ''}"
                )
                del self.log[:-200]

        events.listeners.append(listen)

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

    async def take_down(self, bureau: str) -> None:
        """Take a bureau off the network by hand (a fault, recorded as one).

        Raises:
            ControlError: Not a bureau of this exercise.
        """
        player = self._player
        if bureau not in player.roster:
            raise ControlError(f"not in this exercise: {bureau}")
        player.note("fault", bureau, "offline (by the facilitator)")
        self._note(f"took {bureau} offline", "fault")
        await player.net.stop([bureau], graceful=False)

    async def bring_up(self, bureau: str) -> None:
        """Bring a bureau taken down by hand back onto the network.

        Raises:
            ControlError: Not a bureau of this exercise.
        """
        player = self._player
        if bureau not in player.roster:
            raise ControlError(f"not in this exercise: {bureau}")
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
        inbox = []
        for mid, message in player.net.inbox(bureau):
            if (bureau, mid) in player.answered:
                continue
            due = [d.due_s for d in pending if d.message_id == mid and bureau in d.waiting_for]
            inbox.append(
                Received(
                    message_id=mid,
                    kind=message.kind,
                    sender=message.sender,
                    priority=str(getattr(message, "priority", "routine")),
                    handling_code=str(getattr(message, "handling_code", "") or ""),
                    tlp=str(getattr(message, "tlp", "") or ""),
                    text=full_text(message),
                    due_s=min(due) if due else None,
                )
            )
        sent = [
            (e.t_s, e.message_kind or "", ", ".join(getattr(e, "recipients", ()) or ()))
            for e in player.ctx.events.events[-2000:]
            if e.kind == "sent" and e.bureau == bureau and e.message_kind != "acknowledgement"
        ][-20:]
        clock = player.ctx.clock
        return PlayerView(
            bureau, clock.scenario_s(), clock.paused, player.finished, inbox, sent[::-1]
        )

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
            mid: _gist(message, player.deadlines.pending(), bureau)
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
