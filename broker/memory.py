"""An MQTT broker in memory: the semantics bureaunet relies on, for simulation runs.

Theory of operation. A :class:`MemoryBroker` keeps, per client id, a session: its subscriptions
and a queue of messages not yet taken by the client. It implements what the bureaus rely on from
Mosquitto, and nothing more:

- **Credentials and ACLs**: with a :class:`~broker.config.BrokerSecurity`, a connection needs a
  known username and its password, and the client id is the username (Mosquitto's
  ``use_username_as_clientid``). A publish outside the bureau's write rules is dropped (as MQTT
  3.1.1 brokers do: the client cannot be told); a message is delivered only on topics the
  subscriber may read (Mosquitto grants a forbidden subscription and delivers nothing).
- **Topic routing** with ``+`` and ``#`` filters.
- **QoS 1, at least once**: a message stays in the session's queue until the client has taken
  it; a persistent session (``clean_session=False``) keeps its subscriptions and queue while the
  client is away, and hands the queue over at the next connection.
- **Retained messages**, set and cleared (an empty retained payload deletes), delivered with the
  retain flag to each new matching subscription.
- **Last Will**, published when a client goes away without disconnecting.
- **Limits**: a message larger than ``max_message_size`` is dropped, and a session's queue holds
  at most ``max_queued_bytes`` (the newest message is dropped beyond it), both counted.

Everything happens at the instant of the call: delivery is synchronous and deterministic, so a
simulation driven by a virtual clock gives the same result every time. The async client side is
:class:`bureaus.transport.MemoryTransport`; the same conformance tests run against it and against
Mosquitto (``tests/test_broker_conformance.py``).
"""

from __future__ import annotations

import hmac
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from broker.config import MAX_MESSAGE_SIZE, MAX_QUEUED_BYTES, BrokerSecurity
from broker.errors import BrokerAuthError, BrokerUnreachableError
from broker.security import topic_matches

__all__ = ["Delivery", "MemoryBroker", "Session"]

REFUSED = 0x80
"""The SUBACK return code of a refused subscription (MQTT 3.1.1)."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message as a subscriber receives it."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False


@dataclass(eq=False)
class Session:
    """A client id's state at the broker: subscriptions, queued messages, the live connection."""

    client_id: str
    username: str | None
    persistent: bool
    subscriptions: dict[str, int] = field(default_factory=dict)
    queue: deque[Delivery] = field(default_factory=deque)
    queued_bytes: int = 0
    will: Delivery | None = None
    wake: Callable[[], None] | None = None
    """Called when something is queued and a connection is listening."""
    connection: object | None = None
    """The connection that holds the session now (``None``: nobody is connected)."""

    def take(self) -> Delivery | None:
        """The oldest queued message, handed to the client (its acknowledgement)."""
        if not self.queue:
            return None
        delivery = self.queue.popleft()
        self.queued_bytes -= len(delivery.payload)
        return delivery


