"""What happens when: injects (one class per action, told apart by their key) and load."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import (
    BaseModel,
    Discriminator,
    Field,
    Tag,
    model_validator,
)

from scenarios.model.durations import (
    MODEL_CONFIG,
    BureauAction,
    CancelNoticeAction,
    CaseMessageAction,
    DiffusionAction,
    ForwardAction,
    Group,
    NoticeRequestAction,
    SearchAction,
    Seconds,
    SienaAction,
    Tagged,
    Trigger,
    tag_among,
)


class _InjectBase(Tagged):
    """What every inject has besides its action."""

    at: Seconds | None = None
    """Scenario time, seconds from the start (timeline injects)."""
    when: Trigger | None = None
    """The event that fires this inject (contingency injects). (Not ``on``: YAML 1.1 reads a bare
    ``on`` as the boolean true.)"""
    name: str | None = None
    """A name that expectations can refer to."""
    deadline: Seconds | None = None
    """Response deadline for this message (the scenario's policy by priority otherwise)."""
    comment: str | None = None
    """What the controller wants players to notice (shown in the debrief)."""

    @model_validator(mode="after")
    def _at_or_when(self) -> _InjectBase:
        if self.at is not None and self.when is not None:
            raise ValueError("an inject fires either at a time ('at') or on an event ('when')")
        return self

    @property
    def action(self) -> str:
        """Which action this inject performs."""
        return self.tag

    @property
    def actor(self) -> str:
        """The bureau that performs it (the General Secretariat for the controller's actions)."""
        return "gs"


class NoticeRequestInject(_InjectBase):
    """An NCB asks the General Secretariat to publish a notice."""

    tag: ClassVar[str] = "notice_request"
    notice_request: NoticeRequestAction

    @property
    def actor(self) -> str:
        """The bureau that performs it."""
        return self.notice_request.sender


class DiffusionInject(_InjectBase):
    """A bureau sends a diffusion to chosen bureaus."""

    tag: ClassVar[str] = "diffusion"
    diffusion: DiffusionAction

    @property
    def actor(self) -> str:
        """The bureau that performs it."""
        return self.diffusion.sender


class CaseMessageInject(_InjectBase):
    """A bureau writes to others about a case."""

    tag: ClassVar[str] = "case_message"
    case_message: CaseMessageAction

    @property
    def actor(self) -> str:
        """The bureau that performs it."""
        return self.case_message.sender


class SearchInject(_InjectBase):
    """A bureau searches a database at the General Secretariat."""

    tag: ClassVar[str] = "search"
    search: SearchAction

    @property
    def actor(self) -> str:
        """The bureau that performs it."""
        return self.search.sender


class CancelNoticeInject(_InjectBase):
    """The General Secretariat cancels a published notice."""

    tag: ClassVar[str] = "cancel_notice"
    cancel_notice: CancelNoticeAction


class RevokeInject(_InjectBase):
    """A bureau's certificate is revoked."""

    tag: ClassVar[str] = "revoke"
    revoke: BureauAction


class RotateKeyInject(_InjectBase):
    """A bureau's keys are rotated."""

    tag: ClassVar[str] = "rotate_key"
    rotate_key: BureauAction

    @property
    def actor(self) -> str:
        """The bureau that performs it."""
        return self.rotate_key.bureau


class SienaInject(_InjectBase):
    """A regional organisation's message enters through its gateway."""

    tag: ClassVar[str] = "siena"
    siena: SienaAction

    @property
    def actor(self) -> str:
        """The bureau that performs it."""
        return self.siena.organisation


class ForwardInject(_InjectBase):
    """A bureau forwards a message it received, under its caveats."""

    tag: ClassVar[str] = "forward"
    forward: ForwardAction

    @property
    def actor(self) -> str:
        """The bureau that performs it."""
        return self.forward.by


_INJECT_ACTIONS = (
    "notice_request",
    "diffusion",
    "case_message",
    "search",
    "cancel_notice",
    "revoke",
    "rotate_key",
    "siena",
    "forward",
)

Inject = Annotated[
    Annotated[NoticeRequestInject, Tag("notice_request")]
    | Annotated[DiffusionInject, Tag("diffusion")]
    | Annotated[CaseMessageInject, Tag("case_message")]
    | Annotated[SearchInject, Tag("search")]
    | Annotated[CancelNoticeInject, Tag("cancel_notice")]
    | Annotated[RevokeInject, Tag("revoke")]
    | Annotated[RotateKeyInject, Tag("rotate_key")]
    | Annotated[SienaInject, Tag("siena")]
    | Annotated[ForwardInject, Tag("forward")],
    Discriminator(
        tag_among(_INJECT_ACTIONS),
        custom_error_type="inject_action",
        custom_error_message=f"an inject needs exactly one action of: {', '.join(_INJECT_ACTIONS)}",
    ),
]
"""Something that happens at a scenario time: one class per action, told apart by its key."""


LoadKind = Literal["search", "diffusion", "case-message"]


def _search_only() -> dict[LoadKind, float]:
    return {"search": 1.0}


class LoadGenerator(BaseModel):
    """Poisson traffic between chosen bureaus."""

    model_config = MODEL_CONFIG

    rate: Annotated[float, Field(gt=0, le=100_000)]
    """Messages per scenario second."""
    mix: dict[LoadKind, Annotated[float, Field(gt=0)]] = Field(default_factory=_search_only)
    """Relative weights of the message kinds."""
    senders: Group = Field(default="all-ncbs", alias="from")
    """Who sends."""
    to: Group = "all-ncbs"
    """Who receives diffusions and case messages (searches go to the General Secretariat)."""
    start: Seconds = 0.0
    end: Seconds | None = None
    """When the traffic stops (the scenario's end by default)."""
