"""The AsyncAPI 3.0 document of bureaunet's MQTT interface, generated from the code.

Channels come from :mod:`protocol.network.topics`, message payload schemas from the pydantic models,
parameters from the roster and regions; nothing is written by hand, so the document cannot drift
from the code. On the wire every inbox and broadcast payload is a sealed envelope (binary, see
:mod:`protocol.security.envelope`); the payload schemas describe the message inside, once opened.
"""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from protocol.messages.models import MESSAGE_KINDS, SCHEMA_VERSION
from protocol.network.roster import REGIONS, Roster, default_roster
from protocol.network.topics import CRL, PREFIX

__all__ = ["asyncapi_document"]

_REF = "#/components/schemas/{model}"


def _asyncapi_schema(node: Any) -> Any:
    """Adapt pydantic's JSON Schema to AsyncAPI's schema object (``discriminator`` is a name)."""
    if isinstance(node, dict):
        out = {k: _asyncapi_schema(v) for k, v in node.items()}
        discriminator = out.get("discriminator")
        if isinstance(discriminator, dict):
            out["discriminator"] = discriminator.get("propertyName", "")
        return out
    if isinstance(node, list):
        return [_asyncapi_schema(v) for v in node]
    return node


def _message_name(kind: str) -> str:
    return "".join(part.capitalize() for part in kind.split("-"))


