"""The scenario file: a YAML document validated by pydantic, with errors that name file and line.

A scenario says who takes part (the roster), how the network behaves (topology, link model), what
happens when (injects, load generators, faults) and what must be true afterwards (expectations).
Times are scenario seconds; ``speed`` compresses them (``speed: 60`` plays an hour in a minute);
latencies are always reported in real milliseconds.

Each inject, fault and expectation is a small mapping with exactly one action key, as exercise
planners write them::

    injects:
      - at: 2
        name: red-1
        notice_request: {from: FR, summary: Organised fraud in three countries.}

That key is the tag of a union: each kind is its own class (``NoticeRequestInject``,
``OfflineFault``, ``LatencyCheck`` ...), so the code downstream matches on the class and reads
typed fields. A validation error inside one is reported where the file has it
(``injects[0].search.from``).

Why one long module: the scenario file format is one document, declared top to bottom as it
is written, with its parser and its line-numbered errors beside it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    model_validator,
)

from protocol import Region, default_roster
from protocol.messages.caveats import CaveatPolicy
from protocol.messages.types import CountryCode, HandlingCode, PartialDate, Priority, Tlp
from protocol.network.roster import synthetic_roster
from protocol.network.routing import Topology
from protocol.schemas.export import standard_keywords
from scenarios.errors import ScenarioLayerError

__all__ = [
    "Expectation",
    "Fault",
    "Inject",
    "LoadGenerator",
    "Scenario",
    "ScenarioError",
    "bureau_references",
    "load_scenario",
    "parse_duration",
    "parse_scenario",
]

_UNITS = {"d": 86_400.0, "h": 3_600.0, "m": 60.0, "s": 1.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([dhms])")


def parse_duration(value: object) -> object:
    """Read a duration: ``90``, ``"90"``, ``"8h"``, ``"1d 12h"`` or ``"2h30m"`` → seconds.

    Anything that is not a string is left for pydantic to check.
    """
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    try:
        return float(text)
    except ValueError:
        pass
    parts = _DURATION.findall(text)
    if not parts or _DURATION.sub("", text).strip():
        raise ValueError(f"{value!r} is not a duration (seconds, or like 8h, 3d, 1d 12h, 30m)")
    return sum(float(n) * _UNITS[unit] for n, unit in parts)


_DURATION_INPUT = float | Annotated[str, Field(pattern=r"^[0-9. dhms]+$")]
"""What a duration may be written as in a file (the exported scenario schema says so)."""
Seconds = Annotated[
    float, BeforeValidator(parse_duration, json_schema_input_type=_DURATION_INPUT), Field(ge=0)
]
"""Scenario seconds: a number, or a duration such as ``8h``, ``3d`` or ``1d 12h``."""
BureauRef = Annotated[str, Field(min_length=2, max_length=32)]
Group = BureauRef | list[BureauRef]
"""A bureau id, a list of ids, or a group: ``all-ncbs``, ``region:africa``."""

_CONFIG = ConfigDict(
    extra="forbid", frozen=True, populate_by_name=True, use_attribute_docstrings=True
)


class _Action(BaseModel):
    model_config = _CONFIG


class NoticeRequestAction(_Action):
    """An NCB asks the General Secretariat to publish a notice."""

    sender: BureauRef = Field(alias="from")
    notice: Literal["red", "yellow", "blue", "green", "silver"] = "red"
    name: Annotated[str, Field(min_length=1, max_length=500)] = "EXEMPLE"
    forename: Annotated[str, Field(min_length=1, max_length=500)] | None = "JEAN"
    date_of_birth: PartialDate | None = "1980/01"
    """As the notice has it: ``YYYY/MM/DD``, or partial (``YYYY/MM``, ``YYYY``)."""
    nationalities: list[CountryCode] | None = None
    """ISO 3166-1 alpha-2 codes (checked here, not when the notice is sent)."""
    summary: str = "Organised fraud in several countries."
    priority: Priority = "urgent"


class DiffusionAction(_Action):
    """A bureau sends a diffusion directly to chosen bureaus."""

    sender: BureauRef = Field(alias="from")
    to: Group
    type: Literal["wanted", "missing", "information", "warning", "locate"] = "information"
    text: str = "Please check your records and report."
    priority: Priority = "routine"
    handling_code: HandlingCode = "H1"
    tlp: Tlp | None = None
    source_reliability: Literal["A", "B", "C", "X"] | None = None
    information_accuracy: Literal[1, 2, 3, 4] | None = None


class CaseMessageAction(_Action):
    """Correspondence on a case."""

    sender: BureauRef = Field(alias="from")
    to: Group
    case: str = "CASE/2026/0001"
    subject: str = "Case update"
    body: str = "Please find the latest information on the case."
    priority: Priority = "routine"
    handling_code: HandlingCode = "H1"
    tlp: Tlp | None = None


class SearchAction(_Action):
    """A database search, addressed to the General Secretariat."""

    sender: BureauRef = Field(alias="from")
    database: Literal["nominal", "sltd", "smv"] = "sltd"
    value: str = "X0000000"
    country: str = "FR"
    priority: Priority = "routine"


class CancelNoticeAction(_Action):
    """The General Secretariat cancels a notice it published (named by its request's inject)."""

    notice: str
    reason: str = "The person was arrested."


class SienaAction(_Action):
    """A regional organisation's message in its own (SIENA-style) form, via the gateway.

    The message is checked by the schema-validating gateway during the run, not here.
    """

    organisation: BureauRef = Field(alias="from")
    message: dict[str, Any]


class ForwardAction(_Action):
    """A bureau passes a message it received on to other bureaus (under its caveats)."""

    by: BureauRef
    message: str
    """The inject whose message is forwarded (the bureau must have received it)."""
    to: Group
    permission: bool = False
    """Whether the originator allowed this dissemination."""


class Trigger(_Action):
    """What makes a contingency inject fire (once), instead of a time on the timeline."""

    deadline_missed: str | None = None
    """The named inject's response deadline passed unanswered."""
    search_hit: str | None = None
    """The named search inject (or ``any`` search) came back with a hit."""
    breach: bool | None = None
    """A caveat breach happened."""
    after: Seconds = 0.0
    """Scenario seconds between the trigger and the inject."""

    @model_validator(mode="after")
    def _one(self) -> Trigger:
        found = [k for k in ("deadline_missed", "search_hit", "breach") if getattr(self, k)]
        if len(found) != 1:
            raise ValueError("a trigger needs exactly one of: deadline_missed, search_hit, breach")
        return self


class BureauAction(_Action):
    """An action on one bureau (revoke its certificate, rotate its keys)."""

    bureau: BureauRef


class _Tagged(BaseModel):
    """One member of a tagged union: the one action key it carries is its tag."""

    model_config = _CONFIG

    tag: ClassVar[str]
    """The key that names this kind in a scenario file (``notice_request``, ``offline`` ...)."""

    @property
    def spec(self) -> BaseModel:
        """The mapping under the tag key."""
        spec: BaseModel = getattr(self, self.tag)
        return spec


def _tag_among(tags: tuple[str, ...]) -> Callable[[Any], str | None]:
    """The discriminator of a union: the one key of ``tags`` a mapping carries (or none)."""

    def tag(value: Any) -> str | None:
        if isinstance(value, _Tagged):
            return value.tag
        if not isinstance(value, dict):
            return None
        present = [k for k in tags if value.get(k) is not None and value.get(k) is not False]
        return present[0] if len(present) == 1 else None

    return tag


class _InjectBase(_Tagged):
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
        _tag_among(_INJECT_ACTIONS),
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

    model_config = _CONFIG

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


class FaultWindow(_Action):
    """A bureau or a region affected from ``start`` to ``end``."""

    bureau: BureauRef | None = None
    region: Region | None = None
    start: Seconds = Field(alias="from")
    end: Seconds = Field(alias="to")
    extra_ms: Annotated[float, Field(ge=0)] = 0.0
    loss: Annotated[float, Field(ge=0, le=1)] = 0.0

    @model_validator(mode="after")
    def _window(self) -> FaultWindow:
        if (self.bureau is None) == (self.region is None):
            raise ValueError("name either a bureau or a region")
        if self.end <= self.start:
            raise ValueError("'to' must be after 'from'")
        return self


class BrokerRestart(_Action):
    """The broker is killed and restarted at ``at`` (embedded broker only)."""

    at: Seconds
    persistence: bool = True
    """Whether the broker keeps its sessions, queued and retained messages over the restart
    (``false``: it remembers nothing, and senders must send again; the in-memory broker of a
    simulation only)."""


class Compromised(_Action):
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


class _WindowFault(_Tagged):
    @property
    def window(self) -> FaultWindow:
        """The bureau or region affected, and when."""
        window: FaultWindow = getattr(self, self.tag)
        return window


class OfflineFault(_WindowFault):
    """A bureau's process is down (its messages wait at the broker)."""

    tag: ClassVar[str] = "offline"
    offline: FaultWindow


class CutFault(_WindowFault):
    """Links cut: traffic is held (store and forward) until they return."""

    tag: ClassVar[str] = "cut"
    cut: FaultWindow


class DegradeFault(_WindowFault):
    """Links slower (``extra_ms``) and lossier (``loss``)."""

    tag: ClassVar[str] = "degrade"
    degrade: FaultWindow


class BrokerRestartFault(_Tagged):
    """The broker is killed and restarted."""

    tag: ClassVar[str] = "broker_restart"
    broker_restart: BrokerRestart


class CompromisedFault(_Tagged):
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
        _tag_among(_FAULTS),
        custom_error_type="fault_kind",
        custom_error_message=f"a fault needs exactly one of: {', '.join(_FAULTS)}",
    ),
]
"""Something that goes wrong: one class per kind, told apart by its key."""


