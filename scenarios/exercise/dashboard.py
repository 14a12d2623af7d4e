"""The live exercise dashboard (Textual): the controller's screen during ``bureaunet exercise``.

Theory of operation. :class:`ExerciseApp` runs the scenario in its own event loop (a Textual
worker awaiting :func:`~scenarios.runner.run_scenario`) with an
:class:`~scenarios.exercise.control.ExerciseControl` bound to it, and redraws from
:meth:`~scenarios.exercise.control.ExerciseControl.snapshot` four times a second (the expectations
once a second: they are checked against the whole log). Keys call the control's methods, so every
action is recorded in the event log like everything else.

Keys: ``space`` pause/resume, ``+``/``-`` clock speed doubled/halved, ``1``-``9`` fire a
prepared inject from the deck, ``b`` bookmark (type a note, Enter); for a bureau played by a
person, on the oldest message in its inbox: ``a`` acknowledge, ``r`` reply (type the text),
``f`` forward (type the bureaus, ``+`` at the end when the originator agreed); ``q`` end the
exercise (traffic settles, then the report is written).
"""

from __future__ import annotations

import contextlib
import time
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.notifications import SeverityLevel
from textual.widgets import Footer, Header, Input, Static
from textual.worker import Worker, WorkerState

from scenarios.errors import ControlError
from scenarios.exercise.control import ExerciseControl, PauseAt, Snapshot
from scenarios.exercise.deadlines import pace_label, span_label, when
from scenarios.model import Scenario
from scenarios.runner import RunOptions, RunResult, run_scenario

__all__ = ["ExerciseApp"]


