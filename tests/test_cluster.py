"""Scale-out on a clustered broker: three NATS nodes (JetStream + MQTT) on loopback.

Bureaus are spread over the nodes; QoS 1 traffic between bureaus on different nodes arrives, and
when a node is killed mid-run its bureaus move to another node and nothing is lost.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from broker import BrokerSecurity, BrokerTarget, TopicRules, client
from broker.cluster import (
    NatsCluster,
    authorization_block,
    find_nats_server,
    nats_server_version,
    ties_consumer_replicas,
)
from broker.embedded import free_ports
from bureaus import MQTT_CLIENTS, LinkModel, MqttClient, Network, NetworkContext
from bureaus.samples import diffusion
from protocol import default_roster, topics
from scenarios.cli import LIBRARY
from scenarios.launch import run_scenario
from scenarios.model import load_scenario, parse_scenario
from scenarios.reports.metrics import check_expectations, summarise
from scenarios.runner import RunOptions
from tests.conftest import drain
from tests.network_fixtures import full_pki
from tests.test_reliability import expected_and_delivered, until_quiet
from tests.test_workers import MIXED

ROSTER = default_roster().subset(["gs", "FR", "DE", "KE", "BR", "JP", "IN"])
NCBS = ["FR", "DE", "KE", "BR", "JP", "IN"]


@asynccontextmanager
async def clustered(
    consumer_replicas: int | None = None, client: MqttClient = "gmqtt"
) -> AsyncIterator[tuple[Network, NatsCluster]]:
    if find_nats_server() is None:
        pytest.skip("nats-server is not installed (.ci/run installs it)")
    ctx = NetworkContext(
        ROSTER,
        "mesh",
        BrokerTarget("127.0.0.1", 0),
        LinkModel(ROSTER, enabled=False),
        seed=11,
        client=client,
    )
    network = Network(ctx, full_pki())
    cluster = NatsCluster(3, consumer_replicas=consumer_replicas, security=network.security())
    await asyncio.to_thread(cluster.start)
    try:
        ctx.target, ctx.cluster = cluster.targets[0], tuple(cluster.targets)
        for bureau in network.bureaus.values():
            bureau.resend_after = 1.0
            bureau.session.probe_after = 3.0  # find a deaf inbox within seconds
        await network.start(timeout=60)
        try:
            yield network, cluster
        finally:
            await network.stop()
    finally:
        await asyncio.to_thread(cluster.stop)


async def traffic(network: Network, count: int, gap_s: float, seed: int) -> None:
    rng = random.Random(seed)
    for n in range(count):
        sender, recipient = rng.sample(NCBS, 2)
        network[sender].submit(diffusion(sender, (recipient,), f"cluster {seed}/{n}"))
        await asyncio.sleep(gap_s)


def exactly_once(network: Network) -> None:
    pairs = [(e.message_id, e.bureau) for e in network.ctx.events.events if e.kind == "delivered"]
    assert len(pairs) == len(set(pairs))


@pytest.mark.parametrize("client", MQTT_CLIENTS)
@pytest.mark.parametrize("replicas", [None, 1])
async def test_bureaus_on_three_nodes_survive_the_loss_of_one(
    replicas: int | None, client: MqttClient
) -> None:
    if replicas == 1 and tied():
        # one-replica queues come with one-replica streams here: a node's death takes them
        pytest.skip("this nats-server gives one-replica queues only with one-replica streams")
    async with clustered(consumer_replicas=replicas, client=client) as (network, cluster):
        homes = {b: network.ctx.target_for(b) for b in NCBS}
        assert set(homes.values()) == set(cluster.targets)  # spread over all three nodes
        await traffic(network, 30, 0.02, seed=1)  # across nodes, all three up
        await until_quiet(network)
        expected, delivered = expected_and_delivered(network)
        assert expected
        assert expected == delivered

        lost_node: BrokerTarget | None
        if replicas == 1:
            # the hard case: kill the node holding the inbox queue of a bureau connected to
            # another node; that bureau does not move, and is deaf until it subscribes afresh
            deaf_one, lost_node = next(
                (b, cluster.targets[i])
                for b, i in inbox_queue_nodes(cluster).items()
                if network[b].broker_node != cluster.targets[i]
            )
        else:
            deaf_one, lost_node = "", network["FR"].broker_node  # FR's node now
        assert lost_node is not None
        moved = [b for b in NCBS if network[b].broker_node == lost_node]
        running = asyncio.create_task(traffic(network, 60, 0.05, seed=2))
        await asyncio.sleep(1.0)
        await asyncio.to_thread(cluster.stop_node, cluster.targets.index(lost_node), kill=True)
        await running
        await until_quiet(network, timeout=120)
        expected, delivered = expected_and_delivered(network)
        now = {b: network[b].broker_node for b in moved}
        moves = sum(network[b].counters["node_moves"] for b in moved)
        deaf = {b: network[b].counters["inbox_deaf"] for b in NCBS}
        assert not cluster.running(cluster.targets.index(lost_node))
    print(
        f"\nNATS node killed: {len(expected)} expected deliveries, {len(delivered)} delivered, "
        f"{len(expected - delivered)} lost; {moves} moves by {', '.join(moved)}; "
        f"inboxes found deaf and subscribed afresh: {deaf}"
    )
    assert moved  # some bureaus lived on the node that was killed
    assert all(t is not None and t != lost_node for t in now.values())
    assert moves >= len(moved)
    assert expected - delivered == set()
    exactly_once(network)
    if deaf_one:
        assert deaf[deaf_one] >= 1  # its probe went unanswered, and it subscribed afresh


def tied() -> bool:
    binary = find_nats_server()
    return binary is not None and ties_consumer_replicas(nats_server_version(binary))


def subscription_queues(cluster: NatsCluster) -> list[dict[str, Any]]:
    """The JetStream consumers behind the MQTT subscriptions, as the nodes report them."""
    found: dict[str, dict[str, Any]] = {}
    for index in range(len(cluster.targets)):
        answer = cluster.monitor(index, "/jsz?consumers=true&config=true")
        for account in answer.get("account_details", []):
            for stream in account.get("stream_detail", []):
                if stream["name"] == "$MQTT_msgs":
                    for consumer in stream.get("consumer_detail", []):
                        found[consumer["name"]] = consumer
    return list(found.values())


@pytest.mark.parametrize("replicas", [None, 1])
async def test_subscription_queues_in_memory_on_the_nodes_asked_for(replicas: int | None) -> None:
    async with clustered(consumer_replicas=replicas) as (network, cluster):
        await traffic(network, 20, 0.02, seed=3)
        await until_quiet(network)
        expected, delivered = expected_and_delivered(network)
        queues = subscription_queues(cluster)
    assert expected
    assert expected == delivered
    exactly_once(network)
    assert len(queues) >= len(NCBS)  # one per bureau's inbox at least (the CRL has its own)
    assert all(q["config"].get("mem_storage") for q in queues)
    kept_on = {1 + len(q.get("cluster", {}).get("replicas", [])) for q in queues}
    assert kept_on == {replicas or 3}  # the leader and its followers


@pytest.mark.parametrize("broker", ["embedded:nats", "embedded:nats-r1"])
async def test_a_scenario_over_two_workers_on_the_cluster_passes(broker: str) -> None:
    if find_nats_server() is None:
        pytest.skip("nats-server is not installed (.ci/run installs it)")
    result = await run_scenario(parse_scenario(MIXED), RunOptions(broker=broker, workers=2))
    verdicts = check_expectations(result)
    summary = summarise(result)
    assert summary["broker"]["kind"] == "nats"
    assert summary["messages"]["lost"] == 0
    assert summary["messages"]["delivered"] > 100
    assert [(v.name, v.passed) for v in verdicts if not v.passed] == []


def inbox_queue_nodes(cluster: NatsCluster) -> dict[str, int]:
    """For each bureau, the index of the node that holds (leads) its inbox's queue."""
    nodes: dict[str, int] = {}
    for queue in subscription_queues(cluster):
        subject = queue["config"].get("filter_subject", "")
        leader = queue.get("cluster", {}).get("leader", "")
        if ".inbox." in subject and leader.startswith("n"):
            nodes[subject.rpartition(".")[2]] = int(leader[1:]) - 1  # nodes are named n1, n2 ...
    return nodes


