"""The AsyncAPI 3.0 document of bureaunet's MQTT interface, generated from the code.

Channels come from :mod:`protocol.network.topics`, the opened messages' schemas from the pydantic
models (published as ``validate`` enforces them, see :mod:`protocol.schemas.export`), parameters
from the roster. It describes the wire as it is:

* an inbox or broadcast message is a sealed envelope, binary
  (``application/vnd.bureaunet.envelope``, framed as :mod:`protocol.security.envelope` lays it
  out); each message names, in ``x-bureaunet-opened``, the schema of the JSON message inside;
* presence is JSON, ``{"bureau", "status"}``, retained, and the Last Will is the same with
  ``death``; the revocation list is DER;
* the operations are what bureaus do: each reads its own inbox, ``broadcast/all`` and the
  revocation list (the subscriptions a bureau makes, and no other), and sends what its role may.
"""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from protocol.messages.models import MESSAGE_KINDS, SCHEMA_VERSION
from protocol.network.roster import Roster, default_roster
from protocol.network.topics import CRL, PREFIX, presence_payload
from protocol.schemas.export import published
from protocol.security.envelope import MAX_ENVELOPE_SIZE, SUITE, VERSION

__all__ = ["asyncapi_document"]

_REF = "#/components/schemas/{model}"


ENVELOPE_TYPE = "application/vnd.bureaunet.envelope"
"""The media type of a sealed envelope on the wire."""
_FRAME = (
    "frame = version:u8 | suite:u8 | header_len:u32 | header | ct_len:u32 | ct | signature:64; "
    "header = message_id:16 | run:16 | kind:u8 | priority:u8 | schema:u8.u8 | "
    "created_at_ms:i64 | expires_at_ms:i64 | sender:lp8 | sender_signing_kid:8 | "
    "sender_encryption_kid:8 | salt:16 | nonce:12 | key_commitment:32 | content_digest:32 | "
    "n:u16 | n * (recipient:lp8 | recipient_kid:8 | wrapped_secret:40). Big-endian; lp8 is a "
    "length byte and that many ASCII bytes. ct is the AES-256-GCM encryption of the message's "
    "JSON (the schema named by the message's x-bureaunet-opened); the Ed25519 signature covers "
    "every byte before it."
)


_GS_SENDS = (
    "notice-published",
    "notice-updated",
    "notice-cancelled",
    "notice-refused",
    "search-result",
    "acknowledgement",
    "diffusion",
    "case-message",
)
"""What the General Secretariat sends (to an inbox, or broadcast)."""


def _message_name(kind: str) -> str:
    return "".join(part.capitalize() for part in kind.split("-"))


def asyncapi_document(roster: Roster | None = None) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document (a dictionary ready for JSON or YAML)."""
    roster = roster or default_roster()
    models = list(MESSAGE_KINDS.values())
    refs, defs = models_json_schema([(m, "validation") for m in models], ref_template=_REF)
    schemas: dict[str, Any] = published(
        dict(defs.get("$defs", {})), sorted(roster.ids), asyncapi=True
    )
    schemas["Envelope"] = {
        "type": "string",
        "format": "binary",
        "contentMediaType": ENVELOPE_TYPE,
        "maxLength": MAX_ENVELOPE_SIZE,
        "description": f"A sealed envelope, version {VERSION}, suite {SUITE}: {_FRAME}",
    }
    messages: dict[str, Any] = {}
    for kind, model in MESSAGE_KINDS.items():
        name = _message_name(kind)
        messages[name] = {
            "name": kind,
            "title": f"{model.__name__} (sealed)",
            "summary": (model.__doc__ or "").strip().splitlines()[0],
            "contentType": ENVELOPE_TYPE,
            "payload": {"$ref": "#/components/schemas/Envelope"},
            "x-bureaunet-opened": refs[(model, "validation")],
        }
    messages["PresenceStatus"] = {
        "name": "presence-status",
        "summary": "Retained birth on connect; the Last Will publishes the same with death.",
        "contentType": "application/json",
        "payload": {
            "title": "PresenceStatus",
            "type": "object",
            "additionalProperties": False,
            "required": ["bureau", "status"],
            "properties": {
                "bureau": {
                    "title": "PresentBureau",
                    "type": "string",
                    "enum": sorted(roster.ids),
                    "description": "The bureau whose presence this is.",
                },
                "status": {
                    "title": "PresenceState",
                    "type": "string",
                    "enum": ["birth", "death"],
                    "description": "birth: online; death: gone (the Last Will).",
                },
            },
        },
    }
    messages["RevocationList"] = {
        "name": "revocation-list",
        "summary": "The General Secretariat's X.509 CRL (DER), retained; the newest wins.",
        "contentType": "application/pkix-crl",
        "payload": {
            "title": "RevocationListDer",
            "type": "string",
            "format": "binary",
            "contentMediaType": "application/pkix-crl",
        },
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
            "address": f"{PREFIX}/broadcast/all",
            "title": "Broadcast to every bureau",
            "description": "Only the General Secretariat publishes here: one envelope sealed "
            "for many recipients, each of which opens its own entry.",
            "messages": {
                _message_name(k): ref
                for k, ref in zip(MESSAGE_KINDS, envelope_messages, strict=True)
                if k in _GS_SENDS
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
    gs_sends = [_message_name(k) for k in _GS_SENDS]
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
            "The General Secretariat sends one envelope to many bureaus at once.",
            qos1,
            gs_sends,
        ),
        "bureauReceiveBroadcast": operation(
            "receive",
            "broadcast",
            "Every bureau reads what the General Secretariat broadcasts.",
            qos1,
            gs_sends,
        ),
        "bureauAnnouncePresence": operation(
            "send",
            "presence",
            "Retained birth; death as the last will.",
            retained,
            ["PresenceStatus"],
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
        "defaultContentType": ENVELOPE_TYPE,
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
                            "message": presence_payload("FR", "death")
                            .decode()
                            .replace('"FR"', '"{bureau_id}"'),
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