class _AboutAMessage(_Action):
    message: str
    """The name of the inject whose message this is about."""


class DeliveredExpectation(_AboutAMessage):
    """A named message reaches these bureaus within a time."""

    to: Group
    within: Seconds = 60.0


class AcknowledgedExpectation(_AboutAMessage):
    """A named message is acknowledged by these bureaus within a time."""

    by: Group
    within: Seconds = 60.0


class LatencyExpectation(_Action):
    """A latency percentile of a message kind stays under a bound."""

    kind: str | None = None
    percentile: Annotated[float, Field(gt=0, le=100)] = 99.0
    below_ms: Annotated[float, Field(gt=0)]


class RejectedExpectation(_Action):
    """Rejections with a reason are counted."""

    reason: str
    at_least: Annotated[int, Field(ge=0)] = 1
    at_most: Annotated[int, Field(ge=0)] | None = None


class BreachesExpectation(_Action):
    """Caveat breaches are counted."""

    at_least: Annotated[int, Field(ge=0)] = 0
    at_most: Annotated[int, Field(ge=0)] | None = None


class DeadlineExpectation(_AboutAMessage):
    """A named inject's response deadline was met (or, with ``met: false``, missed)."""

    met: bool = True


class _ExpectationBase(_Tagged):
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
        _tag_among(_EXPECTATIONS),
        custom_error_type="expectation_kind",
        custom_error_message=f"an expectation needs exactly one of: {', '.join(_EXPECTATIONS)}",
    ),
]
"""Something that must be true after the run: one class per check, told apart by its key."""