async def test_the_scale_out_scenario_runs_over_two_workers_on_the_cluster() -> None:
    """The 1,002-bureau synthetic roster over two workers and three nodes, shortened to 2 s.

    Queues on one node keep it near half a minute; on three nodes (the default) start-up alone
    takes about a minute on two cores, so that run is left to the command line (RELIABILITY.md).
    """
    if find_nats_server() is None:
        pytest.skip("nats-server is not installed (.ci/run installs it)")
    scenario = load_scenario(LIBRARY / "scale-out.yaml")
    options = RunOptions(broker="embedded:nats-r1", workers=2, duration=2.0)
    result = await run_scenario(scenario, options)
    summary = summarise(result)
    assert summary["bureaus"] == 1002
    assert summary["broker"]["kind"] == "nats"
    assert summary["messages"]["lost"] == 0
    assert summary["messages"]["delivered"] > 200
    assert [v.name for v in check_expectations(result) if not v.passed] == []


async def test_the_cluster_refuses_anonymous_clients_and_keeps_inboxes_private() -> None:
    # an anonymous client read the inboxes of DE and the GS and published a retained revocation
    # list; now every node knows one user per bureau, with the subjects of its Mosquitto ACL
    async with clustered() as (network, cluster):
        node = cluster.targets[1]
        with pytest.raises(aiomqtt.MqttError):
            async with client(node, client_id="anonymous", clean_session=True, timeout=10):
                pass
        password = network.passwords["FR"]
        async with client(
            node, client_id="FR-own", username="FR", password=password, timeout=10
        ) as fr:
            for snoop in (topics.inbox("DE"), topics.inbox("gs"), "bureaunet/#"):
                with suppress(aiomqtt.MqttError):  # NATS refuses a forbidden subscription
                    await fr.subscribe(snoop, qos=1)
            await fr.publish(topics.CRL, b"forged revocation list", qos=1, retain=True)
            secret = diffusion("gs", ("DE",), "for DE only")
            network["gs"].submit(secret)
            await until_quiet(network)
            got = await drain(fr, 1.0)
        assert [m.topic for m in got if m.topic != topics.inbox("FR")] == []
        assert network.ctx.events.of("delivered", bureau="DE", message_id=str(secret.message_id))
        assert all(b.counters["rejected:malformed"] == 0 for b in network.bureaus.values())


