"""What a run produced, and the names a scenario uses for groups of bureaus.

Shared by the runner, the worker processes, metrics, reports and the exercise controls (none of
which need the runner itself).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bureaus import Event
from protocol import Roster
from protocol.network.routing import Topology
from scenarios.errors import ScenarioLayerError
from scenarios.exercise.deadlines import Deadline
from scenarios.model import Scenario
from scenarios.reports.evidence import ChainedLog
from scenarios.reports.running import RunningFigures

__all__ = ["RunResult", "ScenarioRunError", "resolve"]


class ScenarioRunError(ScenarioLayerError):
    """A scenario that cannot run here (unknown bureau, unreachable broker ...): one line."""


@dataclass
class RunResult:
    """What a run produced: the raw events and what the runner knows about them."""

    scenario: Scenario
    topology: Topology
    seed: int
    roster: Roster
    broker_kind: str
    broker_version: str
    events: list[Event]
    counters: dict[str, dict[str, int]]
    inject_ids: dict[str, str] = field(default_factory=dict)
    """Inject name → the id of the message whose delivery matters (publication for requests)."""
    followed: set[str] = field(default_factory=set)
    """Every message id a scripted inject sent or waits for, each known before it is sent (a
    lean run keeps their traffic)."""
    inject_times: dict[str, float] = field(default_factory=dict)
    inject_senders: dict[str, str] = field(default_factory=dict)
    """Inject name → the sender of that message (never expected to receive it)."""
    revoked_at: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0
    signing_key: Ed25519PrivateKey | None = None
    """The run's General Secretariat root key, which signs the event log."""
    signing_certificate: x509.Certificate | None = None
    deadlines: list[Deadline] = field(default_factory=list)
    """Every response deadline opened during the run, with how it ended."""
    clock: str = "wall"
    """``wall`` (live) or ``virtual`` (simulated)."""
    crypto: str = "real"
    """``real`` or ``modelled`` cryptography (``RunOptions.crypto``)."""
    owed_at_end: set[tuple[str, str]] = field(default_factory=set)
    """(message id, bureau) deliveries a sender was still working on when the run ended (resending
    to a bureau that was away, or cut short by the controller): not lost, unfinished."""
    figures: RunningFigures | None = None
    """A lean run's figures, kept as it went (its ``events`` are then only the notable ones)."""
    streamed: ChainedLog | None = None
    """A lean run's complete event log, written as it went."""


def resolve(group: str | list[str], roster: Roster, *, exclude: str | None = None) -> list[str]:
    """Expand a group (``all-ncbs``, ``region:africa``, an id, or a list of those).

    Raises:
        ScenarioRunError: A bureau or region not in the roster.
    """
    items = group if isinstance(group, list) else [group]
    out: list[str] = []
    for item in items:
        if item == "all-ncbs":
            out += [b.id for b in roster.ncbs()]
        elif item.startswith("region:"):
            region = item.removeprefix("region:")
            members = [b.id for b in roster.ncbs() if b.region == region]
            if not members:
                raise ScenarioRunError(f"no NCB of region {region!r} in the roster")
            out += members
        elif item in roster:
            out.append(item)
        else:
            raise ScenarioRunError(f"bureau {item!r} is not in the roster")
    return [b for b in dict.fromkeys(out) if b != exclude]
