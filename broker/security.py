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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import overload

from cryptography.hazmat.primitives import serialization

from protocol import Roster, topics
from protocol.security.pki import BureauIdentity
from protocol.security.primitives import hkdf_sha256

__all__ = [
    "SharedTopics",
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
    write: Sequence[str]
    """A tuple, or for the usual case of every inbox of the roster a :class:`SharedTopics`: the
    same table for every bureau, so that N bureaus hold N small lists, not N times N topics."""

    def allows(self, topic: str, *, write: bool) -> bool:
        """Whether a topic is readable (a subscription filter) or writable by this bureau."""
        patterns = self.write if write else self.read
        if isinstance(patterns, SharedTopics):
            return patterns.matches(topic)
        return any(topic_matches(topic, pattern) for pattern in patterns)


class SharedTopics(Sequence[str]):
    """A bureau's own topics followed by a table of topics shared with other bureaus.

    Reads as one sequence (ACL files and broker configurations list it in full); membership of a
    plain topic is a set lookup.
    """

    __slots__ = ("_own", "_shared", "_shared_set")

    def __init__(
        self, own: tuple[str, ...], shared: tuple[str, ...], shared_set: frozenset[str]
    ) -> None:
        """``shared`` (plain topics, no wildcards) and its set are the table shared by reference."""
        self._own = own
        self._shared = shared
        self._shared_set = shared_set

    def __len__(self) -> int:
        return len(self._own) + len(self._shared)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return tuple(self)[index]
        own = len(self._own)
        if -len(self) <= index < 0:
            index += len(self)
        return self._own[index] if index < own else self._shared[index - own]

    def __iter__(self) -> Iterator[str]:
        yield from self._own
        yield from self._shared

    def matches(self, topic: str) -> bool:
        """Whether a topic falls under one of these (the shared table holds plain topics only)."""
        return topic in self._shared_set or any(topic_matches(topic, p) for p in self._own)

    def __contains__(self, topic: object) -> bool:
        return topic in self._shared_set or topic in self._own

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return tuple(self) == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"SharedTopics({len(self._own)} own + {len(self._shared)} shared)"


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
    inboxes = tuple(topics.inbox(b) for b in everyone)  # one table for every bureau that may
    inbox_set = frozenset(inboxes)  # write to every inbox (the usual case)
    for bureau in roster:
        read = [topics.inbox(bureau.id), topics.broadcast("all")]
        if bureau.region is not None:
            read.append(topics.broadcast(bureau.region))
        read += [f"{topics.PREFIX}/presence/+", topics.CRL]
        # its own inbox too: a bureau on a cluster probes its subscription through it; never an
        # inbox wildcard, which would let anyone fill the inboxes of bureaus that do not exist
        extra = []
        if bureau.role == "general-secretariat":
            extra += [topics.broadcast("all"), topics.CRL]
        if bureau.role == "regional-bureau" and bureau.region is not None:
            extra.append(topics.broadcast(bureau.region))
        if reach is None or bureau.id not in reach:
            # every inbox of the roster, its own too (a bureau on a cluster probes its own
            # subscription through it); never an inbox wildcard, which would let anyone fill the
            # inboxes of bureaus that do not exist
            own = (topics.presence(bureau.id), *extra)
            rules[bureau.id] = TopicRules(tuple(read), SharedTopics(own, inboxes, inbox_set))
            continue
        write = [topics.presence(bureau.id), topics.inbox(bureau.id)]
        write += [topics.inbox(t) for t in reach[bureau.id] if t != bureau.id]
        rules[bureau.id] = TopicRules(tuple(read), (*write, *extra))
    return rules
