"""Blind relaying: passing a verified envelope on towards recipients reached through this bureau.

A relay never opens what it passes on (it is not a recipient of those entries); it checks the
signature and passes the same bytes on. A second copy is usually the sender's resend to
recipients that have not acknowledged, which must get through: it is passed on again once
:attr:`Relay.again_after` has passed since the last (the recipients tell duplicates apart).
Copies closer together are a broker's redelivery or a flood; passing each on would multiply it
by the fan-out.
"""

from __future__ import annotations

from collections import OrderedDict

from bureaus.core.link import Link
from bureaus.core.outputs import Emitter, Now
from bureaus.core.world import World
from bureaus.events import Hop
from bureaus.outbox import Transmission
from protocol.errors import Reason, Rejection
from protocol.network.routing import next_hops
from protocol.security.envelope import Header

__all__ = ["RELAYED_KEPT", "Relay"]

RELAYED_KEPT = 100_000
"""Messages a relay remembers passing on (the oldest are forgotten first)."""


class Relay:
    """What one bureau passes on, and when it last did.

    Args:
        bureau: Whose.
        world: Routing, and which bureaus relay at all.
        link: Where transmissions are queued.
        emit: Where events go.
        again_after: Link seconds before another copy of the same message is passed on.
    """

    def __init__(
        self, bureau: str, world: World, link: Link, emit: Emitter, again_after: float
    ) -> None:
        self.bureau = bureau
        self.world = world
        self.again_after = again_after
        self._link = link
        self._emit = emit
        # (sender, message id): last passed on (link seconds)
        self._relayed: OrderedDict[tuple[str, str], float] = OrderedDict()

    def forget(self) -> None:
        """A restart without a journal: nothing remembered as relayed."""
        self._relayed.clear()

    def pass_on(self, header: Header, finals: list[str], data: bytes, now: Now) -> bool:
        """Pass a verified envelope on towards ``finals``; False when none is reached through here.

        Raises:
            Rejection: ``duplicate``: a copy of this message was passed on moments ago.
        """
        if not finals or self.bureau not in self.world.relays:
            return False
        world = self.world
        sender, mid = header.sender, str(header.message_id)
        hops = next_hops(world.topology, world.roster, sender, finals, self.bureau)
        if not hops:
            return False
        again = self._remember(sender, mid, now)
        for hop, reached in hops.items():
            self._emit.out.work.relayed += 1
            self._emit.record(
                Hop,
                now,
                message_id=mid,
                message_kind=header.kind,
                peer=hop,
                size=len(data),
                via="relay-again" if again else "relay",
                reached=len(reached),
                detail=("blind relay, again, " if again else "blind relay ")
                + f"towards {len(reached)} bureaus",
            )
            self._link.queue(
                Transmission(hop, data, mid, header.kind, header.priority, now.ns, origin=sender),
                now,
            )
        return True

    def _remember(self, sender: str, mid: str, now: Now) -> bool:
        """Note a copy passed on now; whether one was passed on before."""
        key = (sender, mid)
        last = self._relayed.get(key)
        if last is not None:
            since_s = now.t - last
            if since_s < self.again_after:
                raise Rejection(
                    Reason.DUPLICATE,
                    f"a copy was passed on {since_s * 1000:.0f} ms ago: passed on again only "
                    f"after {self.again_after:g} s",
                    sender=sender,
                    message_id=mid,
                )
            self._emit.tally("relayed_again")
        self._relayed[key] = now.t
        self._relayed.move_to_end(key)
        if len(self._relayed) > RELAYED_KEPT:
            self._relayed.popitem(last=False)
        return last is not None
