"""A played bureau's reply and permitted forward answer the message, in the protocol's terms.

Before, only the `a` key acknowledged: a player who replied within seconds of a flash alert was
scored as no answer, the deadline was missed and the sender kept resending. Now replying to a
message or passing it on is an acknowledgement with the status ``actioned``; a forward refused
under the message's caveats answers nothing and leaves the message to be answered.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

from broker import BrokerTarget
from bureaus import LinkModel, Network, NetworkContext
from bureaus.events import Acknowledged
from bureaus.samples import diffusion
from protocol import CaseMessage, ToBureaus, default_roster, topics
from scenarios.cli import main
from tests.network_fixtures import full_pki

ROSTER = default_roster().subset(["gs", "FR", "DE", "BE", "KE"])


def played_de() -> Network:
    ctx = NetworkContext(
        ROSTER, "mesh", BrokerTarget("127.0.0.1", 0), LinkModel(ROSTER, enabled=False), seed=5
    )
    net = Network(ctx, full_pki())
    net.set_player("DE", inbox_limit=50)
    return net


def carry(net: Network, sender: str) -> None:
    """Hand everything in ``sender``'s outbox to the bureau it is for (no broker: by hand)."""
    while (item := net[sender].outbox.pop()) is not None:
        net[item.next_hop].receive(topics.inbox(item.next_hop), item.envelope)


def sent_to_de(net: Network, **update: object) -> str:
    message = diffusion("FR", ("DE",), "Please check this vehicle.").model_copy(update=update)
    net["FR"].send(message)
    carry(net, "FR")
    assert str(message.message_id) in net["DE"].inbox
    assert str(message.message_id) in net["FR"].pending  # FR waits for DE's answer
    return str(message.message_id)


def answers(net: Network, mid: str) -> list[str]:
    events = net.ctx.events.of("acknowledged", bureau="FR", message_id=mid)
    return [e.status for e in events if isinstance(e, Acknowledged)]


def test_a_reply_answers_the_message_and_the_sender_stops_resending() -> None:
    net = played_de()
    mid = sent_to_de(net)
    reply = CaseMessage(
        message_id=uuid4(),
        sender="DE",
        recipients=ToBureaus(bureaus=("FR",)),
        created_at=datetime.now(UTC),
        case_reference="RE/1",
        subject="Re: the vehicle",
        body="Known to us; details follow.",
    )
    net.reply("DE", mid, reply)
    carry(net, "DE")
    assert answers(net, mid) == ["actioned"]
    assert mid not in net["FR"].pending
    assert net.ctx.events.of("delivered", bureau="FR", message_id=str(reply.message_id))


def test_a_permitted_forward_answers_the_message() -> None:
    net = played_de()
    mid = sent_to_de(net)
    sent, breaches = net.forward("DE", mid, ["BE"], uuid4())
    assert sent
    assert breaches == []
    carry(net, "DE")
    assert answers(net, mid) == ["actioned"]
    assert mid not in net["FR"].pending


def test_a_refused_forward_answers_nothing_and_the_message_stays() -> None:
    net = played_de()
    mid = sent_to_de(net, tlp="TLP:RED")
    sent, breaches = net.forward("DE", mid, ["KE"], uuid4())
    assert not sent
    assert [b.rule for b in breaches] == ["TLP:RED"]
    carry(net, "DE")
    assert answers(net, mid) == []
    assert mid in net["FR"].pending  # still owed: the player has to answer it another way
    assert mid in net["DE"].inbox


def test_a_rehearsal_answers_for_the_players_and_the_expectations_can_pass(
    tmp_path: Path,
) -> None:
    # a facilitator sees whether the exercise's expectations can pass before the day
    drill = Path(__file__).resolve().parent.parent / "docs" / "examples" / "room-drill.yaml"
    unattended = ["run", str(drill), "--clock", "virtual", "--quiet"]
    assert main([*unattended, "--out", str(tmp_path / "nobody")]) == 1  # nobody answers
    assert main([*unattended, "--auto-answer", "5m", "--out", str(tmp_path / "rehearsed")]) == 0
    summary = json.loads((tmp_path / "rehearsed" / "summary.json").read_text(encoding="utf-8"))
    assert all(e["passed"] for e in summary["expectations"])
    log = (tmp_path / "rehearsed" / "events.jsonl").read_text(encoding="utf-8")
    assert "(played, rehearsal) answered diffusion from FR: actioned" in log
