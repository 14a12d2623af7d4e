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

The format is declared in the package's modules in the order a file is written: the pieces
(:mod:`~scenarios.model.durations`), the injects and load (:mod:`~scenarios.model.injects`),
faults and expectations (:mod:`~scenarios.model.checks`), the whole document
(:mod:`~scenarios.model.document`); then reading YAML safely
(:mod:`~scenarios.model.yaml_reading`), the cross-references (:mod:`~scenarios.model.references`),
parsing with line-numbered errors (:mod:`~scenarios.model.parsing`) and the JSON Schema
(:mod:`~scenarios.model.json_schema`).
"""

from scenarios.model.checks import (
    AcknowledgedCheck,
    AcknowledgedExpectation,
    BreachesCheck,
    BreachesExpectation,
    BrokerRestart,
    BrokerRestartFault,
    Compromised,
    CompromisedFault,
    CutFault,
    DeadlineCheck,
    DeadlineExpectation,
    DegradeFault,
    DeliveredCheck,
    DeliveredExpectation,
    Expectation,
    Fault,
    FaultWindow,
    LatencyCheck,
    LatencyExpectation,
    NoAcceptFromRevokedCheck,
    OfflineFault,
    RejectedCheck,
    RejectedExpectation,
    ShedCheck,
    ZeroLossCheck,
)
from scenarios.model.document import (
    MAX_REAL_S,
    MAX_SEED,
    MAX_SPEED,
    MAX_SYNTHETIC,
    MIN_SPEED,
    DeadlinePolicy,
    LinkSpec,
    NetworkSpec,
    Record,
    RegionSpec,
    Scenario,
    ScenarioError,
    ServiceSpec,
)
from scenarios.model.durations import (
    BureauAction,
    BureauRef,
    CancelNoticeAction,
    CaseMessageAction,
    DiffusionAction,
    ForwardAction,
    Group,
    NoticeRequestAction,
    SearchAction,
    Seconds,
    SienaAction,
    Trigger,
    parse_duration,
)
from scenarios.model.injects import (
    CancelNoticeInject,
    CaseMessageInject,
    DiffusionInject,
    ForwardInject,
    Inject,
    LoadGenerator,
    LoadKind,
    NoticeRequestInject,
    RevokeInject,
    RotateKeyInject,
    SearchInject,
    SienaInject,
)
from scenarios.model.json_schema import scenario_json_schema
from scenarios.model.parsing import load_scenario, parse_scenario
from scenarios.model.references import bureau_references

__all__ = [
    "MAX_REAL_S",
    "MAX_SEED",
    "MAX_SPEED",
    "MAX_SYNTHETIC",
    "MIN_SPEED",
    "AcknowledgedCheck",
    "AcknowledgedExpectation",
    "BreachesCheck",
    "BreachesExpectation",
    "BrokerRestart",
    "BrokerRestartFault",
    "BureauAction",
    "BureauRef",
    "CancelNoticeAction",
    "CancelNoticeInject",
    "CaseMessageAction",
    "CaseMessageInject",
    "Compromised",
    "CompromisedFault",
    "CutFault",
    "DeadlineCheck",
    "DeadlineExpectation",
    "DeadlinePolicy",
    "DegradeFault",
    "DeliveredCheck",
    "DeliveredExpectation",
    "DiffusionAction",
    "DiffusionInject",
    "Expectation",
    "Fault",
    "FaultWindow",
    "ForwardAction",
    "ForwardInject",
    "Group",
    "Inject",
    "LatencyCheck",
    "LatencyExpectation",
    "LinkSpec",
    "LoadGenerator",
    "LoadKind",
    "NetworkSpec",
    "NoAcceptFromRevokedCheck",
    "NoticeRequestAction",
    "NoticeRequestInject",
    "OfflineFault",
    "Record",
    "RegionSpec",
    "RejectedCheck",
    "RejectedExpectation",
    "RevokeInject",
    "RotateKeyInject",
    "Scenario",
    "ScenarioError",
    "SearchAction",
    "SearchInject",
    "Seconds",
    "ServiceSpec",
    "ShedCheck",
    "SienaAction",
    "SienaInject",
    "Trigger",
    "ZeroLossCheck",
    "bureau_references",
    "load_scenario",
    "parse_duration",
    "parse_scenario",
    "scenario_json_schema",
]
