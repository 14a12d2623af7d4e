"""The scenario format as a JSON Schema, every property described, for editors and tools."""

from __future__ import annotations

from typing import Any

from protocol.schemas.export import standard_keywords
from scenarios.model.document import Scenario

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
    "duplicate": "The share of messages that arrive twice (the copy later), from 0 to 1.",
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
    "memory": "What an offline bureau remembers when it returns: kept, journal or none.",
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