def test_the_nats_server_in_use_is_past_the_advisory() -> None:
    # MQTT retained messages and QoS 1 replay could bypass subscribe deny rules before
    # 2.12.12 / 2.14.3; the dev extra installs the pinned 2.15.1
    binary = find_nats_server()
    if binary is None:
        pytest.skip("nats-server is not installed (.ci/run installs it)")
    version = tuple(int(p) for p in nats_server_version(binary).split(".")[:3])
    assert version >= (2, 14, 3) or (2, 12, 12) <= version < (2, 13)


def _rogue_server(
    directory: Path, cluster_port: int, credentials: str = ""
) -> tuple[subprocess.Popen[bytes], int, str]:
    """A nats-server of nobody's making that asks to join the cluster through a route port."""
    client_port, monitor_port, route_port = free_ports(3)
    name = f"rogue-{directory.name}"
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "rogue.conf"
    config.write_text(
        "\n".join(
            [
                f"server_name: {name}",
                f"listen: 127.0.0.1:{client_port}",
                f"http: 127.0.0.1:{monitor_port}",
                f'jetstream {{ store_dir: "{directory / "js"}" }}',
                "cluster {",
                "  name: bureaunet",
                f"  listen: 127.0.0.1:{route_port}",
                f"  routes: [nats-route://{credentials}127.0.0.1:{cluster_port}]",
                "}",
            ]
        ),
        encoding="utf-8",
    )
    binary = find_nats_server()
    assert binary is not None
    process = subprocess.Popen(
        [str(binary), "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return process, monitor_port, name


def _routes(monitor_port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{monitor_port}/routez", timeout=1) as got:
            return int(json.load(got).get("num_routes", 0))
    except (OSError, ValueError):
        return 0


async def test_a_server_without_the_route_password_cannot_join_the_cluster(
    tmp_path: Path,
) -> None:
    # a rogue nats-server joined through the route port, read DE's queued messages and purged
    # them through the JetStream API; now the routes ask for the cluster's own password
    async with clustered() as (_network, cluster):
        port = cluster._nodes[0].cluster_port
        stranger, stranger_http, stranger_name = _rogue_server(tmp_path / "stranger", port)
        # the control: a server that knows the password joins, within the same wait
        insider, insider_http, insider_name = _rogue_server(
            tmp_path / "insider", port, f"route:{cluster._route_password}@"
        )
        try:
            deadline = asyncio.get_running_loop().time() + 60
            while _routes(insider_http) == 0:
                assert asyncio.get_running_loop().time() < deadline, "the control never joined"
                await asyncio.sleep(0.5)
            await asyncio.sleep(2.0)  # the stranger, started first, has had longer still
            assert _routes(stranger_http) == 0
            names = {r.get("remote_name") for r in cluster.monitor(0, "/routez")["routes"]}
            assert insider_name in names
            assert stranger_name not in names
        finally:
            for process in (stranger, insider):
                process.kill()
                process.wait()


def test_bureau_users_may_not_touch_the_jetstream_api() -> None:
    block = authorization_block(
        BrokerSecurity(passwords={"FR": "pw"}, rules={"FR": TopicRules(read=("#",), write=("#",))})
    )
    fr = json.loads(block.split("users: [\n", 1)[1].rsplit("\n ]", 1)[0])
    for way in ("publish", "subscribe"):
        assert "$JS.>" in fr["permissions"][way]["deny"]
        assert "$SYS.>" in fr["permissions"][way]["deny"]


def test_a_port_taken_between_its_choice_and_the_start_is_chosen_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # before: the suite's workers start brokers side by side, and a nats-server whose chosen
    # port another process had bound meanwhile ended the cluster's start ("address already in
    # use")
    if find_nats_server() is None:
        pytest.skip("nats-server is not installed (.ci/run installs it)")
    import socket  # noqa: PLC0415 - this test only

    import broker.cluster  # noqa: PLC0415 - patched where the cluster looks it up

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    calls = []

    def ports(count: int) -> list[int]:
        chosen = free_ports(count)
        calls.append(count)
        return [taken.getsockname()[1], *chosen[1:]] if len(calls) == 1 else chosen

    monkeypatch.setattr(broker.cluster, "free_ports", ports)
    try:
        with NatsCluster(3) as cluster:
            assert len(calls) == 2  # the first choice clashed, the second started
            assert all(t.port != taken.getsockname()[1] for t in cluster.targets)
    finally:
        taken.close()
