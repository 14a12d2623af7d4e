"""The bureau network end to end on a real Mosquitto: topologies, roles, presence, hostility."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from bureaus.connectors import MqttClient
from bureaus.samples import RED, diffusion
from protocol import (
    NoticeRequest,
    ToBureaus,
    default_roster,
    topics,
)
from tests.network_fixtures import full_pki, live_network

NOTICE = RED.model_copy(update={"date_of_birth": "1979/04", "nationalities": ("FR",)})


def request(
    sender: str = "FR", summary: str = "Organised fraud across three countries."
) -> NoticeRequest:
    return NoticeRequest(
        message_id=uuid4(),
        sender=sender,
        recipients=ToBureaus(bureaus=("gs",)),
        created_at=datetime.now(UTC),
        notice=NOTICE,
        summary_of_facts=summary,
    )


async def test_red_notice_through_gs_review_reaches_and_is_acknowledged_by_every_ncb() -> None:
    async with live_network("hybrid") as net:
        ask = request()
        net["FR"].submit(ask)
        await net.settle(quiet_s=0.5)
        events = net.ctx.events
        ncbs = {b.id for b in default_roster().ncbs()}
        at_gs = events.of("delivered", bureau="gs", message_kind="notice-request")
        assert [e.route for e in at_gs] == [("FR", "gs")]
        published = events.of("delivered", message_kind="notice-published")
        assert {e.bureau for e in published} == ncbs
        assert {e.route for e in published} == {("gs", n) for n in ncbs}
        # joined through the request: every route is NCB -> GS -> NCB
        routes = {at_gs[0].route + e.route[1:] for e in published}
        assert routes == {("FR", "gs", n) for n in ncbs}
        publication = published[0].message_id
        acks = events.of("acknowledged", bureau="gs", message_id=publication)
        assert {e.peer for e in acks} == ncbs
        assert not events.of("rejected")


async def test_mesh_diffusion_is_one_hop() -> None:
    async with live_network("mesh") as net:
        message = diffusion("DE", ("FR", "BE", "KE"), "Locate and report.", "locate")
        net["DE"].submit(message)
        await net.settle()
        got = net.ctx.events.of("delivered", message_id=str(message.message_id))
        assert sorted((e.bureau, e.route) for e in got) == [
            ("BE", ("DE", "BE")),
            ("FR", ("DE", "FR")),
            ("KE", ("DE", "KE")),
        ]
        assert net.ctx.events.of("hop", message_id=str(message.message_id)) == []


async def test_regional_message_between_african_regions_passes_both_bureaus_and_gs() -> None:
    async with live_network("regional") as net:
        message = diffusion("CI", ("KE",), "Suspect travelling to Nairobi.")
        net["CI"].submit(message)
        await net.settle()
        mid = str(message.message_id)
        [delivered] = net.ctx.events.of("delivered", message_id=mid)
        assert delivered.route == ("CI", "rb-abidjan", "gs", "rb-nairobi", "KE")
        relays = [(e.bureau, e.peer) for e in net.ctx.events.of("hop", message_id=mid)]
        assert relays == [("rb-abidjan", "gs"), ("gs", "rb-nairobi"), ("rb-nairobi", "KE")]
        # the acknowledgement comes back the same way round
        [ack] = net.ctx.events.of("acknowledged", bureau="CI", message_id=mid)
        assert ack.peer == "KE"


async def test_an_offline_ncb_receives_the_notice_when_it_returns() -> None:
    # persistent session: the broker queues the NCB's QoS 1 inbox while it is away
    async with live_network("hybrid") as net:
        await net.stop(["KE"])
        net["FR"].submit(request())
        await net.settle(quiet_s=0.5)
        assert not net.ctx.events.of("delivered", bureau="KE")
        await net.start(["KE"])
        await net.settle(quiet_s=0.5)
        got = net.ctx.events.of("delivered", bureau="KE", message_kind="notice-published")
        assert len(got) == 1


@pytest.mark.parametrize("verify_processes", [0, 1], ids=["alone", "signature-helper"])
async def test_rogue_client_with_valid_credentials_cannot_disturb_an_ncb(
    verify_processes: int,
) -> None:
    # with a signature helper (bureaus/verifier.py) too: its answers are a head start, and every
    # refusal below is still the bureau's own
    roster = default_roster().subset(["gs", "FR", "DE", "BE"])
    async with live_network("mesh", roster, verify_processes=verify_processes) as net:
        # a replayable envelope: DE -> FR, delivered once
        first = diffusion("DE", ("FR",), "original", "warning")
        envelope = net["DE"].submit(first)
        # an envelope from BE, which the GS then revokes
        from_be = net["BE"].codec.seal_at(
            diffusion("BE", ("FR",), "later revoked", "warning"),
            datetime.now(UTC),
            to=["FR"],
        )
        await net.settle()
        await net.revoke([full_pki().identities["BE"].certificate.serial])
        await asyncio.sleep(0.3)
        rogue = net["DE"]  # DE's valid broker credential, misused
        inbox = topics.inbox("FR")
        await rogue.publish_raw(inbox, b"\x00garbage\xff")
        await rogue.publish_raw(inbox, envelope)  # the same bytes at once: a duplicate
        resealed = rogue.codec.seal_at(first, datetime.now(UTC), to=["FR"])
        await rogue.publish_raw(inbox, resealed)  # the same id under a new seal: a replay
        await rogue.publish_raw(inbox, from_be)  # its signature verifies; BE is revoked
        forged = bytearray(
            rogue.codec.seal_at(
                diffusion("DE", ("FR",), "forged", "warning"), datetime.now(UTC), to=["FR"]
            )
        )
        forged[-1] ^= 0x01  # the signature's last byte
        await rogue.publish_raw(inbox, bytes(forged))
        # FR keeps working
        after = diffusion("DE", ("FR",), "still served", "warning")
        net["DE"].submit(after)
        await net.settle()
        counters = net["FR"].counters
        assert counters["rejected:malformed"] == 1
        assert counters["rejected:duplicate"] == 1
        assert counters["rejected:replay"] == 1
        assert counters["rejected:revoked"] == 1
        assert counters["rejected:bad_signature"] == 1
        assert net.ctx.events.of("delivered", bureau="FR", message_id=str(after.message_id))
        # the helper verified five signatures ahead (first, its duplicate, the replay, BE's and
        # after), not the forgery's; alone, the bureau verified all of them itself
        ahead = 5 if verify_processes else 0
        assert counters["signature_verified_ahead"] == ahead
        assert net["FR"].codec.vouched == ahead


@pytest.mark.parametrize("kind", ["amqtt"])
async def test_the_network_runs_on_the_zero_setup_broker(kind: str) -> None:
    roster = default_roster().subset(["gs", "FR", "DE", "KE"])
    async with live_network("hub", roster, kind=kind) as net:
        message = diffusion("FR", ("KE",), "via the hub", "locate")
        net["FR"].submit(message)
        await net.settle()
        [got] = net.ctx.events.of("delivered", message_id=str(message.message_id))
        assert got.route == ("FR", "gs", "KE")


async def test_sent_events_name_their_recipients_so_losses_can_be_counted() -> None:
    roster = default_roster().subset(["gs", "FR", "DE", "KE"])
    async with live_network("mesh", roster) as net:
        message = diffusion("FR", ("DE", "KE"), "count me", "locate")
        net["FR"].submit(message)
        await net.settle()
        [sent] = net.ctx.events.of("sent", message_id=str(message.message_id))
        assert sent.recipients == ("DE", "KE")


@pytest.mark.parametrize("client", ["gmqtt", "aiomqtt"])
async def test_a_live_burst_is_published_without_a_task_per_message_and_all_acknowledged(
    client: MqttClient,
) -> None:
    roster = default_roster().subset(["gs", "FR", "DE"])
    async with live_network("mesh", roster, client=client) as net:
        de = net["DE"]
        burst = [diffusion("DE", ("FR",), f"burst {n}", "warning") for n in range(40)]
        for message in burst:
            de.submit(message)
        await asyncio.sleep(0)  # the publishes go out on the next turn of the loop
        links = [t for t in asyncio.all_tasks() if t.get_name() == "bureau[DE].link"]
        assert links == []
        await net.settle()
        assert de.in_transit == 0
        assert de.core.queued_ids() == []  # every transmission acknowledged by the broker
        delivered = {e.message_id for e in net.ctx.events.of("delivered", bureau="FR")}
        assert delivered == {str(m.message_id) for m in burst}
