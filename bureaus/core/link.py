"""A bureau's side of the network: its outbox, the link model applied, and what the broker took.

The outbox holds transmissions until the driver is online. Draining it applies the link model:
a scripted outage holds a transmission until the link is back, a modelled loss retries after a
transport's timeout, and everything else goes out with its modelled delay. The link counts each
message's transmissions from queueing until the broker acknowledged or the outbox shed them, so
the delivery part knows whether a copy still waits before sending another.
"""

from __future__ import annotations

from collections import Counter

from bureaus.core.outputs import Emitter, Now, Send
from bureaus.core.timers import LossTimeout, OutageOver, TimerQueue
from bureaus.core.world import BROADCAST, World
from bureaus.events import Shed, trace_key
from bureaus.outbox import Outbox, OutboxFull, Transmission
from protocol import topics

__all__ = ["Link"]


class Link:
    """The outbox of one bureau and the link model between it and its next hops.

    Args:
        bureau: Whose link.
        world: The link model.
        limit: Transmissions the outbox holds before shedding.
        emit: Where events go.
        timers: Where outage ends and loss timeouts are set.
    """

    def __init__(
        self, bureau: str, world: World, limit: int, emit: Emitter, timers: TimerQueue
    ) -> None:
        self.bureau = bureau
        self.world = world
        self.outbox = Outbox(limit)
        self.online = False
        """Whether the driver can publish now (the outbox drains only then)."""
        self._emit = emit
        self._timers = timers
        self._queued: Counter[str] = Counter()
        self._handed: dict[int, Transmission] = {}
        """Transmissions handed to the driver and not yet acknowledged by the broker (by id)."""

    def queue(
        self, item: Transmission, now: Now, *, front: bool = False, again: bool = False
    ) -> None:
        """Put a transmission in the outbox (``again``: one put back, already counted).

        Raises:
            OutboxFull: The outbox is full of urgent and flash traffic (the item is shed).
        """
        if not again:
            self._queued[item.message_id] += 1
        try:
            shed = self.outbox.put(item, front=front)
        except OutboxFull as exc:
            self._shed(item, now, str(exc))
            raise
        if shed is not None:
            self._shed(shed, now, "oldest routine transmission shed for newer traffic")

    def drain(self, now: Now) -> None:
        """Send what the outbox holds, as far as the driver is online."""
        while self.online:
            item = self.outbox.pop()
            if item is None:
                return
            if item.next_hop == BROADCAST:
                self._handed[id(item)] = item
                self._emit.send(Send(topics.broadcast("all"), item.envelope, item=item))
            else:
                self._transmit(item, now)

    def _transmit(self, item: Transmission, now: Now) -> None:
        links = self.world.links
        back_at = links.down_until(self.bureau, item.next_hop, now.s)
        if back_at is not None:
            self._emit.tally("held:outage")
            self._timers.at(back_at, OutageOver(item))
            return
        delay = links.delay_ms(self.bureau, item.next_hop, item.message_id, item.attempt)
        key = trace_key(item.origin or self.bureau, item.message_id)
        self._emit.hold(key, self.bureau, item.next_hop, delay)
        if links.lost(self.bureau, item.next_hop, item.message_id, item.attempt):
            # the modelled link lost this attempt: try again after a timeout, as a transport
            self._emit.tally("link_losses")
            item.attempt += 1
            timeout = max(200.0, 3 * delay)
            self._emit.hold(key, self.bureau, item.next_hop, timeout)
            self._timers.at(now.t + (delay + timeout) / 1000, LossTimeout(item))
            return
        self._handed[id(item)] = item
        topic = topics.inbox(item.next_hop)
        self._emit.send(Send(topic, item.envelope, delay / 1000, item=item))
        copy_ms = links.copy_ms(self.bureau, item.next_hop, item.message_id, item.attempt)
        if copy_ms is not None:
            # the modelled network duplicates this attempt: the copy is nobody's transmission
            self._emit.tally("link_duplicates")
            self._emit.send(Send(topic, item.envelope, copy_ms / 1000))

    def published(self, item: Transmission) -> None:
        """The broker acknowledged a transmission (PUBACK)."""
        if self._handed.pop(id(item), None) is None:
            return  # handed over before a restart: it went with the process
        self._dequeued(item.message_id)
        self._emit.tally("transmitted")

    def failed(self, item: Transmission, now: Now) -> None:
        """A transmission did not reach the broker: back to the front of the outbox."""
        if self._handed.pop(id(item), None) is None:
            return  # handed over before a restart: it went with the process
        self._emit.tally("publish_retries")
        self.queue(item, now, front=True, again=True)

    def restart(self, *, journal: bool) -> None:
        """The process died: what it had handed to the connection is gone.

        The message's resends bring it again. Without a journal, the outbox is gone too.
        """
        for item in self._handed.values():
            self._dequeued(item.message_id)
        self._handed.clear()
        if not journal:
            self.outbox = Outbox(self.outbox.limit)
            self._queued.clear()

    def waiting(self, message_id: str) -> int:
        """Transmissions of a message not yet acknowledged by the broker."""
        return self._queued[message_id]

    def queued_ids(self) -> list[str]:
        """Messages with a transmission the broker has not acknowledged yet."""
        return list(self._queued)

    def _shed(self, item: Transmission, now: Now, detail: str) -> None:
        self._dequeued(item.message_id)
        self._emit.record(
            Shed,
            now,
            message_id=item.message_id,
            message_kind=item.kind,
            peer=item.next_hop,
            reason="outbox_full",
            detail=detail,
        )

    def _dequeued(self, message_id: str) -> None:
        self._queued[message_id] -= 1
        if self._queued[message_id] <= 0:
            del self._queued[message_id]