class MemoryBroker:
    """Sessions, subscriptions, retained messages and ACLs, in memory.

    Args:
        security: Credentials and topic rules; ``None`` allows anonymous clients and every topic.
        max_message_size: Larger publishes are dropped.
        max_queued_bytes: A session's queue bound.
    """

    kind = "memory"
    version = "1"
    host = "memory"
    port = 0

    def __init__(
        self,
        security: BrokerSecurity | None = None,
        *,
        max_message_size: int = MAX_MESSAGE_SIZE,
        max_queued_bytes: int = MAX_QUEUED_BYTES,
    ) -> None:
        self.security = security
        self.max_message_size = max_message_size
        self.max_queued_bytes = max_queued_bytes
        self.sessions: dict[str, Session] = {}
        self.retained: dict[str, bytes] = {}
        self._exact: dict[str, dict[str, Session]] = {}
        """Topic → the sessions subscribed to exactly it, in the order they subscribed."""
        self._wild: dict[str, Session] = {}
        """Sessions with a wildcard subscription, by client id."""
        self._may_cache: dict[tuple[str | None, str, bool], bool] = {}
        self.counters: Counter[str] = Counter()
        self.running = True

    # --- connections -------------------------------------------------------------------------

    def connect(
        self,
        connection: object,
        client_id: str,
        *,
        username: str | None,
        password: str | None,
        clean_session: bool,
        will: Delivery | None = None,
    ) -> Session:
        """Open a connection: check the credentials, take over or create the session.

        Raises:
            BrokerUnreachableError: The broker is stopped.
            BrokerAuthError: Anonymous, unknown username, or wrong password.
        """
        if not self.running:
            raise BrokerUnreachableError("the in-memory broker is stopped")
        if self.security is not None:
            known = self.security.passwords.get(username) if username else None
            if (
                known is None
                or password is None
                or not hmac.compare_digest(known.encode(), password.encode())
            ):
                self.counters["refused:credentials"] += 1
                raise BrokerAuthError(
                    f"the in-memory broker refused the credentials of {username or 'anonymous'}"
                )
            client_id = username or ""  # use_username_as_clientid (never empty: checked above)
        session = self.sessions.get(client_id)
        if session is not None and session.connection is not None:
            self._drop(session, abnormal=False)  # a newer connection with the same id wins
        if session is None or clean_session or not session.persistent:
            if session is not None:
                self._forget(session)
            session = Session(client_id, username, persistent=not clean_session)
            self.sessions[client_id] = session
        session.persistent = not clean_session
        session.connection = connection
        session.will = will
        self.counters["connections"] += 1
        return session

    def disconnect(self, session: Session, *, abnormal: bool = False) -> None:
        """Close the session's connection; an abnormal end publishes its Last Will."""
        self._drop(session, abnormal=abnormal)

    def _drop(self, session: Session, *, abnormal: bool) -> None:
        will, wake = session.will, session.wake
        session.connection = None
        session.wake = None
        if wake is not None:
            wake()  # the connection's reader sees that it has ended
        session.will = None
        if not session.persistent and self.sessions.get(session.client_id) is session:
            self._forget(session)
            del self.sessions[session.client_id]
        if abnormal and will is not None:
            self._route(session.username, will)

    def restart(self, *, persistence: bool = True) -> list[Session]:
        """Drop every connection at once (a broker crash and restart).

        With ``persistence`` (a broker that keeps its state on disk, as Mosquitto's
        ``persistence true``), persistent sessions survive with their subscriptions and queued
        messages, and retained messages stay. Without it, the restarted broker remembers
        nothing: every session, queued message and retained message is gone, and what senders
        had handed to the broker is theirs to send again.

        Returns:
            The sessions whose connections were dropped (their clients see the connection end).
        """
        dropped = [s for s in self.sessions.values() if s.connection is not None]
        for session in dropped:
            wake = session.wake
            session.connection = None
            session.wake = None
            if wake is not None:
                wake()
            session.will = None  # a killed broker sends no wills
        for client_id in [
            c for c, s in self.sessions.items() if not (s.persistent and persistence)
        ]:
            self._forget(self.sessions.pop(client_id))
        if not persistence:
            self.retained.clear()
        return dropped

    def _forget(self, session: Session) -> None:
        """Drop a session's subscriptions from the routing indexes."""
        for pattern in session.subscriptions:
            self._exact.get(pattern, {}).pop(session.client_id, None)
        if self._wild.get(session.client_id) is session:
            del self._wild[session.client_id]

    # --- topics ------------------------------------------------------------------------------

    def _may(self, username: str | None, topic: str, *, write: bool) -> bool:
        if self.security is None:
            return True
        key = (username, topic, write)
        known = self._may_cache.get(key)
        if known is not None:
            return known
        rules = self.security.rules.get(username or "")
        allowed = rules is not None and rules.allows(topic, write=write)
        if len(self._may_cache) < 1 << 20:
            self._may_cache[key] = allowed
        return allowed

    def subscribe(self, session: Session, wanted: list[tuple[str, int]]) -> list[int]:
        """Subscribe; answer one SUBACK code per filter and deliver the retained matches."""
        codes: list[int] = []
        for pattern, qos in wanted:
            if not pattern or "#" in pattern[:-1] or "\x00" in pattern:
                codes.append(REFUSED)
                continue
            session.subscriptions[pattern] = min(qos, 1)
            if "+" in pattern or "#" in pattern:
                self._wild[session.client_id] = session
            else:
                self._exact.setdefault(pattern, {})[session.client_id] = session
            codes.append(min(qos, 1))
            for topic in sorted(self.retained):
                # a retained message goes only where the reader's ACL lets it read, as any
                # live one (Mosquitto checks the read ACL for retained messages as well)
                if topic_matches(topic, pattern) and self._may(
                    session.username, topic, write=False
                ):
                    self._enqueue(session, Delivery(topic, self.retained[topic], 1, retain=True))
        return codes

    def unsubscribe(self, session: Session, pattern: str) -> None:
        """Forget one subscription."""
        session.subscriptions.pop(pattern, None)
        self._exact.get(pattern, {}).pop(session.client_id, None)

    def publish(
        self, session: Session, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> None:
        """Route a message from a connected client (the PUBACK is this call returning)."""
        if len(payload) > self.max_message_size:
            self.counters["dropped:too_large"] += 1
            return
        if "+" in topic or "#" in topic or not topic:
            self.counters["dropped:bad_topic"] += 1
            return
        if not self._may(session.username, topic, write=True):
            self.counters["dropped:acl"] += 1
            return
        if retain:
            if payload:
                self.retained[topic] = payload
            else:
                self.retained.pop(topic, None)
        self._route(session.username, Delivery(topic, payload, min(qos, 1)))

    def _route(self, username: str | None, delivery: Delivery) -> None:
        if not self._may(username, delivery.topic, write=True):
            self.counters["dropped:acl"] += 1
            return
        self.counters["published"] += 1
        topic = delivery.topic
        matched = dict(self._exact.get(topic, {}))
        for client_id, session in self._wild.items():
            if client_id not in matched and any(
                topic_matches(topic, p) for p in session.subscriptions
            ):
                matched[client_id] = session
        for session in matched.values():
            if not self._may(session.username, delivery.topic, write=False):
                self.counters["dropped:not_readable"] += 1
                continue
            self._enqueue(session, Delivery(delivery.topic, delivery.payload, delivery.qos))

    def _enqueue(self, session: Session, delivery: Delivery) -> None:
        if session.queued_bytes + len(delivery.payload) > self.max_queued_bytes:
            self.counters["dropped:queue_full"] += 1
            return
        session.queue.append(delivery)
        session.queued_bytes += len(delivery.payload)
        if session.wake is not None:
            session.wake()
