"""The amqtt broker, started with a guard on CONNECT that its own plugins cannot give.

amqtt 0.12 publishes (and retains) a client's Last Will without the publish ACL check, and acts on
a CONNECT's client id before any authentication plugin runs: a clean-session CONNECT with another
client's id deletes that client's session and its queued messages even when the password is then
refused. So bureaunet starts amqtt through this module (``python -m broker.amqtt_guard -c CONFIG
--guard GUARD``), which checks each CONNECT as soon as it is read and refuses (CONNACK 5, not
authorised), before amqtt touches any session, a client that:

- has no username, or a client id other than its username (a bureau's client id is its id);
- asks for a Last Will on a topic its publish ACL does not allow (the same rules as its
  publishes), or a Will larger than the broker's message size limit.

Two more gaps are closed inside the broker process, where amqtt decides them:

- a PUBLISH larger than the broker's message size limit (amqtt has no such limit: it took and
  delivered 50 MB) is dropped and its connection closed, as Mosquitto does with
  ``message_size_limit``;
- retained messages go only to a client whose read ACL allows their topic. amqtt hands a
  connecting client the retained messages matching *any* session's subscriptions, so FR was
  handed a retained message on DE's inbox; the guard hands a session the retained matches of its
  own subscriptions, each checked against its read ACL.

Everything else is left to amqtt and its plugins (passwords, topic ACLs). The guard's settings
are a JSON file written by :func:`broker.config.write_amqtt_config`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from broker.security import topic_matches

__all__ = ["connect_refusal", "main", "readable", "topic_matches"]

_NOT_AUTHORISED = b"\x20\x02\x00\x05"
"""CONNACK, return code 5: not authorised (MQTT 3.1.1)."""
_log = logging.getLogger("bureaunet.amqtt_guard")


def connect_refusal(
    client_id: str | None,
    username: str | None,
    will: tuple[str, bytes] | None,
    publish_acl: Mapping[str, Sequence[str]],
    max_message_size: int,
) -> str | None:
    """Why a CONNECT must be refused, or ``None`` to let the broker decide.

    Args:
        client_id: The client id asked for.
        username: The username given.
        will: The Last Will's topic and message, if any.
        publish_acl: Each username's publish rules.
        max_message_size: The largest message the broker accepts.
    """
    if not username or client_id != username:
        return f"client id {client_id!r} is not the username {username!r}"
    if will is not None:
        topic, message = will
        if not any(topic_matches(topic, rule) for rule in publish_acl.get(username, ())):
            return f"{username} asks for a Last Will on {topic!r}, which it may not publish to"
        if len(message) > max_message_size:
            return f"{username} asks for a Last Will of {len(message)} bytes"
    return None


def readable(topic: str, username: str | None, read_acl: Mapping[str, Sequence[str]]) -> bool:
    """Whether ``username``'s read ACL lets it receive a message on ``topic``."""
    return bool(username) and any(
        topic_matches(topic, rule) for rule in read_acl.get(username or "", ())
    )


def _install(guard: Mapping[str, Any]) -> None:
    from amqtt.broker import Broker  # noqa: PLC0415 - only inside the broker process
    from amqtt.errors import AMQTTError  # noqa: PLC0415
    from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler  # noqa: PLC0415

    acl: dict[str, list[str]] = guard["publish_acl"]
    read_acl: dict[str, list[str]] = guard.get("read_acl", {})
    limit: int = guard["max_message_size"]
    read_connect = BrokerProtocolHandler.init_from_connect
    deliver = Broker._handle_message_delivery

    async def sized(self: Any, client_session: Any, handler: Any, wait_deliver: Any) -> bool:
        message = wait_deliver.result()
        if message is not None and len(message.data or b"") > limit:
            _log.warning(
                "PUBLISH of %d bytes from %s dropped and its connection closed (limit %d)",
                len(message.data),
                client_session.client_id,
                limit,
            )
            return False  # amqtt closes the connection, as for a PUBLISH it cannot accept
        return bool(await deliver(self, client_session, handler, wait_deliver))

    async def retained(self: Any, subscription: tuple[str, int], session: Any) -> None:
        topic_filter, qos = subscription
        handler = self._get_handler(session)
        own = {topic for topic, _qos in self._subscriptions_of(session)}
        if handler is None or topic_filter not in own:
            return  # another session's subscription: nothing of it is this session's
        tasks = [
            asyncio.ensure_future(
                handler.mqtt_publish(kept.topic, kept.data, min(qos, kept.qos or qos), retain=True)
            )
            for topic, kept in list(self._retained_messages.items())
            if self._matches(topic, topic_filter) and readable(topic, session.username, read_acl)
        ]
        if tasks:
            await asyncio.wait(tasks)

    def subscriptions_of(self: Any, session: Any) -> list[tuple[str, int]]:
        return [
            (topic, qos)
            for topic, entries in self._subscriptions.items()
            for (subscriber, qos) in entries
            if subscriber.client_id == session.client_id
        ]

    Broker._handle_message_delivery = sized
    Broker._publish_retained_messages_for_subscription = retained
    Broker._subscriptions_of = subscriptions_of

    async def guarded(reader: Any, writer: Any, plugins: Any, loop: Any = None) -> Any:
        handler, session = await read_connect(reader, writer, plugins, loop)
        will = (
            (session.will_topic or "", bytes(session.will_message or b""))
            if session.will_flag
            else None
        )
        why = connect_refusal(session.client_id, session.username, will, acl, limit)
        if why is not None:
            _log.warning("CONNECT refused: %s", why)
            writer.write(_NOT_AUTHORISED)
            await writer.drain()
            await writer.close()
            raise AMQTTError(why)  # the broker logs it and releases the connection
        return handler, session

    BrokerProtocolHandler.init_from_connect = staticmethod(guarded)


def main(argv: Sequence[str] | None = None) -> None:
    """Run amqtt's broker (its own command line) with the CONNECT guard installed."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "--guard" in args:
        at = args.index("--guard")
        guard = json.loads(Path(args[at + 1]).read_text(encoding="utf-8"))
        del args[at : at + 2]
        _install(guard)
    from amqtt.scripts import broker_script  # noqa: PLC0415 - only inside the broker process

    sys.argv = [sys.argv[0], *args]
    broker_script.main()


if __name__ == "__main__":
    main()
