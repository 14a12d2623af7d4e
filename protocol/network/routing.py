"""Topologies as routing policies: which bureaus a message passes on its way, as pure functions.

Theory of operation. A topology maps (roster, message kind, sender, final recipient) to a *path*:
the bureaus the message visits, from the sender to the recipient. Every relay on a path forwards
the sealed envelope unchanged (a blind relay: it can verify the sender's signature, it cannot read
the content). Where a role must read, the protocol makes that an application step instead of a
relay: a notice request is *addressed* to the General Secretariat, which reviews it and issues a
new, separately signed publication.

- ``mesh``: bureau to bureau, directly.
- ``hub``: everything through the General Secretariat (``gs``).
- ``regional``: sender → its regional bureau → GS → the recipient's regional bureau → recipient;
  bureaus without a regional bureau (most of Europe, the Middle East, North America, most of Asia)
  talk to the GS directly, and a message within one regional bureau's area turns at that bureau.
- ``hybrid`` (the realistic one): notice requests go to the GS for review and the GS publishes to
  everyone directly; diffusions, case messages and everything else go directly; searches are
  addressed to the GS (the databases are there).

Paths never repeat a bureau; consecutive duplicates collapse.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise
from typing import Literal, get_args

from protocol.errors import ArgumentError
from protocol.network.roster import Roster

__all__ = [
    "GS",
    "TOPOLOGIES",
    "Topology",
    "next_hops",
    "path",
    "reach",
    "reaches_every_inbox",
    "relays",
]

Topology = Literal["hub", "regional", "mesh", "hybrid"]
TOPOLOGIES: tuple[Topology, ...] = get_args(Topology)
GS = "gs"


def _compact(hops: Iterable[str | None]) -> tuple[str, ...]:
    out: list[str] = []
    for hop in hops:
        if hop is None or (out and out[-1] == hop):
            continue
        if hop in out:  # a loop: cut back to the first visit
            out = out[: out.index(hop) + 1]
            continue
        out.append(hop)
    return tuple(out)


def _regional_bureau(roster: Roster, bureau: str) -> str | None:
    info = roster.get(bureau)
    if info.role != "ncb":
        return None
    rb = roster.regional_bureau_of(bureau)
    return rb.id if rb is not None else None


def path(topology: Topology, roster: Roster, sender: str, recipient: str) -> tuple[str, ...]:
    """The bureaus a message from ``sender`` to ``recipient`` visits, both ends included.

    Raises:
        KeyError: A bureau is not in the roster.
        ArgumentError: An unknown topology.
    """
    roster.get(sender)
    roster.get(recipient)
    gs = GS if GS in roster else None
    if topology in ("mesh", "hybrid") or gs is None:
        # hybrid's special cases are addressing decisions (see module doc), not relays
        return _compact((sender, recipient))
    if topology == "hub":
        return _compact((sender, gs, recipient))
    if topology == "regional":
        src_rb = _regional_bureau(roster, sender)
        dst_rb = _regional_bureau(roster, recipient)
        if src_rb is not None and src_rb == dst_rb:
            return _compact((sender, src_rb, recipient))
        return _compact((sender, src_rb, gs, dst_rb, recipient))
    raise ArgumentError(f"unknown topology {topology!r}")


def next_hops(
    topology: Topology, roster: Roster, sender: str, recipients: Iterable[str], here: str
) -> dict[str, tuple[str, ...]]:
    """Where ``here`` sends a message next, and for which final recipients.

    Returns:
        ``{next bureau: (final recipients reached through it, ...)}``; empty when ``here`` is on
        no recipient's path or is the last hop for all of them.
    """
    out: dict[str, list[str]] = {}
    for recipient in recipients:
        hops = path(topology, roster, sender, recipient)
        if here in hops:
            index = hops.index(here)
            if index + 1 < len(hops):
                out.setdefault(hops[index + 1], []).append(recipient)
    return {hop: tuple(finals) for hop, finals in out.items()}


def reaches_every_inbox(topology: Topology) -> bool:
    """Whether every bureau may publish to every inbox under ``topology`` (``mesh``, ``hybrid``).

    Broker ACLs then need no per-bureau list (:func:`reach` would build N sets of N - 1 ids).
    """
    return topology in ("mesh", "hybrid")


def reach(topology: Topology, roster: Roster) -> dict[str, frozenset[str]]:
    """For each bureau, the inboxes it ever publishes to under ``topology`` (for broker ACLs).

    ``hybrid`` and ``mesh`` let any bureau reach any other directly (see
    :func:`reaches_every_inbox`).
    """
    ids = [b.id for b in roster]
    result: dict[str, set[str]] = {b: set() for b in ids}
    if reaches_every_inbox(topology):
        return {b: frozenset(i for i in ids if i != b) for b in ids}
    for sender in ids:
        for recipient in ids:
            if sender == recipient:
                continue
            hops = path(topology, roster, sender, recipient)
            for a, b in pairwise(hops):
                result[a].add(b)
    return {b: frozenset(v) for b, v in result.items()}


def relays(topology: Topology, roster: Roster) -> frozenset[str]:
    """The bureaus that ever pass on a message addressed to others under ``topology``.

    A bureau outside this set never relays, so it need not work out next hops for the other
    recipients of a wide envelope.
    """
    if topology in ("mesh", "hybrid") or GS not in roster:
        return frozenset()
    if topology == "hub":
        return frozenset({GS})
    found = {GS}
    for bureau in roster.ncbs():
        rb = _regional_bureau(roster, bureau.id)
        if rb is not None:
            found.add(rb)
    return frozenset(found)
