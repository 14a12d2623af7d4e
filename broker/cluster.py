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
so nothing changes for them. The cluster runs without credentials (loopback only): NATS
authorisation is configured in its own terms (users and subject permissions), which the README
describes; the per-bureau ACLs of the embedded Mosquitto are not reproduced here.

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

import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from broker.client import BrokerTarget
from broker.embedded import _accepts, _die_with_parent, free_port, terminate
from broker.errors import BrokerNotFoundError, BrokerStartError

__all__ = ["NatsCluster", "find_nats_server"]


def find_nats_server() -> Path | None:
    """The ``nats-server`` binary, if installed."""
    for candidate in (shutil.which("nats-server"), "/usr/sbin/nats-server", "/usr/bin/nats-server"):
        if candidate and Path(candidate).exists():
            return Path(candidate)
    return None


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


class NatsCluster:
    """N clustered ``nats-server`` processes with JetStream and MQTT on loopback."""

    def __init__(
        self, nodes: int = 3, *, consumer_replicas: int | None = None, start_timeout: float = 30.0
    ) -> None:
        """Prepare the nodes (nothing runs before :meth:`start`).

        Args:
            nodes: How many ``nats-server`` processes.
            consumer_replicas: On how many nodes each subscription's queue is kept; ``None``
                keeps it on as many as the streams (all nodes, up to three): it survives the
                loss of a node. ``1`` is much faster and does not (see the module's notes).
            start_timeout: Seconds to wait for the cluster to be ready.
        """
        if nodes < 1:
            raise ValueError("a cluster needs at least one node")
        if consumer_replicas is not None and not 1 <= consumer_replicas <= nodes:
            raise ValueError(f"consumer replicas must be between 1 and {nodes}")
        self.consumer_replicas = consumer_replicas
        self.start_timeout = start_timeout
        self.version = ""
        self._root = Path(tempfile.mkdtemp(prefix="bureaunet-nats-"))
        self._nodes = [
            _Node(
                f"n{i + 1}",
                free_port(),
                free_port(),
                free_port(),
                free_port(),
                self._root / f"n{i + 1}",
            )
            for i in range(nodes)
        ]

    @property
    def targets(self) -> list[BrokerTarget]:
        """Every node's MQTT listener, in node order."""
        return [node.target for node in self._nodes]

    def _config(self, node: _Node) -> Path:
        node.directory.mkdir(parents=True, exist_ok=True)
        routes = ", ".join(f"nats-route://127.0.0.1:{n.cluster_port}" for n in self._nodes)
        text = "\n".join(
            [
                "# generated by bureaunet: do not edit",
                f"server_name: {node.name}",
                f"listen: 127.0.0.1:{node.client_port}",
                f"http: 127.0.0.1:{node.monitor_port}",
                f'jetstream {{ store_dir: "{node.directory / "js"}",',
                "  max_mem: 128M, max_file: 1G }",
                "cluster {",
                "  name: bureaunet",
                f"  listen: 127.0.0.1:{node.cluster_port}",
                f"  routes: [{routes}]" if len(self._nodes) > 1 else "",
                "}",
                f"mqtt {{ listen: 127.0.0.1:{node.mqtt_port},",
                "  consumer_memory_storage: true",
                f"  consumer_replicas: {self.consumer_replicas}" if self.consumer_replicas else "",
                "}",
                "",
            ]
        )
        path = node.directory / "nats.conf"
        path.write_text(text, encoding="utf-8")
        return path

    def _spawn(self, node: _Node) -> None:
        binary = find_nats_server()
        if binary is None:
            raise BrokerNotFoundError(
                "nats-server is not installed (Debian: apt-get install nats-server)"
            )
        if not self.version:
            out = subprocess.run(  # noqa: S603 - our own command line
                [str(binary), "--version"], capture_output=True, text=True, check=False
            ).stdout
            self.version = out.strip().rpartition("v")[2]
        config = self._config(node)
        with (node.directory / "nats.log").open("ab") as log:
            node.process = subprocess.Popen(  # noqa: S603 - our own command line
                [str(binary), "-c", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509
            )

    def _wait(self, nodes: list[_Node]) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            for node in nodes:
                if node.process is not None and node.process.poll() is not None:
                    raise BrokerStartError(f"nats-server {node.name} exited", self.log_tail(node))
            if all(_accepts("127.0.0.1", n.mqtt_port) and n.healthy() for n in nodes):
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
        for node in self._nodes:
            self._spawn(node)
        try:
            self._wait(self._nodes)
        except BrokerStartError:
            self.stop()
            raise
        return self

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