class LinkSpec(_Action):
    """A per-link override."""

    a: BureauRef
    b: BureauRef
    one_way_ms: Annotated[float, Field(ge=0)] | None = None
    extra_ms: Annotated[float, Field(ge=0)] = 0.0
    jitter_ms: Annotated[float, Field(ge=0)] | None = None
    loss: Annotated[float, Field(ge=0, le=1)] | None = None


class RegionSpec(_Action):
    """A per-region override."""

    one_way_ms: Annotated[float, Field(ge=0)] | None = None
    extra_ms: Annotated[float, Field(ge=0)] = 0.0
    jitter_ms: Annotated[float, Field(ge=0)] | None = None
    loss: Annotated[float, Field(ge=0, le=1)] | None = None


class NetworkSpec(_Action):
    """The link model."""

    model: bool = True
    """Whether to model WAN delay at all (off: loopback latency only)."""
    inflation: Annotated[float, Field(ge=1, le=10)] = 1.5
    jitter_ms: Annotated[float, Field(ge=0)] = 0.0
    loss: Annotated[float, Field(ge=0, le=1)] = 0.0
    links: list[LinkSpec] = Field(default_factory=list)
    regions: dict[Region, RegionSpec] = Field(default_factory=dict)


class Record(_Action):
    """A record seeded into the General Secretariat's databases."""

    database: Literal["nominal", "sltd", "smv"]
    value: str
    country: str = "FR"
    owner: BureauRef = "FR"
    summary: str = "Record of interest"


class DeadlinePolicy(_Action):
    """How long a bureau has to answer, by priority, in scenario time."""

    flash: Seconds = 3_600.0
    urgent: Seconds = 8 * 3_600.0
    routine: Seconds = 7 * 86_400.0
    notice_review: Seconds = 86_400.0
    """How long the General Secretariat has to review a notice request."""


class ServiceSpec(BaseModel):
    """Milliseconds a bureau's work takes in a simulation (``--clock virtual``), per unit.

    The defaults are the project's measurements on two cores (``bureaus/service.py``).
    """

    model_config = _CONFIG

    verify_ms: Annotated[float, Field(ge=0, le=10_000)] = 0.135
    open_ms: Annotated[float, Field(ge=0, le=10_000)] = 0.06
    seal_ms: Annotated[float, Field(ge=0, le=10_000)] = 0.08
    wrap_ms: Annotated[float, Field(ge=0, le=10_000)] = 0.007
    receive_ms: Annotated[float, Field(ge=0, le=10_000)] = 0.145
    publish_ms: Annotated[float, Field(ge=0, le=10_000)] = 0.145


MAX_SEED = 2**63 - 1
"""The largest seed (seeds are whole numbers from 0)."""
MIN_SPEED = 0.01
"""The slowest clock: a scenario second every hundred real seconds."""
MAX_SPEED = 1_000_000.0
"""The fastest clock."""
MAX_REAL_S = 31 * 86_400
"""The longest a run may take in real time (duration / speed)."""
MAX_SYNTHETIC = 10_000
"""The most made-up NCBs of a ``synthetic:N`` roster (the largest measured in bench/)."""


def _synthetic_size(value: str) -> str:
    count = int(value.partition(":")[2])
    if count > MAX_SYNTHETIC:
        raise ValueError(f"synthetic:{count}: at most {MAX_SYNTHETIC:,} made-up bureaus")
    return value


