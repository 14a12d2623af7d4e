"""References inside a scenario: bureaus in the roster, inject names, times within the run."""

from __future__ import annotations

from typing import Any, get_args

from protocol import Region, default_roster
from protocol.network.roster import synthetic_roster
from scenarios.model.checks import (
    AboutAMessage,
    AcknowledgedCheck,
    BrokerRestartFault,
    CompromisedFault,
    CutFault,
    DegradeFault,
    DeliveredCheck,
    OfflineFault,
    WindowFault,
)
from scenarios.model.document import Scenario
from scenarios.model.injects import ForwardInject, SienaInject

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
        if isinstance(fault, WindowFault) and fault.window.bureau is not None:
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
        if isinstance(spec := expectation.spec, AboutAMessage):
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


def reference_problems(scenario: Scenario) -> list[tuple[tuple[Any, ...], str]]:
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
