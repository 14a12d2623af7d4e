"""Bureau cores without any broker or clock, for tests, benchmarks and tools.

A handful of bureaus (or any roster), each a :class:`~bureaus.core.BureauCore` online, sharing
one world; the time is what :func:`at` makes of a number of seconds after :data:`EPOCH`. Nothing
moves a send from one core to another: the caller does, as a test's exchange or a benchmark's
loop does.

TEST MATERIAL ONLY: the PKI is generated per process (:func:`pki`) and never written anywhere.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any
from uuid import UUID, uuid4

from bureaus import BureauCore, LinkModel, Now, World, generate_pki
from bureaus.network import Pki
from protocol import Diffusion, Roster, ToBureaus, default_roster
from protocol.network.routing import Topology
from protocol.security.envelope import EnvelopeCodec
from protocol.security.pki import BureauCredentials

__all__ = ["EPOCH", "ROSTER", "at", "cores", "note", "pki"]

ROSTER = default_roster().subset(["gs", "FR", "DE", "KE", "rb-nairobi"])
"""A small roster: the General Secretariat, three NCBs on two continents, a regional bureau."""
EPOCH = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
"""Time zero."""


@cache
def pki(roster: Roster = ROSTER) -> Pki:
    """A throwaway PKI for ``roster``, made once per process."""
    return generate_pki(roster, EPOCH)


def at(t: float) -> Now:
    """The time ``t`` seconds after :data:`EPOCH` (scenario, link and wall time alike)."""
    return Now(t, t, int(EPOCH.timestamp() * 1e9 + t * 1e9), EPOCH + timedelta(seconds=t))


def cores(
    topology: Topology = "hub",
    *,
    roster: Roster = ROSTER,
    links: LinkModel | None = None,
    **kwargs: object,
) -> dict[str, BureauCore]:
    """A core per bureau of ``roster``, online, sharing one world (no link model by default)."""
    world = World(roster, topology, links or LinkModel(roster, enabled=False))
    keys = pki(roster)
    made = {
        b.id: BureauCore(
            b,
            EnvelopeCodec(
                BureauCredentials(keys.identities[b.id]), keys.trust.copy(), roster=roster
            ),
            world,
            **kwargs,  # type: ignore[arg-type]
        )
        for b in roster
    }
    for core in made.values():
        core.set_online(True, at(0))
    return made


def note(
    sender: str, to: str, text: str, *, message_id: UUID | None = None, **fields: Any
) -> Diffusion:
    """A diffusion from ``sender`` to ``to``."""
    return Diffusion(
        message_id=message_id or uuid4(),
        sender=sender,
        recipients=ToBureaus(bureaus=(to,)),
        created_at=EPOCH,
        diffusion_type="information",
        text=text,
        **fields,
    )
