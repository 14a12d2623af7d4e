"""What goes wrong (faults) and what must hold afterwards (expectations), one class per kind."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import (
    Discriminator,
    Field,
    Tag,
    model_validator,
)

from protocol import Region
from scenarios.model.durations import Action, BureauRef, Group, Seconds, Tagged, tag_among


class FaultWindow(Action):
    """A bureau or a region affected from ``start`` to ``end``."""

    bureau: BureauRef | None = None
    region: Region | None = None
    start: Seconds = Field(alias="from")
    end: Seconds = Field(alias="to")
    extra_ms: Annotated[float, Field(ge=0)] = 0.0
    loss: Annotated[float, Field(ge=0, le=1)] = 0.0
    duplicate: Annotated[float, Field(ge=0, le=1)] = 0.0
    """For ``degrade``: the share of transmissions that arrive twice (the copy later)."""
    memory: Literal["kept", "journal", "none"] = "kept"
    """For ``offline`` only: what the bureau remembers when it comes back. ``kept``: its
    process stayed up and only its connection went. ``journal``: its process crashed and starts
    again from its journal (what it had read but not handled, and sent but not seen reach the
    broker, is gone; its senders' and its own resends bring them). ``none``: it crashed with no
    journal and remembers nothing: its pending messages, the acknowledgements it gave, its
    replay window and its notices are gone (to show what a journal is for)."""

    @model_validator(mode="after")
    def _window(self) -> FaultWindow:
        if (self.bureau is None) == (self.region is None):
            raise ValueError("name either a bureau or a region")
        if self.end <= self.start:
            raise ValueError("'to' must be after 'from'")
        return self


class BrokerRestart(Action):
    """The broker is killed and restarted at ``at`` (embedded broker only)."""

    at: Seconds
    persistence: bool = True
    """Whether the broker keeps its sessions, queued and retained messages over the restart
    (``false``: it remembers nothing, and senders must send again; the in-memory broker of a
    simulation only)."""


class Compromised(Action):
    """A bureau whose credentials are misused to send forged and replayed traffic."""

    bureau: BureauRef
    target: BureauRef
    at: Seconds
    forged: Annotated[int, Field(ge=0, le=10_000)] = 3
    """Copies of a genuine message with a signed byte changed (refused: ``bad_signature``)."""
    replayed: Annotated[int, Field(ge=0, le=10_000)] = 3
    """The genuine message sealed again under its id, already accepted (refused: ``replay``;
    a byte-identical copy within the resend window would be a benign ``duplicate``)."""
    garbage: Annotated[int, Field(ge=0, le=10_000)] = 0


class WindowFault(Tagged):
    """A fault over a window of scenario time (offline, cut, degrade)."""

    @model_validator(mode="after")
    def _memory_when_offline(self) -> WindowFault:
        if self.window.memory != "kept" and self.tag != "offline":
            raise ValueError("'memory' is for a bureau that goes offline")
        return self

    @property
    def window(self) -> FaultWindow:
        """The bureau or region affected, and when."""
        window: FaultWindow = getattr(self, self.tag)
        return window


class OfflineFault(WindowFault):
    """A bureau's process is down (its messages wait at the broker)."""

    tag: ClassVar[str] = "offline"
    offline: FaultWindow


class CutFault(WindowFault):
    """Links cut: traffic is held (store and forward) until they return."""

    tag: ClassVar[str] = "cut"
    cut: FaultWindow


class DegradeFault(WindowFault):
    """Links slower (``extra_ms``) and lossier (``loss``)."""

    tag: ClassVar[str] = "degrade"
    degrade: FaultWindow


class BrokerRestartFault(Tagged):
    """The broker is killed and restarted."""

    tag: ClassVar[str] = "broker_restart"
    broker_restart: BrokerRestart


class CompromisedFault(Tagged):
    """A bureau's credentials are misused."""

    tag: ClassVar[str] = "compromised"
    compromised: Compromised


_FAULTS = ("offline", "cut", "degrade", "broker_restart", "compromised")

Fault = Annotated[
    Annotated[OfflineFault, Tag("offline")]
    | Annotated[CutFault, Tag("cut")]
    | Annotated[DegradeFault, Tag("degrade")]
    | Annotated[BrokerRestartFault, Tag("broker_restart")]
    | Annotated[CompromisedFault, Tag("compromised")],
    Discriminator(
        tag_among(_FAULTS),
        custom_error_type="fault_kind",
        custom_error_message=f"a fault needs exactly one of: {', '.join(_FAULTS)}",
    ),
]
"""Something that goes wrong: one class per kind, told apart by its key."""


class AboutAMessage(Action):
    """An expectation about one scripted message."""

    message: str
    """The name of the inject whose message this is about."""


class DeliveredExpectation(AboutAMessage):
    """A named message reaches these bureaus within a time."""

    to: Group
    within: Seconds = 60.0


class AcknowledgedExpectation(AboutAMessage):
    """A named message is acknowledged by these bureaus within a time."""

    by: Group
    within: Seconds = 60.0


class LatencyExpectation(Action):
    """A latency percentile of a message kind stays under a bound."""

    kind: str | None = None
    percentile: Annotated[float, Field(gt=0, le=100)] = 99.0
    below_ms: Annotated[float, Field(gt=0)]


class RejectedExpectation(Action):
    """Rejections with a reason are counted."""

    reason: str
    at_least: Annotated[int, Field(ge=0)] = 1
    at_most: Annotated[int, Field(ge=0)] | None = None


class BreachesExpectation(Action):
    """Caveat breaches are counted."""

    at_least: Annotated[int, Field(ge=0)] = 0
    at_most: Annotated[int, Field(ge=0)] | None = None


class DeadlineExpectation(AboutAMessage):
    """A named inject's response deadline was met (or, with ``met: false``, missed)."""

    met: bool = True


class _ExpectationBase(Tagged):
    name: str | None = None
    comment: str | None = None
    """What a pass or a failure means for the players (shown in the debrief)."""

    @property
    def kind(self) -> str:
        """Which check this is."""
        return self.tag

    @property
    def label(self) -> str:
        """A name for reports."""
        return self.name or self.kind.replace("_", " ")


class DeliveredCheck(_ExpectationBase):
    """A named message reaches these bureaus within a time."""

    tag: ClassVar[str] = "delivered"
    delivered: DeliveredExpectation


class AcknowledgedCheck(_ExpectationBase):
    """A named message is acknowledged by these bureaus within a time."""

    tag: ClassVar[str] = "acknowledged"
    acknowledged: AcknowledgedExpectation


class LatencyCheck(_ExpectationBase):
    """A latency percentile stays under a bound."""

    tag: ClassVar[str] = "latency"
    latency: LatencyExpectation


class RejectedCheck(_ExpectationBase):
    """Rejections with a reason are counted."""

    tag: ClassVar[str] = "rejected"
    rejected: RejectedExpectation


class ShedCheck(_ExpectationBase):
    """Traffic shed with a reason (``overload``, ``outbox_full``, ``unacknowledged`` ...)."""

    tag: ClassVar[str] = "shed"
    shed: RejectedExpectation


class NoAcceptFromRevokedCheck(_ExpectationBase):
    """No bureau accepts a message from a bureau once it is revoked."""

    tag: ClassVar[str] = "no_accept_from_revoked"
    no_accept_from_revoked: Literal[True]


class ZeroLossCheck(_ExpectationBase):
    """Every message sent is delivered to every recipient."""

    tag: ClassVar[str] = "zero_loss"
    zero_loss: Literal[True]


class BreachesCheck(_ExpectationBase):
    """Caveat breaches are counted."""

    tag: ClassVar[str] = "breaches"
    breaches: BreachesExpectation


class DeadlineCheck(_ExpectationBase):
    """A named inject's response deadline was met (or missed)."""

    tag: ClassVar[str] = "deadline"
    deadline: DeadlineExpectation


_EXPECTATIONS = (
    "delivered",
    "acknowledged",
    "latency",
    "rejected",
    "shed",
    "no_accept_from_revoked",
    "zero_loss",
    "breaches",
    "deadline",
)

Expectation = Annotated[
    Annotated[DeliveredCheck, Tag("delivered")]
    | Annotated[AcknowledgedCheck, Tag("acknowledged")]
    | Annotated[LatencyCheck, Tag("latency")]
    | Annotated[RejectedCheck, Tag("rejected")]
    | Annotated[ShedCheck, Tag("shed")]
    | Annotated[NoAcceptFromRevokedCheck, Tag("no_accept_from_revoked")]
    | Annotated[ZeroLossCheck, Tag("zero_loss")]
    | Annotated[BreachesCheck, Tag("breaches")]
    | Annotated[DeadlineCheck, Tag("deadline")],
    Discriminator(
        tag_among(_EXPECTATIONS),
        custom_error_type="expectation_kind",
        custom_error_message=f"an expectation needs exactly one of: {', '.join(_EXPECTATIONS)}",
    ),
]
"""Something that must be true after the run: one class per check, told apart by its key."""
