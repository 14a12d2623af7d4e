"""What the bureau drivers of one process share: the world, the broker, the clock, the log.

A :class:`NetworkContext` is made once per run. Its :attr:`~NetworkContext.world` is the pure
part every bureau core is given; the rest is for the drivers: where each bureau connects (a
cluster's nodes, a proxy), how (the MQTT client library or the in-memory broker), the clock, the
event log, the service-time model of a simulation, and the run's identity.
"""

from __future__ import annotations

import asyncio
import functools
import os
from dataclasses import dataclass, field

from broker import BrokerTarget
from bureaus.clock import Clock
from bureaus.connectors import MqttClient, mqtt_connector
from bureaus.core import World
from bureaus.events import EventLog, Tracer
from bureaus.ids import MessageIds
from bureaus.links import LinkModel
from bureaus.roles import Databases, ReviewPolicy
from bureaus.service import ServiceTimes
from bureaus.transport import Connector
from bureaus.verifier import SignatureHelper
from protocol import Roster
from protocol.network.routing import Topology
from protocol.security.envelope import RUN_ID_SIZE

__all__ = ["NetworkContext"]


@dataclass
class NetworkContext:
    """What the bureaus of one process share.

    The world they live in, how they reach the broker, the clock, and what they record.
    """

    roster: Roster
    topology: Topology
    target: BrokerTarget
    links: LinkModel
    events: EventLog = field(default_factory=EventLog)
    tracer: Tracer = field(default_factory=Tracer)
    clock: Clock = field(default_factory=Clock)
    seed: int = 0
    review: ReviewPolicy = field(default_factory=ReviewPolicy)
    databases: Databases = field(default_factory=Databases)
    targets: dict[str, BrokerTarget] = field(default_factory=dict)
    """Bureaus that reach the broker elsewhere than ``target`` (another node of a cluster, or
    through a fault-injecting proxy)."""
    cluster: tuple[BrokerTarget, ...] = ()
    """The nodes of a clustered broker: bureaus are spread across them, and move to the next
    node when theirs cannot be reached."""
    connector: Connector | None = None
    """How bureaus connect (``None``: ``client`` to ``target``; the in-memory broker in
    simulations)."""
    client: MqttClient = "gmqtt"
    """The MQTT client library bureaus speak through when ``connector`` is ``None``."""
    service: ServiceTimes | None = None
    """The service-time model (simulations only: live, the host's CPU is the cost)."""
    run_id: bytes = field(default_factory=lambda: os.urandom(RUN_ID_SIZE))
    """This run's identity, signed into every envelope's header: an envelope of another run
    (captured, then played into this one) is refused as ``other_run``. Fresh for every run, and
    kept out of the event log, so the same seed still gives the same events."""
    verify_processes: int = 0
    """Helper processes that verify received envelopes' signatures ahead of their bureaus
    (live runs only; 0: each bureau verifies its own). See :mod:`bureaus.verifier`."""
    verifier: SignatureHelper | None = field(default=None, init=False, repr=False, compare=False)
    """The helpers while the network runs (started by ``Network.start``)."""
    _trouble: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)

    @functools.cached_property
    def world(self) -> World:
        """The pure part, shared with every bureau core of the process."""
        return World(
            self.roster,
            self.topology,
            self.links,
            ids=MessageIds(self.seed),
            review=self.review,
            databases=self.databases,
        )

    @property
    def ids(self) -> MessageIds:
        """Where every generated message id comes from."""
        return self.world.ids

    @property
    def in_flight(self) -> int:
        """Deliveries owed: final recipients of messages sent, less deliveries made."""
        return self.tracer.in_flight

    @property
    def relays(self) -> frozenset[str]:
        """The bureaus that may pass messages on in this topology."""
        return self.world.relays

    def connect(self) -> Connector:
        """The connector bureaus use."""
        return (
            self.connector
            if self.connector is not None
            else mqtt_connector(self.target, self.client)
        )

    def cluster_trouble(self) -> None:
        """A bureau lost its connection to a node of the cluster: wake every inbox probe."""
        news, self._trouble = self._trouble, asyncio.Event()
        news.set()

    async def wait_cluster_trouble(self) -> None:
        """Wait until some bureau of this process next loses its connection to a cluster node."""
        await self._trouble.wait()

    @functools.cached_property
    def _positions(self) -> dict[str, int]:
        return {b.id: n for n, b in enumerate(self.roster)}

    def target_for(self, bureau: str, shift: int = 0) -> BrokerTarget:
        """Where ``bureau`` connects (``shift``: how many nodes of the cluster it moved on)."""
        if bureau in self.targets:
            return self.targets[bureau]
        if self.cluster:
            home = self._positions.get(bureau, 0)
            return self.cluster[(home + shift) % len(self.cluster)]
        return self.target