def asyncapi_document(roster: Roster | None = None) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document (a dictionary ready for JSON or YAML)."""
    roster = roster or default_roster()
    models = list(MESSAGE_KINDS.values())
    refs, defs = models_json_schema([(m, "validation") for m in models], ref_template=_REF)
    schemas = _asyncapi_schema(defs.get("$defs", {}))
    messages: dict[str, Any] = {}
    for kind, model in MESSAGE_KINDS.items():
        name = _message_name(kind)
        messages[name] = {
            "name": kind,
            "title": model.__name__,
            "summary": (model.__doc__ or "").strip().splitlines()[0],
            "contentType": "application/json",
            "payload": _asyncapi_schema(refs[(model, "validation")]),
            "x-bureaunet-wire": "sealed in the bureaunet envelope v1 (binary) on the wire",
        }
    messages["PresenceStatus"] = {
        "name": "presence-status",
        "summary": "Retained birth on connect; the last will publishes death.",
        "contentType": "application/json",
        "payload": {
            "type": "object",
            "required": ["bureau", "status"],
            "properties": {
                "bureau": {"type": "string"},
                "status": {"type": "string", "enum": ["birth", "death"]},
            },
        },
    }
    messages["RevocationList"] = {
        "name": "revocation-list",
        "summary": "The General Secretariat's X.509 CRL (DER), retained; the newest wins.",
        "contentType": "application/pkix-crl",
        "payload": {"type": "string", "format": "binary"},
    }
    envelope_messages = [
        {"$ref": f"#/components/messages/{_message_name(k)}"} for k in MESSAGE_KINDS
    ]
    bureau_ids = sorted(roster.ids)
    qos1 = {"mqtt": {"qos": 1, "retain": False, "bindingVersion": "0.2.0"}}
    retained = {"mqtt": {"qos": 1, "retain": True, "bindingVersion": "0.2.0"}}
    channels = {
        "inbox": {
            "address": f"{PREFIX}/inbox/{{bureau_id}}",
            "title": "A bureau's inbox",
            "description": "Only its owner may subscribe; senders and relays publish sealed "
            "envelopes at QoS 1.",
            "parameters": {
                "bureau_id": {"description": "The receiving bureau.", "enum": bureau_ids}
            },
            "messages": {
                _message_name(k): ref
                for k, ref in zip(MESSAGE_KINDS, envelope_messages, strict=True)
            },
        },
        "broadcast": {
            "address": f"{PREFIX}/broadcast/{{scope}}",
            "title": "Broadcast to all, or to one region",
            "description": "Only the General Secretariat publishes to 'all'; only a region's "
            "regional bureaus publish to that region.",
            "parameters": {
                "scope": {"description": "'all' or a region.", "enum": ["all", *REGIONS]}
            },
            "messages": {
                _message_name(k): ref
                for k, ref in zip(MESSAGE_KINDS, envelope_messages, strict=True)
            },
        },
        "presence": {
            "address": f"{PREFIX}/presence/{{bureau_id}}",
            "title": "Presence of a bureau",
            "parameters": {"bureau_id": {"description": "The bureau.", "enum": bureau_ids}},
            "messages": {"PresenceStatus": {"$ref": "#/components/messages/PresenceStatus"}},
        },
        "crl": {
            "address": CRL,
            "title": "Revocation list",
            "messages": {"RevocationList": {"$ref": "#/components/messages/RevocationList"}},
        },
    }

    def operation(
        action: str, channel: str, summary: str, bindings: dict[str, Any], names: list[str]
    ) -> dict[str, Any]:
        return {
            "action": action,
            "channel": {"$ref": f"#/channels/{channel}"},
            "summary": summary,
            "messages": [{"$ref": f"#/channels/{channel}/messages/{n}"} for n in names],
            "bindings": bindings,
        }

    every = [_message_name(k) for k in MESSAGE_KINDS]
    ncb_sends = [
        _message_name(k)
        for k in (
            "notice-request",
            "diffusion",
            "case-message",
            "search-request",
            "search-result",
            "acknowledgement",
        )
    ]
    gs_sends = [
        _message_name(k)
        for k in (
            "notice-published",
            "notice-updated",
            "notice-cancelled",
            "notice-refused",
            "search-result",
            "acknowledgement",
            "diffusion",
            "case-message",
        )
    ]
    operations = {
        "ncbSend": operation(
            "send",
            "inbox",
            "An NCB sends to a bureau (directly, or to the next hop of its topology).",
            qos1,
            ncb_sends,
        ),
        "generalSecretariatSend": operation(
            "send",
            "inbox",
            "The General Secretariat publishes notices, refusals and answers.",
            qos1,
            gs_sends,
        ),
        "relayForward": operation(
            "send",
            "inbox",
            "A regional bureau or the hub forwards a sealed envelope unchanged (blind relay).",
            qos1,
            every,
        ),
        "bureauReceive": operation(
            "receive", "inbox", "Every bureau reads its own inbox.", qos1, every
        ),
        "generalSecretariatBroadcast": operation(
            "send",
            "broadcast",
            "Broadcast to all member countries.",
            qos1,
            [_message_name("notice-published"), _message_name("notice-cancelled")],
        ),
        "bureauAnnouncePresence": operation(
            "send",
            "presence",
            "Retained birth; death as the last will.",
            retained,
            ["PresenceStatus"],
        ),
        "bureauWatchPresence": operation(
            "receive", "presence", "Who is online.", retained, ["PresenceStatus"]
        ),
        "generalSecretariatPublishRevocations": operation(
            "send",
            "crl",
            "The General Secretariat publishes its revocation list.",
            retained,
            ["RevocationList"],
        ),
        "bureauReceiveRevocations": operation(
            "receive", "crl", "Bureaus apply the newest list.", retained, ["RevocationList"]
        ),
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "bureaunet",
            "version": SCHEMA_VERSION,
            "description": "Signed, encrypted message exchange between police bureaus over "
            "MQTT 3.1.1. Generated from the code by `bureaunet schema export`.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "embedded": {
                "host": "127.0.0.1:{port}",
                "protocol": "mqtt",
                "protocolVersion": "3.1.1",
                "description": "The broker bureaunet starts for a run (Mosquitto or amqtt).",
                "variables": {"port": {"default": "1883", "description": "A free loopback port."}},
                "bindings": {
                    "mqtt": {
                        "cleanSession": False,
                        "keepAlive": 30,
                        "lastWill": {
                            "topic": f"{PREFIX}/presence/{{bureau_id}}",
                            "qos": 1,
                            "message": '{"status": "death"}',
                            "retain": True,
                        },
                        "bindingVersion": "0.2.0",
                    }
                },
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }
