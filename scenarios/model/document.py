"""The scenario document: the network, records, deadlines, service times, and the whole."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    model_validator,
)

from protocol import Region
from protocol.messages.caveats import CaveatPolicy
from protocol.network.routing import Topology
from scenarios.errors import ScenarioLayerError
from scenarios.model.checks import Expectation, Fault
from scenarios.model.durations import (
    DURATION_INPUT,
    MODEL_CONFIG,
    Action,
    BureauRef,
    Group,
    Seconds,
    parse_duration,
)
from scenarios.model.injects import Inject, LoadGenerator


class LinkSpec(Action):
    """A per-link override."""

    a: BureauRef
    b: BureauRef
    one_way_ms: Annotated[float, Field(ge=0)] | None = None
    extra_ms: Annotated[float, Field(ge=0)] = 0.0
    jitter_ms: Annotated[float, Field(ge=0)] | None = None
    loss: Annotated[float, Field(ge=0, le=1)] | None = None
    duplicate: Annotated[float, Field(ge=0, le=1)] | None = None


class RegionSpec(Action):
    """A per-region override."""

    one_way_ms: Annotated[float, Field(ge=0)] | None = None
    extra_ms: Annotated[float, Field(ge=0)] = 0.0
    jitter_ms: Annotated[float, Field(ge=0)] | None = None
    loss: Annotated[float, Field(ge=0, le=1)] | None = None
    duplicate: Annotated[float, Field(ge=0, le=1)] | None = None


class NetworkSpec(Action):
    """The link model."""

    model: bool = True
    """Whether to model WAN delay at all (off: loopback latency only)."""
    inflation: Annotated[float, Field(ge=1, le=10)] = 1.5
    jitter_ms: Annotated[float, Field(ge=0)] = 0.0
    loss: Annotated[float, Field(ge=0, le=1)] = 0.0
    duplicate: Annotated[float, Field(ge=0, le=1)] = 0.0
    links: list[LinkSpec] = Field(default_factory=list)
    regions: dict[Region, RegionSpec] = Field(default_factory=dict)


class Record(Action):
    """A record seeded into the General Secretariat's databases."""

    database: Literal["nominal", "sltd", "smv"]
    value: str
    country: str = "FR"
    owner: BureauRef = "FR"
    summary: str = "Record of interest"


class DeadlinePolicy(Action):
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

    model_config = MODEL_CONFIG

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

    model_config = MODEL_CONFIG

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
        BeforeValidator(parse_duration, json_schema_input_type=DURATION_INPUT),
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