class ExerciseApp(App[RunResult | None]):
    """A terminal dashboard that runs one scenario as a live exercise."""

    TITLE = "bureaunet exercise"
    CSS = """
    #status { height: auto; max-height: 3; padding: 0 1; background: $boost; }
    #top { height: 1fr; }
    #bottom { height: 1fr; }
    .panel { border: round $primary; padding: 0 1; width: 1fr; height: 1fr; }
    .panel > Static { width: 1fr; }
    #prompt { dock: bottom; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "pause_resume", "pause/resume"),
        Binding("plus,equals_sign", "faster", "faster"),
        Binding("minus", "slower", "slower"),
        Binding("b", "bookmark", "bookmark"),
        Binding("n", "next_message", "next message"),
        Binding("a", "answer", "acknowledge"),
        Binding("r", "prompt('reply')", "reply"),
        Binding("f", "prompt('forward')", "forward"),
        Binding("q", "end", "end exercise"),
        *[Binding(str(n), f"fire({n})", "deck", show=False) for n in range(1, 10)],
    ]

    def __init__(
        self,
        scenario: Scenario,
        options: RunOptions | None = None,
        *,
        pause_at: frozenset[PauseAt] = frozenset(),
    ) -> None:
        super().__init__()
        self.scenario = scenario
        self.control = ExerciseControl(pause_at=pause_at)
        self._prompt_at: float | None = None
        """Scenario time when the open prompt was asked for."""
        self.options = options or RunOptions()
        self.options.control = self.control
        self.result: RunResult | None = None
        self.display_errors = 0
        """Redraws that failed (each shown in the status line; the run goes on)."""
        self.failure: str | None = None
        self._leave_when_done = False
        self._selected: tuple[str, str] | None = None
        """The (played bureau, message id) chosen with ``n`` for ``a``, ``r`` and ``f``."""
        self._end_asked: float | None = None
        """When ``q`` was last pressed in a running exercise (it asks before ending)."""
        self._ticks = 0

    def compose(self) -> ComposeResult:
        """The screen: status line, four panels, key help."""
        yield Header(show_clock=False)
        yield Static("starting the bureaus ...", id="status")
        # each panel scrolls, so a small terminal (80x24) shows every panel and can reach all
        # of its lines; the log keeps its newest line in view
        with Vertical():
            with Horizontal(id="top"):
                for name in ("regions", "deadlines", "expectations"):
                    with VerticalScroll(id=f"{name}-panel", classes="panel"):
                        yield Static(id=name)
            with Horizontal(id="bottom"):
                for name in ("log", "deck"):
                    with VerticalScroll(id=f"{name}-panel", classes="panel"):
                        yield Static(id=name)
        yield Footer()

    def on_mount(self) -> None:
        """Start the scenario and the redraw timer."""
        self.sub_title = self.scenario.name
        self.run_worker(self._run(), name="scenario", exclusive=True)
        self.set_interval(0.25, self._redraw)

    async def _run(self) -> RunResult:
        return await run_scenario(self.scenario, self.options)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The scenario finished (or failed): keep the final state on screen, or leave."""
        if event.worker.name != "scenario":
            return
        if event.state is WorkerState.SUCCESS:
            result = event.worker.result
            self.result = result if isinstance(result, RunResult) else None
        elif event.state is WorkerState.ERROR:
            self.failure = str(event.worker.error)
        else:
            return
        self._redraw()
        if self._leave_when_done or self.failure is not None:
            self.exit(self.result)

    # drawing ------------------------------------------------------------------------------

    def _redraw(self) -> None:
        # a drawing failure must never lose the run: the scenario goes on in its worker, and
        # the failure is shown as text in the status line
        try:
            self._draw()
        except Exception as exc:  # the display's boundary: report, keep the run going
            self.display_errors += 1
            with contextlib.suppress(Exception):
                self.query_one("#status", Static).update(
                    Text(f"display error ({type(exc).__name__}): {exc}"[:300], "bold red")
                )

    def _draw(self) -> None:
        if self.failure is not None:
            self.query_one("#status", Static).update(Text(f"FAILED: {self.failure}", "bold red"))
            return
        if not self.control.ready:
            return
        self._ticks += 1
        with_expectations = self._ticks % 4 == 1 or self.result is not None
        snap = self.control.snapshot(expectations=with_expectations)
        self.query_one("#status", Static).update(self._status(snap))
        self.query_one("#regions", Static).update(_regions(snap))
        self.query_one("#deadlines", Static).update(_deadlines(snap))
        if with_expectations:
            panel = Text("Expectations" + ("" if snap.finished else " (as of now)") + "\n", "bold")
            for e, state in zip(snap.expectations, snap.states, strict=True):
                word, style = _STATE_LOOK[state]
                panel.append(f"{word:8}", style)
                panel.append(f"{e.name}: {e.detail}\n")
            self.query_one("#expectations", Static).update(panel)
        self.query_one("#log", Static).update(
            Text("Controller's log\n", "bold") + Text("\n".join(snap.log))
        )
        self.query_one("#log-panel", VerticalScroll).scroll_end(animate=False)
        self.query_one("#deck", Static).update(self._deck(snap))

    def _tell(self, message: str, *, severity: SeverityLevel = "information") -> None:
        # markup off: inject names, bureaus and players' words are shown as text
        self.notify(message, severity=severity, markup=False)

    def _status(self, snap: Snapshot) -> Text:
        if self.result is not None:
            state, style = "FINISHED - press q to write the report", "bold green"
        elif snap.paused:
            state, style = "PAUSED", "bold yellow"
        else:
            state, style = "RUNNING", "bold"
        text = Text(
            f"scenario clock {when(snap.scenario_s, snap.duration_s)} / "
            f"{when(snap.duration_s, snap.duration_s)}   "
            f"pace {pace_label(snap.speed)}   in flight {sum(snap.in_flight.values())}   "
        )
        text.append(state, style)
        return text

    def _deck(self, snap: Snapshot) -> Text:
        text = Text("Deck (press the number)\n", "bold")
        for n, name in enumerate(self.control.deck()[:9], start=1):
            text.append(f"{n}  {name}\n")
        waiting = [(b, mid) for b, inbox in snap.inboxes.items() for mid, _k, _s in inbox]
        target: tuple[str, str] | None = (
            self._selected if self._selected in waiting else (waiting[0] if waiting else None)
        )
        for bureau, inbox in snap.inboxes.items():
            text.append(f"\n{bureau} (played): {len(inbox)} to answer (n, a, r, f)\n", "bold")
            for mid, kind, sender in inbox:
                chosen = (bureau, mid) == target
                text.append(
                    f"{'> ' if chosen else '  '}{kind} from {sender}\n", "reverse" if chosen else ""
                )
                text.append(f"    {snap.gists.get(mid, '')}\n", "dim")
        return text

    # actions ------------------------------------------------------------------------------

    def _can_steer(self) -> bool:
        """Whether the run takes commands now; if not, say why (a key never does nothing)."""
        if not self.control.ready:
            self._tell("the exercise is still starting", severity="warning")
            return False
        if self.control.finished:
            self._tell("the scenario has finished: press q to write the report")
            return False
        return True

    def action_pause_resume(self) -> None:
        """Pause or resume the scenario clock."""
        if self._can_steer():
            self.control.toggle()
            self._redraw()

    def action_faster(self) -> None:
        """Double the clock speed."""
        if self._can_steer():
            speed = self.control.snapshot(expectations=False).speed * 2
            self.control.set_speed(speed)
            self._tell(f"pace {pace_label(speed)}")

    def action_slower(self) -> None:
        """Halve the clock speed."""
        if self._can_steer():
            speed = self.control.snapshot(expectations=False).speed / 2
            self.control.set_speed(speed)
            self._tell(f"pace {pace_label(speed)}")

    def action_fire(self, n: int) -> None:
        """Fire the n-th prepared inject."""
        if not self._can_steer():
            return
        deck = self.control.deck()
        if not 1 <= n <= len(deck):
            self._tell(f"the deck has no card {n} ({len(deck)} prepared)", severity="warning")
            return
        self.control.fire(deck[n - 1])
        self._tell(f"fired {deck[n - 1]}")

    def action_bookmark(self) -> None:
        """Ask for a note to bookmark this moment."""
        self.action_prompt("bookmark")

    def action_prompt(self, what: str) -> None:
        """Ask for a line of text: a bookmark note, a reply, or the bureaus to forward to."""
        if not self.control.ready or self.query("#prompt"):
            return
        if what != "bookmark" and self._oldest() is None:
            self._tell("no played bureau has a message to answer", severity="warning")
            return
        box = Input(placeholder=_PROMPTS[what], id="prompt", name=what)
        # the scenario clock stands still while the controller types, and the note is stamped
        # with the moment of the key press
        self._prompt_at = self.control.now_s()
        self.control.hold()
        self.mount(box)
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Act on the line typed."""
        if event.input.id != "prompt":
            return
        text, what = event.value.strip(), event.input.name
        event.input.remove()
        self.control.release()
        oldest = self._oldest()
        if not text:
            return
        if what == "bookmark":
            self.control.bookmark(text, at_s=self._prompt_at)
        elif oldest is not None and what == "reply":
            self.control.reply(*oldest, text)
        elif oldest is not None and what == "forward":
            permission = text.endswith("+")
            to = [b.strip() for b in text.rstrip("+").split(",") if b.strip()]
            try:
                breaches = self.control.forward(*oldest, to, permission=permission)
            except ControlError as exc:  # a typing slip: say so, keep going
                self._tell(f"cannot forward: {exc}", severity="error")
                return
            if breaches:
                self._tell(f"{breaches} caveat breach(es) recorded", severity="warning")

    def key_escape(self) -> None:
        """Cancel what is being typed."""
        for box in self.query("#prompt"):
            box.remove()
            self.control.release()

    def _waiting(self) -> list[tuple[str, str]]:
        """Every (played bureau, message id) a player has to answer, in the order shown."""
        inboxes = self.control.snapshot(expectations=False).inboxes
        return [(bureau, mid) for bureau, inbox in inboxes.items() for mid, _k, _s in inbox]

    def _oldest(self) -> tuple[str, str] | None:
        """The message ``a``, ``r`` and ``f`` act on.

        The one chosen with ``n`` while it is still to be answered, else the first played
        bureau's oldest.
        """
        waiting = self._waiting()
        if self._selected in waiting:
            return self._selected
        return waiting[0] if waiting else None

    def action_next_message(self) -> None:
        """Choose the next message to act on (any played bureau's), in the order shown."""
        waiting = self._waiting()
        if not waiting:
            self._tell("no played bureau has a message to answer", severity="warning")
            return
        current = self._oldest()
        at = waiting.index(current) if current in waiting else -1
        self._selected = waiting[(at + 1) % len(waiting)]
        self._tell(f"acting for {self._selected[0]} on message {self._selected[1][:8]}")
        self._redraw()

    def action_answer(self) -> None:
        """The person playing a bureau acknowledges its oldest unanswered message."""
        if not self._can_steer():
            return
        oldest = self._oldest()
        if oldest is None:
            self._tell("no played bureau has a message to answer", severity="warning")
            return
        self.control.answer(*oldest)

    def action_end(self) -> None:
        """End the exercise: leave at once when finished; while it runs, ask first.

        One ``q`` in a running exercise only asks; a second within :data:`_CONFIRM_S` seconds
        stops the run and leaves when it has settled (the report is written then).
        """
        if self.result is not None or self.failure is not None:
            self.exit(self.result)
            return
        if not self.control.ready:
            return
        now = time.monotonic()
        if self._end_asked is None or now - self._end_asked > _CONFIRM_S:
            self._end_asked = now
            self._tell(
                "end the exercise now? press q again to end it and write the report",
                severity="warning",
            )
            return
        self._leave_when_done = True
        self.control.stop()


_CONFIRM_S = 10.0
"""Seconds within which a second ``q`` confirms the first."""

_STATE_LOOK = {
    "met": ("met", "bold green"),
    "pending": ("pending", "yellow"),
    "failed": ("FAILED", "bold red"),
    "not reached": ("not reached", "yellow"),
}
"""How each live state of an expectation is shown."""

_PROMPTS = {
    "bookmark": "bookmark note; Enter to save, Escape to cancel",
    "reply": "reply to the oldest message; Enter to send, Escape to cancel",
    "forward": "forward the oldest message to (e.g. NL,BE; end with + if the originator agreed)",
}


def _regions(snap: Snapshot) -> Table:
    table = Table(title="Bureaus", expand=True, box=None)
    table.add_column("region")
    table.add_column("online", justify="right")
    table.add_column("in flight", justify="right")
    table.add_column("delivered", justify="right")
    for region, (up, total) in snap.online.items():
        style = "" if up == total else "bold red"
        table.add_row(
            region,
            Text(f"{up}/{total}", style),
            str(snap.in_flight.get(region, 0)),
            str(snap.delivered.get(region, 0)),
        )
    return table


def _deadlines(snap: Snapshot) -> Text:
    text = Text("Pending deadlines\n", "bold")
    if not snap.deadlines:
        text.append("none")
    for deadline in snap.deadlines[:12]:
        left = deadline.due_s - snap.scenario_s
        who = ", ".join(sorted(deadline.waiting_for))
        line = f"{deadline.name}: {deadline.kind} from {who} "
        if left >= 0:
            text.append(line + f"due in {span_label(left)}\n")
        else:
            text.append(line + f"MISSED {span_label(left)} ago\n", "bold red")
    return text