class Scenario(BaseModel):
    """A scripted run."""

    model_config = _CONFIG

    name: Annotated[str, Field(min_length=1, max_length=100)]
    description: str = ""
    teaches: str = ""
    """What the scenario shows (for the library's index and the report)."""
    lessons: list[Annotated[str, Field(min_length=1, max_length=1000)]] = Field(
        default_factory=list, max_length=50
    )
    """The planners' questions for the discussion after the exercise (the debrief prints them
    on a page of their own)."""
    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] = 0
    """Every random draw of the run comes from it (a whole number from 0 to 2^63 - 1)."""
    topology: Topology = "hybrid"
    roster: (
        Literal["all"]
        | Annotated[
            str,
            Field(pattern=r"^synthetic:[1-9][0-9]{0,5}$"),
            AfterValidator(_synthetic_size),
        ]
        | list[BureauRef]
    ) = "all"
    """``all`` (the 209 bureaus), a list of ids, or ``synthetic:N``: N made-up NCBs (``syn-0001``
    ...) plus the General Secretariat and the Command and Coordination Centre, for scale runs."""
    network: NetworkSpec = Field(default_factory=NetworkSpec)
    duration: Annotated[
        float,
        BeforeValidator(parse_duration, json_schema_input_type=_DURATION_INPUT),
        Field(gt=0, le=30 * 86_400),
    ] = 10.0
    """Scenario seconds until injects and load stop."""
    speed: Annotated[float, Field(ge=MIN_SPEED, le=MAX_SPEED)] = 1.0
    """Scenario seconds per real second."""
    drain: Annotated[float, Field(ge=0, le=600)] = 5.0
    """Real seconds to let traffic settle after the end."""
    review_delay: Seconds = 0.0
    """Scenario seconds the General Secretariat takes to review a notice request."""
    service: ServiceSpec | None = None
    """Service times of a simulation (``--clock virtual``); live, the host's CPU decides."""
    versions: dict[Literal["1.0", "1.1", "2.0"], Group] = Field(default_factory=dict)
    """Bureaus running another schema version than 1.0 (``{"1.1": [FR, DE]}``); 1.1 adds an
    optional field to diffusions, 2.0 stands for an incompatible future version."""
    records: list[Record] = Field(default_factory=list)
    injects: list[Inject] = Field(default_factory=list)
    deck: list[Inject] = Field(default_factory=list)
    """Prepared injects the controller fires by hand during a live exercise (no ``at``/``when``)."""
    players: list[BureauRef] = Field(default_factory=list)
    """Bureaus played by people: they do not answer by themselves."""
    deadlines: DeadlinePolicy = Field(default_factory=DeadlinePolicy)
    caveats: CaveatPolicy = "enforce"
    """Whether forwards that break their caveats are refused (``enforce``) or sent and flagged."""
    load: list[LoadGenerator] = Field(default_factory=list)
    faults: list[Fault] = Field(default_factory=list)
    expect: list[Expectation] = Field(default_factory=list)

    @model_validator(mode="after")
    def _real_time(self) -> Scenario:
        if self.duration / self.speed > MAX_REAL_S:
            raise ValueError(
                f"at speed {self.speed:g} the {self.duration:g} scenario seconds take "
                f"{self.duration / self.speed / 86_400:.1f} real days; at most "
                f"{MAX_REAL_S // 86_400} (raise 'speed')"
            )
        return self

    @model_validator(mode="after")
    def _names(self) -> Scenario:
        names = [i.name for i in (*self.injects, *self.deck) if i.name]
        if len(names) != len(set(names)):
            raise ValueError("inject names must be unique (timeline and deck together)")
        for index, inject in enumerate(self.injects):
            if inject.at is None and inject.when is None:
                raise ValueError(f"injects[{index}] needs a time ('at') or a trigger ('when')")
        for index, card in enumerate(self.deck):
            if card.at is not None or card.when is not None:
                raise ValueError(f"deck[{index}] is fired by hand: no 'at' or 'when'")
            if card.name is None:
                raise ValueError(f"deck[{index}] needs a name (the controller picks it by name)")
        return self


class ScenarioError(ScenarioLayerError):
    """A scenario file that cannot be run: each problem as ``file:line: path: reason``.

    Attributes:
        problems: The lines, each naming the file, the line and the field.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


_MAX_SCENARIO_BYTES = 256 * 1024
"""The largest scenario file read: ten times the largest bundled one, and small enough that
any file is accepted or refused within a second (bench/scenario_files.py)."""
_MAX_VALUES = 100_000
"""The most values (scalars, lists, mappings) a scenario may hold once its aliases are expanded."""
_BASE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""LibYAML's safe loader where PyYAML was built with it (several times faster), else PyYAML's."""


