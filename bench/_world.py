"""Shared set-up for the network benchmarks: the full roster on a secured embedded Mosquitto."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from broker import BrokerTarget, EmbeddedBroker, find_mosquitto
from bureaus import LinkModel, Network, NetworkContext, generate_pki
from protocol import Roster, default_roster
from protocol.network.routing import Topology


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of a process (this one by default), from /proc."""
    fields = Path(f"/proc/{pid or os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@asynccontextmanager
async def world(
    roster: Roster | None = None,
    *,
    acknowledge: bool = False,
    warm: bool = True,
    broadcast: bool = True,
    topology: Topology = "mesh",
) -> AsyncIterator[tuple[Network, EmbeddedBroker]]:
    """Every bureau connected to a fresh secured Mosquitto; no modelled WAN delay.

    With ``warm``, every bureau's pair keys with every other are computed first (about 43,000
    X25519 agreements for the full roster), as a long-running network would have them cached.
    """
    if find_mosquitto() is None:
        raise SystemExit("the network benchmarks need Mosquitto (apt-get install mosquitto)")
    roster = roster or default_roster()
    ctx = NetworkContext(
        roster, topology, BrokerTarget("127.0.0.1", 0), LinkModel(roster, enabled=False)
    )
    network = Network(ctx, generate_pki(roster, datetime.now(UTC)), outbox_limit=1_000_000)
    ctx.world.broadcast = broadcast
    certificates = [i.certificate for i in network.pki.identities.values()]
    for bureau in network.bureaus.values():
        bureau.acknowledge = acknowledge
        if not acknowledge:
            bureau.resend_after = 0  # nobody acknowledges: keeping messages to resend is waste
        if warm:
            bureau.codec.warm(certificates)
    with EmbeddedBroker(kind="mosquitto", security=network.security(), persistence=False) as b:
        ctx.target = BrokerTarget(b.host, b.port, kind=b.kind, version=b.version)
        await network.start()
        try:
            yield network, b
        finally:
            await network.stop()
