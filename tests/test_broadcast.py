"""A message for many NCBs goes out once, on the broadcast topic, when every link is the same.

Pure core tests (no broker): the General Secretariat's one transmission reaches every recipient,
each of which verifies, opens and acknowledges its own entry; bureaus the envelope is not for
count it and leave it alone; with a link model or a scripted outage, the hub goes inbox by inbox
as before. The driver's subscription and a real broker are covered by the fan-out of the bundled
scenarios and by ``tests/test_network.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from bureaus import BureauCore, LinkModel, Outputs, Send
from bureaus.core import BROADCAST_MIN
from bureaus.events import Acknowledged, Delivered, Rejected
from bureaus.links import Outage
from bureaus.sandbox import at
from bureaus.sandbox import cores as core_net
from protocol import Diffusion, ToAll, ToBureaus, default_roster, topics

NCBS = ["FR", "DE", "KE", "BR", "JP", "IN", "NG", "AR", "CA", "ES"]
ROSTER = default_roster().subset(["gs", *NCBS, "rb-nairobi"])
EPOCH = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
BROADCAST = topics.broadcast("all")


def cores(links: LinkModel) -> dict[str, BureauCore]:
    return core_net("hub", roster=ROSTER, links=links)


def deliver(net: dict[str, BureauCore], out: Outputs) -> list[Outputs]:
    """What a broker does: an inbox to its bureau, the broadcast topic to every bureau."""
    seen = [out]
    queue: list[Send] = list(out.sends)
    inbox = topics.inbox("gs").removesuffix("gs")
    while queue:
        send = queue.pop(0)
        if send.item is not None:
            for core in net.values():
                if send.item.message_id in core.queued_ids():
                    core.published(send.item)
                    break
        if send.topic == BROADCAST:
            targets = list(net.values())
        elif send.topic.startswith(inbox):
            targets = [net[send.topic.removeprefix(inbox)]]
        else:
            continue
        for core in targets:
            result = core.receive(send.topic, send.payload, at(1))
            seen.append(result)
            queue += result.sends
    return seen


def diffusions_delivered(seen: list[Outputs]) -> set[str]:
    """The bureaus that a diffusion was delivered to, in these outputs."""
    return {
        e.bureau
        for o in seen
        for e in o.events
        if isinstance(e, Delivered) and e.message_kind == "diffusion"
    }


def alert(to: list[str]) -> Diffusion:
    return Diffusion(
        message_id=uuid4(),
        sender="gs",
        recipients=ToBureaus(bureaus=tuple(to)),
        created_at=EPOCH,
        diffusion_type="wanted",
        text="Wanted: a fugitive seen crossing borders.",
    )


def test_the_hub_publishes_a_message_for_many_ncbs_once() -> None:
    net = cores(LinkModel(ROSTER, enabled=False))
    out = net["gs"].submit(alert(NCBS), at(1))
    assert [s.topic for s in out.sends] == [BROADCAST]
    seen = deliver(net, out)
    delivered = diffusions_delivered(seen)
    assert delivered == set(NCBS)
    acknowledged = {e.peer for o in seen for e in o.events if isinstance(e, Acknowledged)}
    assert acknowledged == set(NCBS)  # each opened and answered its own entry
    assert not [e for o in seen for e in o.events if isinstance(e, Rejected)]
    assert net["rb-nairobi"].counters["broadcast_not_mine"] == 1
    assert net["gs"].counters["broadcast_not_mine"] == 1  # its own copy, left alone
    assert net["rb-nairobi"].counters.get("relayed", 0) == 0  # nothing passed on twice


def test_a_message_to_all_is_broadcast_too() -> None:
    net = cores(LinkModel(ROSTER, enabled=False))
    message = alert(NCBS).model_copy(update={"recipients": ToAll()})
    out = net["gs"].submit(message, at(1))
    assert [s.topic for s in out.sends] == [BROADCAST]
    seen = deliver(net, out)
    delivered = diffusions_delivered(seen)
    assert delivered == set(NCBS)  # every NCB; the regional bureau is not among "all"
    assert net["rb-nairobi"].counters["broadcast_not_mine"] == 1


def test_few_recipients_a_modelled_link_or_an_outage_go_inbox_by_inbox() -> None:
    few = NCBS[: BROADCAST_MIN - 1]
    out = cores(LinkModel(ROSTER, enabled=False))["gs"].submit(alert(few), at(1))
    assert sorted(s.topic for s in out.sends) == sorted(topics.inbox(b) for b in few)
    modelled = cores(LinkModel(ROSTER))["gs"].submit(alert(NCBS), at(1))
    assert BROADCAST not in {s.topic for s in modelled.sends}
    cut = LinkModel(ROSTER, enabled=False, outages=[Outage(50.0, 60.0, bureau="KE")])
    assert BROADCAST not in {s.topic for s in cores(cut)["gs"].submit(alert(NCBS), at(1)).sends}


def test_only_the_general_secretariat_broadcasts() -> None:
    net = cores(LinkModel(ROSTER, enabled=False))
    others = [b for b in NCBS if b != "FR"]
    message = alert(others).model_copy(update={"sender": "FR"})
    out = net["FR"].submit(message, at(1))
    assert BROADCAST not in {s.topic for s in out.sends}


def test_junk_on_the_broadcast_topic_is_refused_and_counted() -> None:
    net = cores(LinkModel(ROSTER, enabled=False))
    out = net["DE"].receive(BROADCAST, b"\x00" * 40, at(1))
    refused = [e for e in out.events if isinstance(e, Rejected)]
    assert [e.reason for e in refused] == ["malformed"]
    assert net["DE"].counters["rejected:malformed"] == 1
