"""Broker security generated from the roster: one credential per bureau and topic ACLs.

Rules, per bureau (``reach`` lists the inboxes the topology lets it publish to)::

    subscribe/read   bureaunet/v1/inbox/<own id>
                     bureaunet/v1/broadcast/all, bureaunet/v1/broadcast/<own region>
                     bureaunet/v1/presence/+, bureaunet/v1/crl
    publish/write    bureaunet/v1/presence/<own id>
                     bureaunet/v1/inbox/<id>: its own, and each id in reach (every bureau of the
                     roster when reach is None; never a wildcard)
                     bureaunet/v1/broadcast/all and bureaunet/v1/crl: the General Secretariat only
                     bureaunet/v1/broadcast/<region>: that region's regional bureaus only

Passwords are derived from each bureau's signing key with HKDF, so a bureau can compute its own
and nothing extra is stored; the broker only sees their hashes (PBKDF2-SHA512 in Mosquitto's
``$7$`` format, Argon2 for amqtt).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization

from protocol import Roster, topics
from protocol.security.pki import BureauIdentity
from protocol.security.primitives import hkdf_sha256

__all__ = [
    "TopicRules",
    "bureau_password",
    "mosquitto_password_hash",
    "topic_matches",
    "topic_rules",
]

_MOSQUITTO_ITERATIONS = 101  # what mosquitto_passwd 2.0 writes


@functools.lru_cache(maxsize=1 << 16)
def topic_matches(topic: str, pattern: str) -> bool:
    """Whether ``topic`` falls under an MQTT topic filter (``+`` one level, ``#`` the rest).

    A wildcard in the first level never matches a topic that starts with ``$`` (MQTT 3.1.1,
    4.7.2). Results are cached: brokers ask the same few thousand questions again and again.
    """
    if pattern == topic:
        return True
    if "+" not in pattern and "#" not in pattern:
        return False
    if topic.startswith("$") and not pattern.startswith("$"):
        return False
    levels, wanted = topic.split("/"), pattern.split("/")
    for index, part in enumerate(wanted):
        if part == "#":
            return True
        if index >= len(levels) or part not in ("+", levels[index]):
            return False
    return len(levels) == len(wanted)


def bureau_password(identity: BureauIdentity) -> str:
    """The bureau's broker password, derived from its private signing key (43 characters)."""
    raw = identity.signing_key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    secret = hkdf_sha256(raw, b"", b"bureaunet/v1\x00mqtt-password", 32)
    return base64.urlsafe_b64encode(secret).decode("ascii").rstrip("=")


def mosquitto_password_hash(password: str, salt: bytes | None = None) -> str:
    """A password hash in the format Mosquitto 2 reads (what ``mosquitto_passwd`` writes)."""
    salt = salt if salt is not None else os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, _MOSQUITTO_ITERATIONS)
    return "$7${}${}${}".format(
        _MOSQUITTO_ITERATIONS,
        base64.b64encode(salt).decode("ascii"),
        base64.b64encode(digest).decode("ascii"),
    )


@dataclass(frozen=True, slots=True)
class TopicRules:
    """What one bureau may read (subscribe to) and write (publish to)."""

    read: tuple[str, ...]
    write: tuple[str, ...]


def topic_rules(
    roster: Roster, reach: Mapping[str, Iterable[str]] | None = None
) -> dict[str, TopicRules]:
    """The ACL of every bureau of the roster.

    Args:
        roster: The bureaus.
        reach: For each bureau, the bureaus whose inbox it may publish to; ``None`` (or a bureau
            missing from the mapping) allows every inbox.
    """
    rules: dict[str, TopicRules] = {}
    everyone = [b.id for b in roster]
    for bureau in roster:
        read = [topics.inbox(bureau.id), topics.broadcast("all")]
        if bureau.region is not None:
            read.append(topics.broadcast(bureau.region))
        read += [f"{topics.PREFIX}/presence/+", topics.CRL]
        # its own inbox too: a bureau on a cluster probes its subscription through it; never an
        # inbox wildcard, which would let anyone fill the inboxes of bureaus that do not exist
        write = [topics.presence(bureau.id), topics.inbox(bureau.id)]
        peers = everyone if reach is None or bureau.id not in reach else reach[bureau.id]
        write += [topics.inbox(t) for t in peers if t != bureau.id]
        if bureau.role == "general-secretariat":
            write += [topics.broadcast("all"), topics.CRL]
        if bureau.role == "regional-bureau" and bureau.region is not None:
            write.append(topics.broadcast(bureau.region))
        rules[bureau.id] = TopicRules(tuple(read), tuple(write))
    return rules
