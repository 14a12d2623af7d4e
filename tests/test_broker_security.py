"""Broker security against real brokers: isolation of inboxes, publish rights, credentials.

Deliveries are counted, never subscribe replies: Mosquitto grants a forbidden SUBSCRIBE and then
silently delivers nothing.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress

import pytest

from broker import BrokerAuthError, BrokerError, BrokerSecurity
from broker.config import MAX_MESSAGE_SIZE as MAX
from protocol.network import topics
from tests.conftest import BrokerUnderTest, connected, drain

SNOOP_FILTERS = ["bureaunet/v1/inbox/FR", "bureaunet/v1/inbox/+", "bureaunet/#", "#"]


@pytest.mark.parametrize("snoop_filter", SNOOP_FILTERS)
async def test_a_bureau_cannot_read_another_inbox(
    any_broker: BrokerUnderTest, security: BrokerSecurity, snoop_filter: str
) -> None:
    async with (
        connected(any_broker, security, "FR") as owner,
        connected(any_broker, security, "DE") as snoop,
        connected(any_broker, security, "gs") as sender,
    ):
        await owner.subscribe([(topics.inbox("FR"), 1)])
        with suppress(BrokerError):  # a broker may refuse the subscription outright
            await snoop.subscribe([(snoop_filter, 1)])
        for n in range(3):
            await sender.publish(topics.inbox("FR"), f"secret {n}".encode(), qos=1)
        owner_got, snoop_got = await asyncio.gather(drain(owner, 0.8), drain(snoop, 0.8))
    assert len(owner_got) == 3  # the messages were there to be stolen
    assert [m.topic for m in snoop_got if m.topic.startswith("bureaunet/v1/inbox")] == []


async def test_an_ncb_cannot_publish_to_broadcast_all(
    any_broker: BrokerUnderTest, security: BrokerSecurity
) -> None:
    async with (
        connected(any_broker, security, "DE") as listener,
        connected(any_broker, security, "FR") as ncb,
        connected(any_broker, security, "gs") as gs,
    ):
        await listener.subscribe([(topics.broadcast("all"), 1)])
        await ncb.publish(topics.broadcast("all"), b"forged circular", qos=1)
        await gs.publish(topics.broadcast("all"), b"real circular", qos=1)
        got = await drain(listener, 0.8)
    assert [bytes(m.payload) for m in got] == [b"real circular"]


async def test_an_ncb_cannot_publish_a_revocation_list(
    any_broker: BrokerUnderTest, security: BrokerSecurity
) -> None:
    async with (
        connected(any_broker, security, "DE") as listener,
        connected(any_broker, security, "FR") as ncb,
    ):
        await listener.subscribe([(topics.CRL, 1)])
        await ncb.publish(topics.CRL, b"forged list", qos=1)
        assert await drain(listener, 0.6) == []


@pytest.mark.parametrize(
    ("username", "password"),
    [
        (None, None),
        ("FR", "wrong password"),
        ("FR", None),
        ("nobody", "x"),
        ("nobody", None),  # an unknown username with no password
        ("", None),  # an empty username
        ("", "x"),
        ("admin", "admin"),
    ],
)
async def test_anonymous_and_wrong_credentials_are_refused(
    any_broker: BrokerUnderTest,
    security: BrokerSecurity,
    username: str | None,
    password: str | None,
) -> None:
    with pytest.raises(BrokerAuthError):
        async with connected(
            any_broker, security, username, client_id="intruder", password=password
        ):
            pass


async def test_another_client_id_cannot_cost_a_bureau_its_queued_messages(
    any_broker: BrokerUnderTest, security: BrokerSecurity
) -> None:
    async with connected(any_broker, security, "KE", clean_session=False) as ke:
        await ke.subscribe([(topics.inbox("KE"), 1)])
    async with connected(any_broker, security, "gs") as gs:
        for n in range(5):
            await gs.publish(topics.inbox("KE"), f"notice {n}".encode(), qos=1)
    # (KE: a bureau no other test of this module connects as, so no session of theirs is left)
    # FR's credential, KE's client id, a clean session: on a broker that trusted the client id,
    # this would wipe KE's session and its five queued notices
    # (amqtt: the CONNECT guard, broker/amqtt_guard.py, refuses the connection)
    with suppress(BrokerError):
        async with connected(any_broker, security, "FR", client_id="KE", clean_session=True):
            await asyncio.sleep(0.2)
    async with connected(any_broker, security, "KE", clean_session=False) as ke:
        got = await drain(ke, 1.0)
    assert sorted(bytes(m.payload) for m in got) == [f"notice {n}".encode() for n in range(5)]


@pytest.mark.parametrize("snoop_filter", SNOOP_FILTERS)
async def test_a_retained_message_on_an_inbox_reaches_no_other_bureau(
    any_broker: BrokerUnderTest, security: BrokerSecurity, snoop_filter: str
) -> None:
    # the owner's session subscribes first (amqtt handed a connecting client the retained
    # messages matching any session's subscriptions); then a retained message lands on its inbox
    async with connected(any_broker, security, "FR") as owner:
        await owner.subscribe([(topics.inbox("FR"), 1)])
        async with connected(any_broker, security, "gs") as gs:
            await gs.publish(topics.inbox("FR"), b"retained for FR", qos=1, retain=True)
        try:
            async with connected(any_broker, security, "DE") as snoop:
                with suppress(BrokerError):  # a broker may refuse the subscription outright
                    await snoop.subscribe([(snoop_filter, 1)])
                snoop_got = await drain(snoop, 1.0)
            owner_got = await drain(owner, 5.0, until=1)
        finally:
            async with connected(any_broker, security, "gs") as gs:
                await gs.publish(topics.inbox("FR"), b"", qos=1, retain=True)
    assert [bytes(m.payload) for m in owner_got] == [b"retained for FR"]  # it was there
    assert [m.topic for m in snoop_got if m.topic.startswith("bureaunet/v1/inbox")] == []


async def test_a_publish_larger_than_an_envelope_reaches_nobody(
    any_broker: BrokerUnderTest, security: BrokerSecurity
) -> None:
    # amqtt took and delivered a 50 MB publish; every broker caps a message at one envelope
    async with connected(any_broker, security, "DE") as de:
        await de.subscribe([(topics.inbox("DE"), 1)])
        with suppress(BrokerError, TimeoutError):  # the broker may end the connection
            async with connected(any_broker, security, "FR") as fr:
                await asyncio.wait_for(fr.publish(topics.inbox("DE"), bytes(4 * MAX)), 5)
        async with connected(any_broker, security, "FR") as fr:
            await fr.publish(topics.inbox("DE"), b"after the oversized one", qos=1)
        got = await drain(de, 3.0)
    assert [bytes(m.payload) for m in got] == [b"after the oversized one"]