class _Loader(_BASE_LOADER):  # type: ignore[valid-type,misc]
    """A safe loader that reads plain scalars as YAML 1.2's core schema does.

    PyYAML resolves YAML 1.1: a bare ``NO`` (Norway), ``ON``, ``yes`` or ``off`` becomes a
    boolean, ``012`` an octal 10, ``1:30`` the number 90 and ``2026-01-05`` a date. In YAML 1.2
    only ``true``/``false``, ``null``/``~``, decimal, ``0o`` and ``0x`` integers and decimal
    floats are anything but strings, so a trainer never has to quote a country code.
    """


_Loader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    ("bool", r"true|True|TRUE|false|False|FALSE", "tTfF"),
    ("null", r"~|null|Null|NULL|", ["~", "n", "N", ""]),
    ("int", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", "-+0123456789"),
    (
        "float",
        r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        "-+0123456789.",
    ),
    ("merge", r"<<", "<"),  # not in YAML 1.2, but anchors merged into mappings are common
):
    _Loader.add_implicit_resolver(
        f"tag:yaml.org,2002:{_tag}", re.compile(f"^(?:{_pattern})$"), list(_first)
    )


_MAX_INT_DIGITS = 30
"""The longest integer a scenario may write (a seed fits in 19 digits)."""


def _yaml12_int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    if len(text) > _MAX_INT_DIGITS:
        raise yaml.constructor.ConstructorError(
            None,
            None,
            f"an integer of {len(text)} digits (at most {_MAX_INT_DIGITS})",
            node.start_mark,
        )
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)  # "012" is twelve in YAML 1.2


_Loader.add_constructor("tag:yaml.org,2002:int", _yaml12_int)
_LOADER = _Loader


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many values ``node`` stands for with every alias expanded (each shared node once)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    size = 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            size += _expanded_size(key, sizes) + _expanded_size(value, sizes)
    elif isinstance(node, yaml.SequenceNode):
        for value in node.value:
            size += _expanded_size(value, sizes)
    sizes[id(node)] = size
    return size


def _duplicates(node: yaml.Node, path: tuple[Any, ...] = ()) -> list[tuple[int, str]]:
    """Keys given twice in one mapping (YAML forbids it; PyYAML keeps the last silently)."""
    found: list[tuple[int, str]] = []
    if isinstance(node, yaml.MappingNode):
        first: dict[object, int] = {}
        for key, value in node.value:
            line = key.start_mark.line + 1
            if isinstance(key, yaml.ScalarNode):
                if key.value in first:
                    where = _dotted((*path, key.value))
                    found.append((line, f"{where}: given twice (first on line {first[key.value]})"))
                first.setdefault(key.value, line)
            found += _duplicates(value, (*path, key.value))
    elif isinstance(node, yaml.SequenceNode):
        for index, value in enumerate(node.value):
            found += _duplicates(value, (*path, index))
    return found


def _lines(node: yaml.Node, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    """Map every path in a YAML document to the (1-based) line it starts on."""
    found = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, key.value)
            found[child] = key.start_mark.line + 1
            found.update({k: v for k, v in _lines(value, child).items() if k != child})
    elif isinstance(node, yaml.SequenceNode):
        for index, value in enumerate(node.value):
            found.update(_lines(value, (*path, index)))
    return found


