"""Brokers hardened by the configuration bureaunet generates, tried with raw clients.

A member's own credential is misused: a Last Will on topics its ACL forbids, another bureau's
client id, a publish larger than any envelope, a queue for an offline bureau that would take the
broker's memory, writes to the inboxes of bureaus that do not exist.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress

import pytest

from broker import BrokerError, BrokerSecurity, EmbeddedBroker, topic_rules
from broker.amqtt_guard import topic_matches
from broker.cluster import NatsCluster
from broker.config import MAX_MESSAGE_SIZE, MAX_QUEUED_BYTES
from broker.embedded import free_ports
from protocol import default_roster, topics
from tests.conftest import connected, drain
from tests.raw_mqtt import connect_packet, drop, raw_connect

FORBIDDEN_WILLS = [topics.CRL, topics.broadcast("all"), topics.presence("DE")]


@pytest.mark.parametrize("will_topic", FORBIDDEN_WILLS)
async def test_last_will_on_a_forbidden_topic_is_never_published(
    secured_broker: EmbeddedBroker, security: BrokerSecurity, will_topic: str
) -> None:
    async with connected(secured_broker, security, "DE") as listener:
        await listener.subscribe([(will_topic, 1)])
        await drain(listener, 0.3)  # what was there before (a retained birth)
        packet = connect_packet(
            "FR",
            "FR",
            security.passwords["FR"],
            will_topic=will_topic,
            will_payload=b"forged by FR's will",
            will_retain=True,
        )
        sock, code = await asyncio.to_thread(
            raw_connect, secured_broker.host, secured_broker.port, packet
        )
        await asyncio.to_thread(drop, sock)
        got = await drain(listener, 1.0)
    assert [m for m in got if m.payload == b"forged by FR's will"] == []
    # nor retained for whoever subscribes later
    async with connected(secured_broker, security, "DE") as later:
        await later.subscribe([(will_topic, 1)])
        retained = await drain(later, 0.6)
    assert [m for m in retained if m.payload == b"forged by FR's will"] == []
    if secured_broker.kind == "amqtt":
        assert code != 0  # amqtt cannot check a Will later: such a connection is refused


async def test_a_will_on_its_own_presence_is_still_allowed(
    secured_broker: EmbeddedBroker, security: BrokerSecurity
) -> None:
    packet = connect_packet(
        "FR", "FR", security.passwords["FR"], will_topic=topics.presence("FR"), will_payload=b"{}"
    )
    sock, code = await asyncio.to_thread(
        raw_connect, secured_broker.host, secured_broker.port, packet
    )
    sock.close()
    assert code == 0


async def test_another_bureaus_client_id_is_refused_or_harmless(
    secured_broker: EmbeddedBroker, security: BrokerSecurity
) -> None:
    # FR's credential with DE's client id: amqtt refuses it (the guard); Mosquitto uses the
    # username as the client id, so it never touches DE's session
    packet = connect_packet("DE", "FR", security.passwords["FR"])
    sock, code = await asyncio.to_thread(
        raw_connect, secured_broker.host, secured_broker.port, packet
    )
    sock.close()
    if secured_broker.kind == "amqtt":
        assert code != 0


async def test_publish_larger_than_an_envelope_is_refused_by_the_broker(
    mosquitto: EmbeddedBroker, security: BrokerSecurity
) -> None:
    async with connected(mosquitto, security, "DE") as de:
        await de.subscribe([(topics.inbox("DE"), 1)])
        for size in (MAX_MESSAGE_SIZE + 1, 4 * MAX_MESSAGE_SIZE):
            with suppress(BrokerError, TimeoutError):  # the broker may end the connection
                async with connected(mosquitto, security, "FR") as fr:
                    await asyncio.wait_for(fr.publish(topics.inbox("DE"), bytes(size)), 3)
        async with connected(mosquitto, security, "FR") as fr:
            await fr.publish(topics.inbox("DE"), bytes(MAX_MESSAGE_SIZE), qos=1)  # the cap itself
        got = await drain(de, 3.0)  # ample for one envelope on loopback, even on a busy host
    assert [len(m.payload) for m in got] == [MAX_MESSAGE_SIZE]


async def test_queue_for_an_offline_bureau_is_bounded(
    mosquitto: EmbeddedBroker, security: BrokerSecurity
) -> None:
    async with connected(mosquitto, security, "KE", clean_session=False) as ke:
        await ke.subscribe([(topics.inbox("KE"), 1)])
    chunk = 512 * 1024
    count = MAX_QUEUED_BYTES // chunk + 8  # 4 MiB more than the bound
    async with connected(mosquitto, security, "FR") as fr:
        for n in range(count):
            await fr.publish(topics.inbox("KE"), bytes([n % 256]) * chunk, qos=1)
    async with connected(mosquitto, security, "KE", clean_session=False) as ke:
        got = await drain(ke, 2.0)
    queued = sum(len(m.payload) for m in got)
    assert 0 < queued <= MAX_QUEUED_BYTES + chunk


def test_no_write_rule_reaches_an_inbox_outside_the_roster() -> None:
    roster = default_roster()
    nowhere: dict[str, list[str]] = {b.id: [] for b in roster}
    for reach in (None, nowhere):
        rules = topic_rules(roster, reach)
        for bureau_rules in rules.values():
            for rule in bureau_rules.write:
                assert "+" not in rule
                assert "#" not in rule
                assert not topic_matches(topics.inbox("QQ"), rule)


def test_topic_filters_match_as_mqtt_says() -> None:
    assert topic_matches("bureaunet/v1/presence/FR", "bureaunet/v1/presence/+")
    assert topic_matches("bureaunet/v1/crl", "bureaunet/#")
    assert not topic_matches("bureaunet/v1/crl", "bureaunet/v1/presence/+")
    assert not topic_matches("bureaunet/v1/inbox/FR/x", "bureaunet/v1/inbox/+")
    assert not topic_matches("bureaunet/v1/inbox", "bureaunet/v1/inbox/+")


def test_the_clusters_ports_are_chosen_together_and_never_repeat() -> None:
    # asked for one at a time, two listeners of one cluster once got the same port
    ports = free_ports(200)
    assert len(set(ports)) == 200
    cluster = NatsCluster(3)
    try:
        listeners = [
            port
            for node in cluster._nodes
            for port in (node.client_port, node.cluster_port, node.monitor_port, node.mqtt_port)
        ]
        assert len(set(listeners)) == 12
    finally:
        cluster.stop()
