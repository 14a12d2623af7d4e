"""A notice's lifecycle, as one table.

Theory of operation. A notice is requested by an NCB, reviewed by the General Secretariat, then
either published or refused; a published notice can be updated (any number of times) and
cancelled. Every legal move is one entry of :data:`TRANSITIONS`, from ``(state, event)`` to the
next state; anything else is a failed lookup that becomes :class:`IllegalTransition`. The table is
the whole of the rules: code elsewhere asks it, never decides on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from protocol.errors import ProtocolError

__all__ = ["TRANSITIONS", "IllegalTransition", "NoticeEvent", "NoticeLifecycle", "NoticeState"]

NoticeState = Literal["draft", "under-review", "published", "updated", "cancelled", "refused"]
NoticeEvent = Literal["request", "publish", "refuse", "update", "cancel"]

TRANSITIONS: dict[tuple[NoticeState, NoticeEvent], NoticeState] = {
    ("draft", "request"): "under-review",
    ("under-review", "publish"): "published",
    ("under-review", "refuse"): "refused",
    ("published", "update"): "updated",
    ("updated", "update"): "updated",
    ("published", "cancel"): "cancelled",
    ("updated", "cancel"): "cancelled",
}


class IllegalTransition(ProtocolError):  # noqa: N818 - the state machine's own word
    """A move the lifecycle does not allow (for example updating a cancelled notice).

    Attributes:
        state: The state the notice was in.
        event: The move attempted.
    """

    def __init__(self, state: NoticeState, event: NoticeEvent) -> None:
        self.state = state
        self.event = event
        super().__init__(f"a notice that is {state} cannot take '{event}'")


@dataclass
class NoticeLifecycle:
    """One notice's state and the path it took, with scenario times (seconds)."""

    state: NoticeState = "draft"
    history: list[tuple[float, NoticeEvent, NoticeState]] = field(default_factory=list)

    def apply(self, event: NoticeEvent, at_s: float) -> NoticeState:
        """Take a move; returns the new state.

        Raises:
            IllegalTransition: The table has no such move from the current state.
        """
        try:
            new = TRANSITIONS[(self.state, event)]
        except KeyError:
            raise IllegalTransition(self.state, event) from None
        self.state = new
        self.history.append((at_s, event, new))
        return new

    def path(self) -> str:
        """The states visited, as ``draft → under-review → published``."""
        return " → ".join(["draft", *(state for _t, _e, state in self.history)])
