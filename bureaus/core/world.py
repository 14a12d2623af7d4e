"""What the bureau cores of one process are given in common: the roster and the rules.

The roster, the topology's routing, the link model, the General Secretariat's rules and
databases, and the way message ids are made: read by every core, written by none while it runs
(the timing of messages is the drivers', :class:`~bureaus.events.Tracer`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from bureaus.ids import MessageIds
from bureaus.links import LinkModel
from bureaus.roles import Databases, ReviewPolicy
from protocol import Roster
from protocol.network.routing import Topology, relays

__all__ = ["BROADCAST", "BROADCAST_MIN", "World"]

BROADCAST = "*"
"""The next hop of a transmission published once on the broadcast topic for all its recipients."""
BROADCAST_MIN = 8
"""The fewest direct recipients for which the General Secretariat broadcasts."""


@dataclass
class World:
    """What the bureaus of one process are given, without I/O: nothing in it is per message.

    The roster, the topology's routing, the link model, the GS's rules and databases, message
    ids.
    """

    roster: Roster
    topology: Topology
    links: LinkModel
    ids: MessageIds = field(default_factory=MessageIds)
    review: ReviewPolicy = field(default_factory=ReviewPolicy)
    databases: Databases = field(default_factory=Databases)
    broadcast: bool = True
    """Whether the General Secretariat publishes a message for many NCBs once, on the broadcast
    topic every bureau reads, instead of once per inbox (see
    :meth:`bureaus.core.role.GeneralSecretariat.broadcasts`). The driver subscribes to that
    topic when this is true."""

    @cached_property
    def relays(self) -> frozenset[str]:
        """The bureaus that may pass messages on in this topology (the rest never relay)."""
        return relays(self.topology, self.roster)