def _dotted(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(document)"


_REGIONS = frozenset(get_args(Region))


def _known_ids(scenario: Scenario) -> frozenset[str]:
    """The bureau ids a scenario may name: its roster's (regional bureaus of its NCBs too)."""
    full = default_roster()
    if scenario.roster == "all":
        return full.ids
    if isinstance(scenario.roster, str):
        count = int(scenario.roster.partition(":")[2])
        return synthetic_roster(count, seed=scenario.seed).ids
    named = set(scenario.roster) | {"gs"}
    for bureau in scenario.roster:
        rb = full.regional_bureau_of(bureau) if bureau in full else None
        if rb is not None:
            named.add(rb.id)
    return frozenset(named)


def _inject_references(scenario: Scenario) -> list[tuple[tuple[Any, ...], Any]]:
    found: list[tuple[tuple[Any, ...], Any]] = []
    for group, injects in (("injects", scenario.injects), ("deck", scenario.deck)):
        for index, inject in enumerate(injects):
            if isinstance(inject, SienaInject):
                continue  # the gateway's own message names its units; checked when translated
            spec = inject.spec
            for field, key in (
                ("sender", "from"),
                ("by", "by"),
                ("bureau", "bureau"),
                ("to", "to"),
            ):
                value = getattr(spec, field, None)
                if isinstance(value, str | list):
                    found.append(((group, index, inject.tag, key), value))
    return found


def bureau_references(scenario: Scenario) -> list[tuple[tuple[Any, ...], str]]:
    """Every bureau or group the scenario names, with where (as the file spells the keys).

    A place is a path such as ``("injects", 0, "diffusion", "to", 1)``; a name is a bureau id,
    ``all-ncbs`` or ``region:<name>``.
    """
    found = _inject_references(scenario)
    if scenario.players:
        found.append((("players",), scenario.players))
    for index, gen in enumerate(scenario.load):
        found += [(("load", index, "from"), gen.senders), (("load", index, "to"), gen.to)]
    for index, fault in enumerate(scenario.faults):
        if isinstance(fault, _WindowFault) and fault.window.bureau is not None:
            found.append((("faults", index, fault.tag, "bureau"), fault.window.bureau))
        elif isinstance(fault, CompromisedFault):
            found.append((("faults", index, "compromised", "bureau"), fault.compromised.bureau))
            found.append((("faults", index, "compromised", "target"), fault.compromised.target))
    for version, group_value in scenario.versions.items():
        found.append((("versions", version), group_value))
    for index, expectation in enumerate(scenario.expect):
        # checked with the rest when the file is read: an expectation naming a bureau the
        # roster lacks ran the whole exercise and then ended in a traceback, with no report
        match expectation:
            case DeliveredCheck(delivered=spec):
                found.append((("expect", index, "delivered", "to"), spec.to))
            case AcknowledgedCheck(acknowledged=spec_a):
                found.append((("expect", index, "acknowledged", "by"), spec_a.by))
    flat: list[tuple[tuple[Any, ...], str]] = []
    for loc, value in found:
        if isinstance(value, list):
            flat += [((*loc, n), item) for n, item in enumerate(value)]
        else:
            flat.append((loc, value))
    return flat


def _inject_name_references(scenario: Scenario) -> list[tuple[tuple[Any, ...], str]]:
    """Every reference to a named inject, with where."""
    refs: list[tuple[tuple[Any, ...], str | None]] = []
    for index, expectation in enumerate(scenario.expect):
        if isinstance(spec := expectation.spec, _AboutAMessage):
            refs.append((("expect", index, expectation.tag, "message"), spec.message))
    for group, items in (("injects", scenario.injects), ("deck", scenario.deck)):
        for index, inject in enumerate(items):
            if isinstance(inject, ForwardInject):
                refs.append(((group, index, "forward", "message"), inject.forward.message))
            if inject.when is not None:
                hit = inject.when.search_hit
                refs.append(
                    ((group, index, "when", "deadline_missed"), inject.when.deadline_missed)
                )
                refs.append(((group, index, "when", "search_hit"), None if hit == "any" else hit))
    return [(loc, ref) for loc, ref in refs if ref is not None]


def _after_the_end(scenario: Scenario) -> list[tuple[tuple[Any, ...], str]]:
    """Faults that would start after the scenario's end (they would never happen)."""
    found = []
    end = scenario.duration
    for index, fault in enumerate(scenario.faults):
        match fault:
            case OfflineFault() | CutFault() | DegradeFault() if fault.window.start > end:
                found.append(((index, fault.tag, "from"), fault.window.start))
            case BrokerRestartFault(broker_restart=spec) if spec.at > end:
                found.append(((index, fault.tag, "at"), spec.at))
            case CompromisedFault(compromised=spec_c) if spec_c.at > end:
                found.append(((index, fault.tag, "at"), spec_c.at))
    return [
        (("faults", *loc), f"at {t:g} s, after the scenario's end ({scenario.duration:g} s)")
        for loc, t in found
    ]


def _reference_problems(scenario: Scenario) -> list[tuple[tuple[Any, ...], str]]:
    """Bureaus, groups and injects the scenario names that it does not have."""
    known = _known_ids(scenario)
    names = {i.name for i in (*scenario.injects, *scenario.deck) if i.name}
    problems = [
        (loc, f"refers to no inject named {ref!r}")
        for loc, ref in _inject_name_references(scenario)
        if ref not in names
    ]
    for loc, name in bureau_references(scenario):
        if name == "all-ncbs" or name in known:
            continue
        if name.startswith("region:"):
            if name.removeprefix("region:") not in _REGIONS:
                problems.append((loc, f"no region {name!r} (one of {', '.join(sorted(_REGIONS))})"))
            continue
        hint = f" (ids are upper case: {name.upper()})" if name.upper() in known else ""
        problems.append((loc, f"bureau {name!r} is not in this scenario's roster{hint}"))
    problems += _after_the_end(scenario)
    for group, injects in (("injects", scenario.injects),):
        for index, inject in enumerate(injects):
            if inject.at is not None and inject.at > scenario.duration:
                problems.append(
                    (
                        (group, index, "at"),
                        f"at {inject.at:g} s, after the scenario's end ({scenario.duration:g} s)",
                    )
                )
    return problems


_TAGGED = frozenset({"injects", "deck", "faults", "expect"})
"""The lists whose items are tagged unions."""


def _as_written(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """A validation error's location as the file spells it.

    Inside a tagged union pydantic names the member it tried (``injects.0.search.search.from``);
    the file has the tag once, as the key (``injects[0].search.from``).
    """
    if len(loc) > 2 and loc[0] in _TAGGED and isinstance(loc[1], int):
        return (*loc[:2], *loc[3:])
    return loc


_FIELD_HELP: dict[str, str] = {
    "a": "One end of the link (a bureau id).",
    "b": "The other end of the link (a bureau id).",
    "acknowledged": "Every named recipient acknowledges the message, within the time given.",
    "at": "When, in scenario time (seconds, or with a unit: 90s, 30m, 2h, 1d).",
    "at_least": "The fewest there may be.",
    "at_most": "The most there may be.",
    "below_ms": "The latency the percentile must stay under, milliseconds.",
    "body": "The message text.",
    "breaches": "How many caveat breaches the run may have.",
    "broker_restart": "The broker stops and starts again.",
    "bureau": "The bureau concerned (an id of the roster).",
    "by": "The bureau that acts (an id of the roster).",
    "cancel_notice": "The General Secretariat cancels a published notice.",
    "case": "The case reference, such as FR/2026/0042.",
    "case_message": "A case message between bureaus.",
    "compromised": "A bureau whose credentials are misused to send forged and replayed traffic.",
    "country": "An ISO 3166-1 alpha-2 country code.",
    "cut": "A link cut for a while.",
    "database": "The database: nominal (persons), sltd (travel documents) or smv (vehicles).",
    "deadline": "The named message's response deadline, met or missed.",
    "deadlines": "How long each priority gives the addressees to answer.",
    "degrade": "A link or region made slower or lossier for a while.",
    "delivered": "The message reaches every named bureau, within the time given.",
    "description": "What the scenario is about, for the people who run it.",
    "diffusion": "A diffusion: a bureau's direct request or alert to chosen bureaus.",
    "expect": "What must hold at the end of the run; each is checked and reported.",
    "extra_ms": "Delay added to each message, milliseconds.",
    "faults": "What goes wrong, and when.",
    "flash": "The answer time for flash messages (seconds, or with a unit).",
    "forename": "Given names.",
    "forward": "A bureau passes a message it received to other bureaus (caveats checked).",
    "from": "The sending bureau (an id of the roster).",
    "garbage": "How many malformed messages are sent in its name.",
    "handling_code": "How the information may be used and passed on: H0, H1, H2 or H3.",
    "inflation": "How much longer than the great-circle distance the cables run (a factor).",
    "information_accuracy": "How accurate the information is: 1 known true ... 4 cannot be judged.",
    "injects": "The timeline: what each bureau sends, and when.",
    "jitter_ms": "Random variation of the delay, milliseconds.",
    "kind": "The message kind the expectation is about.",
    "latency": "A latency percentile stays under a bound.",
    "links": "Links with their own delay and loss.",
    "load": "Background traffic: searches and messages generated at a rate.",
    "loss": "The share of messages lost, from 0 to 1.",
    "message": "The message the action is about (an inject name).",
    "met": "Whether the deadline must be met (true) or must be missed (false).",
    "name": "A name for it, used in reports.",
    "network": "The modelled network: delay, jitter and loss, by region and link.",
    "no_accept_from_revoked": "No bureau accepts a message signed by a revoked certificate.",
    "notice": "The notice's colour (red, yellow, ...) or the notice concerned.",
    "notice_request": "A bureau asks the General Secretariat to publish a notice.",
    "offline": "A bureau goes offline for a while.",
    "one_way_ms": "One-way delay, milliseconds.",
    "open_ms": "Time a bureau takes to open an envelope, milliseconds.",
    "owner": "The bureau that entered the record.",
    "percentile": "Which percentile of the latency, such as 99.",
    "priority": "How fast it must be handled: routine, urgent or flash.",
    "publish_ms": "Time a bureau takes to publish to the broker, milliseconds.",
    "reason": "Why.",
    "receive_ms": "Time a bureau takes to receive a message, milliseconds.",
    "records": "Records in the databases that searches can hit.",
    "region": "The region concerned.",
    "regions": "Delay, jitter and loss by region.",
    "rejected": "How many messages are refused, for a reason.",
    "revoke": "A bureau's certificate is revoked.",
    "rotate_key": "A bureau's key is rotated.",
    "routine": "The answer time for routine messages (seconds, or with a unit).",
    "seal_ms": "Time a bureau takes to seal an envelope, milliseconds.",
    "search": "A database search.",
    "shed": "How many messages may be shed under load.",
    "siena": "A message through the Europol gateway.",
    "source_reliability": "How reliable the source is: A, B, C or X.",
    "start": "When the load starts, in scenario time.",
    "subject": "The subject line.",
    "summary": "A short summary.",
    "target": "The bureau the forged traffic is sent to.",
    "text": "The request or alert.",
    "tlp": "Traffic Light Protocol marking.",
    "to": "The receiving bureaus (ids of the roster, all-ncbs, or region:NAME).",
    "topology": "How bureaus are connected: hub, regional, mesh or hybrid.",
    "type": "What is asked of the recipients.",
    "urgent": "The answer time for urgent messages (seconds, or with a unit).",
    "value": "What is searched for, or the record's value.",
    "verify_ms": "Time a bureau takes to verify a signature, milliseconds.",
    "within": "How long after sending it must hold (seconds, or with a unit).",
    "wrap_ms": "Time a bureau takes to wrap a key, milliseconds.",
    "zero_loss": "Nothing accepted is lost.",
}
"""What a property of the scenario format means, where its model says nothing of its own."""
_MODEL_FIELD_HELP: dict[tuple[str, str], str] = {
    ("FaultWindow", "from"): "When the fault starts, in scenario time.",
    ("FaultWindow", "to"): "When the fault ends, in scenario time.",
    ("FaultWindow", "bureau"): "The bureau it affects (an id of the roster).",
    ("DeliveredExpectation", "to"): "The bureaus that must receive it.",
    ("AcknowledgedExpectation", "by"): "The bureaus that must acknowledge it.",
}


def _describe(node: dict[str, Any], model: str) -> None:
    for field, value in node.get("properties", {}).items():
        if isinstance(value, dict) and "description" not in value:
            text = _MODEL_FIELD_HELP.get((model, field)) or _FIELD_HELP.get(field)
            if text is not None:
                value["description"] = text


def scenario_json_schema() -> dict[str, Any]:
    """The scenario file format as a JSON Schema (2020-12), for editors and other tools.

    Point a YAML editor at it with a first line ``# yaml-language-server: $schema=<path>``.
    Every property has a description (an editor shows it on hover) and bounds are JSON Schema's
    own keywords. Cross-references (bureaus in the roster, inject names) are checked by
    :func:`parse_scenario` only (and by ``bureaunet check``).
    """
    schema = Scenario.model_json_schema(mode="validation", by_alias=True)
    standard_keywords(schema)
    _describe(schema, "Scenario")
    for name, definition in schema.get("$defs", {}).items():
        _describe(definition, name)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://bureaunet.invalid/schemas/scenario.schema.json",
        **schema,
        "title": "bureaunet scenario",
    }


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """Validate scenario YAML.

    Raises:
        ScenarioError: Not YAML, or not a valid scenario; every problem with file and line.
    """
    if len(text.encode("utf-8", "surrogatepass")) > _MAX_SCENARIO_BYTES:
        raise ScenarioError(
            [f"{source}:1: larger than the {_MAX_SCENARIO_BYTES // 1024} KiB a scenario may have"]
        )
    try:
        node = yaml.compose(text, Loader=_LOADER)
        if node is not None and _expanded_size(node, {}) > _MAX_VALUES:
            # anchors and aliases are shared when parsed but walked once per use afterwards: a
            # few hundred bytes of nested aliases would otherwise take minutes and gigabytes
            raise ScenarioError([f"{source}:1: aliases expand to more than {_MAX_VALUES:,} values"])
        twice = _duplicates(node) if node is not None else []
        if twice:
            raise ScenarioError([f"{source}:{line}: {problem}" for line, problem in twice])
        data = yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader (C or Python)
    except RecursionError:
        raise ScenarioError([f"{source}:1: nested too deeply to be a scenario"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{mark.line + 1}:{mark.column + 1}" if mark is not None else "?"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError([f"{source}:{where}: not valid YAML: {problem}"]) from None
    if not isinstance(data, dict) or node is None:
        raise ScenarioError([f"{source}:1: a scenario is a mapping with at least a name"])
    lines = _lines(node)

    def located(loc: tuple[Any, ...], message: str) -> str:
        probe = loc
        while probe and probe not in lines:
            probe = probe[:-1]
        return f"{source}:{lines.get(probe, 1)}: {_dotted(loc)}: {message}"

    try:
        scenario = Scenario.model_validate(data)
    except RecursionError:
        raise ScenarioError([f"{source}:1: nested too deeply to be a scenario"]) from None
    except ValidationError as exc:
        raise ScenarioError(
            [
                located(_as_written(tuple(err["loc"])), err["msg"].removeprefix("Value error, "))
                for err in exc.errors(include_url=False)
            ]
        ) from None
    wrong = _reference_problems(scenario)
    if wrong:
        raise ScenarioError([located(loc, message) for loc, message in wrong])
    return scenario


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file.

    Raises:
        ScenarioError: Unreadable, not YAML, or not a valid scenario.
    """
    try:
        with path.open("rb") as handle:
            raw = handle.read(_MAX_SCENARIO_BYTES + 1)  # never more than the bound, whatever size
    except OSError as exc:
        raise ScenarioError([f"{path}: cannot read: {exc}"]) from None
    if len(raw) > _MAX_SCENARIO_BYTES:  # bytes, before decoding (a cut character is not an error)
        kib = _MAX_SCENARIO_BYTES // 1024
        raise ScenarioError([f"{path.name}:1: larger than the {kib} KiB a scenario may have"])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError([f"{path}: cannot read: {exc}"]) from None
    return parse_scenario(text, path.name)
