"""The driver of one bureau: it feeds a :class:`~bureaus.core.BureauCore` from a transport.

Theory of operation (aioquic's ``asyncio/protocol.py`` to the core's ``connection.py``). A
:class:`Bureau` owns what the core must not touch: the connection, the event loop's timers and
the clock. It runs three named tasks in a ``TaskGroup``:

- ``bureau[ID].connection``: its :class:`~bureaus.session.Session` keeps one transport
  connection (persistent session, presence, checked subscriptions, reconnects, and inbox probes
  on a cluster) and puts every received message in its sender's lane;
- ``bureau[ID].inputs`` hands the lanes' messages to the core, in turn;
- ``bureau[ID].timers`` wakes the core when :meth:`~bureaus.core.BureauCore.next_timer` says.

Whatever the core returns is applied: events go to the shared log, each transmission is
published at QoS 1 on the next turn of the loop (after its modelled delay, if any, in a
``bureau[ID].link`` task), and the core is told whether the broker took it: no task and no wait
per message on a live link. The same driver runs live (wall clock, aiomqtt to a real broker) and
in simulation (virtual clock, the in-memory broker), where a service-time model
(:class:`~bureaus.service.ServiceTimes`) makes the bureau's work take virtual time: inputs wait
while the bureau is busy, and what it sends leaves when its work is done.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from collections import Counter, OrderedDict
from collections.abc import Coroutine, Sequence
from typing import Any
from uuid import UUID

from broker import BrokerError, BrokerTarget
from bureaus.context import NetworkContext
from bureaus.core import AckStatus, BureauCore, Now, Outputs, Send
from bureaus.core.commands import (
    Answer,
    Cancel,
    Command,
    Forward,
    PublishRevocations,
    Reply,
    Restart,
    Submit,
)
from bureaus.fairness import FairQueue, lane_of
from bureaus.outbox import Outbox
from bureaus.session import Session
from protocol import MessageBase, topics
from protocol.messages.lifecycle import NoticeLifecycle
from protocol.security.envelope import EnvelopeCodec

__all__ = ["AckStatus", "Bureau", "NetworkContext"]

_EPS = 1e-6
"""Timers this close are due (virtual time moves in microseconds)."""
_YIELD_EVERY = 8
"""Messages handled before the input loop lets the connection sort new arrivals into lanes."""


class Bureau:
    """A bureau node: a core, one connection, its timers."""

    lane_limit: int = 2_000
    """What one sender may have waiting at this bureau before more of it is refused."""
    fair_share: bool = True
    """Serve the senders' lanes in turn (``False``: in arrival order, for comparisons)."""

    def __init__(self, core: BureauCore, password: str | None, ctx: NetworkContext) -> None:
        """Drive ``core`` (made with ``ctx.world``) with ``password`` as its broker credential."""
        self.core = core
        self.info = core.info
        self.id = core.id
        self.password = password
        self.ctx = ctx
        self.session = Session(
            self.id, password, ctx, core.counters, admit=self._admit, online=self._set_online
        )
        """The broker connection (reconnects, subscriptions, presence, inbox probes)."""
        self.connected = self.session.connected
        self.ready = self.session.ready
        self._tasks: set[asyncio.Task[None]] = set()
        self._poke = asyncio.Event()
        self.inputs: FairQueue[tuple[str, bytes, bool]] = FairQueue(
            self.lane_limit, fair=self.fair_share
        )
        """What the connection read and the core has not handled yet: a lane per sender,
        served in turn (:mod:`bureaus.fairness`)."""
        self._input_ready = asyncio.Event()
        self._timer_for: tuple[float | None, float | None] = (None, None)
        """The core's next timer as the timer loop last saw it."""
        self._busy_until = 0.0
        """Simulation: link time at which the bureau's current work is done."""
        self.in_transit = 0
        """Transmissions held for their modelled delay or waiting for the broker."""
        self.sealing = 0
        """Messages posted and with the helper for their seal (:meth:`post`)."""
        self._inbox = topics.inbox(self.id)
        self._lives = 0
        """Crashes so far: what was read before one is not handled after it."""
        self._epoch = 0
        """Stops and crashes so far: a publish from before one is not reported to the core."""
        self._ahead: Counter[str] = Counter()
        """Envelopes with the signature helper, by lane (they count against the lane's bound)."""

    @property
    def broker_node(self) -> BrokerTarget | None:
        """The broker (or cluster node) this bureau last connected to."""
        return self.session.broker_node

    @property
    def last_error(self) -> str | None:
        """Why the last connection ended, if it failed."""
        return self.session.last_error

    # --- the core's state, for callers that look ----------------------------------------------

    @property
    def codec(self) -> EnvelopeCodec:
        """The core's envelope codec."""
        return self.core.codec

    @property
    def counters(self) -> Counter[str]:
        """What the bureau counted."""
        return self.core.counters

    @property
    def outbox(self) -> Outbox:
        """Transmissions waiting to leave."""
        return self.core.outbox

    @property
    def pending(self) -> dict[str, Any]:
        """Sent messages not yet acknowledged by every recipient."""
        return self.core.pending

    @property
    def inbox(self) -> OrderedDict[str, MessageBase]:
        """The latest delivered messages, by id."""
        return self.core.inbox

    @property
    def published(self) -> dict[tuple[str, UUID], str]:
        """Notice requests this bureau (the GS) published: (requester, request id) to entity."""
        return self.core.published_notices

    @property
    def notices(self) -> dict[tuple[str, UUID], NoticeLifecycle]:
        """The lifecycle of every notice this bureau (the GS) was asked for."""
        return self.core.notices

    @property
    def acknowledge(self) -> bool:
        """Whether deliveries are acknowledged automatically (``False``: a person plays it)."""
        return self.core.acknowledge

    @acknowledge.setter
    def acknowledge(self, value: bool) -> None:
        self.core.acknowledge = value

    @property
    def inbox_limit(self) -> int:
        """Delivered messages kept for forwarding and players."""
        return self.core.inbox_limit

    @inbox_limit.setter
    def inbox_limit(self, value: int) -> None:
        self.core.inbox_limit = value

    @property
    def resend_after(self) -> float:
        """Link seconds before an unacknowledged message is sent again."""
        return self.core.resend_after

    @resend_after.setter
    def resend_after(self, value: float) -> None:
        self.core.resend_after = value

    # --- applying what the core says ----------------------------------------------------------

    def _now(self) -> Now:
        return self.ctx.clock.now()

    def _apply(self, out: Outputs, *, received: int = 0) -> Outputs:
        """Record the events, and send what the core asks (after its work, in a simulation).

        The process's tracer takes note of the holds and events first: it times each delivery.
        """
        tracer = self.ctx.tracer
        for hold in out.holds:
            tracer.hold(hold.key, hold.a, hold.b, hold.ms)
        for event in out.events:
            tracer.timed(event)
        for event in out.events:
            self.ctx.events.add(event)
        extra = 0.0
        service = self.ctx.service
        if service is not None:
            now_t = self.ctx.clock.link_s()
            start = max(now_t, self._busy_until)
            self._busy_until = start + service.cost_s(out.work, len(out.sends), received)
            extra = self._busy_until - now_t
        for send in out.sends:
            self.in_transit += 1
            wait_s = send.delay_s + extra
            if wait_s > 0:
                self._spawn(self._held(send, wait_s, self._epoch), "link")
            else:
                asyncio.get_running_loop().call_soon(self._publish, send, self._epoch)
        if self.core.next_timer() != self._timer_for:
            self._poke.set()  # the core set a nearer timer (or none is left): look again
        return out

    async def _wait_until_free(self) -> None:
        """Simulation: wait while the bureau is busy with earlier work (queueing)."""
        if self.ctx.service is not None:
            wait = self._busy_until - self.ctx.clock.link_s()
            if wait > 0:
                await asyncio.sleep(wait)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=f"bureau[{self.id}].{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _held(self, send: Send, wait_s: float, epoch: int) -> None:
        try:
            await asyncio.sleep(wait_s)
        except asyncio.CancelledError:
            self.in_transit -= 1
            raise
        self._publish(send, epoch)

    def _publish(self, send: Send, epoch: int) -> None:
        """Publish a transmission, unless the bureau stopped or crashed since it was sent."""
        if epoch != self._epoch:
            self.in_transit -= 1
            return
        then = functools.partial(self._sent, epoch, send)
        self.session.publish_soon(send.topic, send.payload, retain=send.retain, then=then)

    def _sent(self, epoch: int, send: Send, error: BrokerError | None) -> None:
        self.in_transit -= 1
        if epoch != self._epoch:
            return  # the bureau stopped or crashed meanwhile: nobody to tell
        if error is not None:
            self._failed(send)
        elif send.item is not None:
            self.core.published(send.item)

    def _failed(self, send: Send) -> None:
        if send.item is not None:
            self._apply(self.core.publish_failed(send.item, self._now()))
        else:
            self.counters["publish_failed"] += 1  # a presence or clearing: the next one will do

    # --- commands -----------------------------------------------------------------------------

    def handle(self, command: Command) -> Outputs:
        """Carry out a typed command on the core now, and apply what it produced.

        Raises:
            NotKept, CertificateError, OutboxFull, ValueError: As
                :meth:`BureauCore.handle <bureaus.core.BureauCore.handle>` says.
        """
        return self._apply(self.core.handle(command, self._now()))

    def submit(self, message: MessageBase, to: Sequence[str] | None = None) -> bytes:
        """Seal a message for its recipients and queue it for the first hops.

        Returns:
            The sealed envelope.

        Raises:
            CertificateError: A recipient has no valid certificate.
            OutboxFull: The outbox is full of urgent and flash traffic.
        """
        out = self.handle(Submit(message, to, strict=True))
        assert out.envelope is not None
        return out.envelope

    def send(self, message: MessageBase, to: Sequence[str] | None = None) -> bytes | None:
        """Submit; a failure is recorded as ``shed: send_failed`` instead of raised."""
        return self.handle(Submit(message, to)).envelope

    def post(self, message: MessageBase, to: Sequence[str] | None = None) -> None:
        """Submit without waiting for the seal: on a live network with helpers, one seals it.

        The message is checked and its seal order made now (a recipient without a valid
        certificate raises :class:`~protocol.errors.CertificateError` here, as in :meth:`submit`);
        it is submitted once sealed, in the order posted, and what stops it then (a full
        outbox) is recorded as ``shed: send_failed``, as in :meth:`send`. Without a helper, or
        when the helper does not seal it, the core seals it. A crash before it is submitted
        loses it with the process (``lost_in_crash``).
        """
        helper = self.ctx.verifier
        if helper is None:
            self.submit(message, to)
            return
        submit, order = self.core.seal_order(message, self._now(), to)
        self.sealing += 1
        helper.seal(self.codec, order, functools.partial(self._sealed, self._lives, submit))

    def _sealed(self, lives: int, submit: Submit, envelope: bytes | None) -> None:
        self.sealing -= 1
        if lives != self._lives:
            self.counters["lost_in_crash"] += 1
            return
        self.handle(dataclasses.replace(submit, sealed=envelope))

    def answer(self, message: MessageBase, status: AckStatus = "received") -> None:
        """Acknowledge a delivered message (for the person playing the bureau)."""
        self.handle(Answer(message, status))

    def reply(self, message_id: str, reply: MessageBase) -> None:
        """Reply to a delivered message (see :meth:`BureauCore.reply`).

        Raises:
            NotKept: No such message in this bureau's inbox.
        """
        self.handle(Reply(message_id, reply))

    def forward(
        self,
        message_id: str,
        to: Sequence[str],
        new_id: UUID,
        *,
        permission: bool = False,
        originator: str | None = None,
    ) -> Outputs:
        """Pass a delivered message on under its caveats (see :meth:`BureauCore.forward`).

        Returns:
            What it produced: ``ok`` says whether a copy was sent, ``breaches`` the caveats the
            forward breaks.

        Raises:
            NotKept: No such message in this bureau's inbox.
        """
        return self.handle(Forward(message_id, tuple(to), new_id, permission, originator))

    def cancel_notice(
        self, requester: str, request_id: UUID, message_id: UUID, reason: str
    ) -> bool:
        """Cancel a notice this bureau (the GS) published, if its lifecycle allows it."""
        return self.handle(Cancel(requester, request_id, message_id, reason)).ok

    def publish_revocations(self, crl_der: bytes) -> None:
        """Publish a revocation list (retained)."""
        self.handle(PublishRevocations(crl_der))

    async def publish_raw(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish bytes as they are (tests of hostile traffic).

        Raises:
            BrokerError: Not connected, or the broker refused.
        """
        await self.session.publish_raw(topic, payload, retain=retain)

    def receive(self, topic: str, data: bytes, *, retained: bool = False) -> Outputs:
        """Hand one received message to the core now (the connection does this; so can tests)."""
        return self._apply(
            self.core.receive(topic, data, self._now(), retained=retained), received=1
        )

    # --- running ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Run until cancelled."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self.session.run(), name=f"bureau[{self.id}].connection")
            group.create_task(self._input_loop(), name=f"bureau[{self.id}].inputs")
            group.create_task(self._timer_loop(), name=f"bureau[{self.id}].timers")

    def _admit(self, topic: str, data: bytes, retained: bool) -> None:
        """Queue what the connection read in its sender's lane, or refuse it when that is full."""
        lane = lane_of(topic, data)
        verifier = self.ctx.verifier
        if verifier is not None and data and not retained and topic == self._inbox:
            # its signature verified on another core first (bureaus.verifier); a lane that is
            # full with what waits and what the helper holds is refused before any of that
            if self.inputs.full(lane, self._ahead[lane]):
                self._over_share(lane, data)
                return
            self._ahead[lane] += 1
            then = functools.partial(self._verified, self._lives, lane, topic, data)
            verifier.submit(self.core.codec, data, then)
            return
        self._queue(lane, topic, data, retained)

    def _verified(self, lives: int, lane: str, topic: str, data: bytes, ahead: bool) -> None:
        if lives != self._lives:
            self.counters["lost_in_crash"] += 1  # read before a crash: went with the process
            return
        self._ahead[lane] -= 1
        if not self._ahead[lane]:
            del self._ahead[lane]
        if ahead:
            self.counters["signature_verified_ahead"] += 1
        self._queue(lane, topic, data, False)

    def _queue(self, lane: str, topic: str, data: bytes, retained: bool) -> None:
        if self.inputs.put(lane, (topic, data, retained)):
            self._input_ready.set()
            return
        self._over_share(lane, data)

    def _over_share(self, lane: str, data: bytes) -> None:
        self._apply(self.core.over_share(lane, len(data), self.inputs.lane_limit, self._now()))

    async def _input_loop(self) -> None:
        """Hand what was read to the core, the senders' lanes in turn.

        Every few messages the loop yields, so that the connection can sort what has arrived
        meanwhile into its lanes: a message from a quiet sender waits behind a few of a busy
        one's, not behind all of them.
        """
        served = 0
        while True:
            item = self.inputs.pop()
            if item is None:
                self._input_ready.clear()
                await self._input_ready.wait()
                continue
            await self._wait_until_free()
            self._on_message(*item)
            served += 1
            if served % _YIELD_EVERY == 0:
                await asyncio.sleep(0)

    async def _timer_loop(self) -> None:
        """Wake the core when its next timer is due.

        :meth:`_apply` pokes the loop when the core's next timer differs from the one waited for.
        The wait is one event and one timer handle on the loop (not a task per wait): in a
        simulation this loop turns once or more for every message.
        """
        clock = self.ctx.clock
        loop = asyncio.get_running_loop()
        while True:
            at_s, at_t = self._timer_for = self.core.next_timer()
            waits = []
            if at_s is not None:
                # scenario time may stand still (paused) or change speed: look again often
                wait_s = clock.real_s(at_s - clock.scenario_s())
                waits.append(min(wait_s, 0.5) if not clock.virtual else wait_s)
            if at_t is not None:
                waits.append(at_t - clock.link_s())
            self._poke.clear()
            if waits and min(waits) <= _EPS:
                await self._wait_until_free()
                self._apply(self.core.handle_timer(self._now()))
                await asyncio.sleep(0)
                continue
            wake = loop.call_later(min(waits), self._poke.set) if waits else None
            try:
                await self._poke.wait()
            finally:
                if wake is not None:
                    wake.cancel()

    def _on_message(self, topic: str, data: bytes, retained: bool = False) -> None:
        """One received message: the session's probes stay there, the rest goes to the core."""
        if not self.session.took(topic, data, retained):
            self.receive(topic, data, retained=retained)

    def _set_online(self, online: bool) -> None:
        self._apply(self.core.set_online(online, self._now()))

    async def close(self) -> None:
        """Announce death on the presence topic and stop (call before cancelling)."""
        await self.session.close()
        self._epoch += 1
        for task in list(self._tasks):
            task.cancel()

    def abort(self) -> None:
        """Drop the connection without a DISCONNECT (a crash: the broker sends the Will)."""
        self.session.abort()

    def crash(self, *, journal: bool) -> None:
        """The bureau's process died (call it while the bureau is stopped); it starts again.

        What only the process held is gone: messages read from the broker and not yet handled
        (the broker had them acknowledged; their senders' resends bring them again) and
        publishes the broker had not acknowledged. The core comes back from its journal, or,
        without one, remembering nothing (:class:`~bureaus.core.commands.Restart`).
        """
        for task in list(self._tasks):
            task.cancel()
        self._lives += 1
        self._epoch += 1
        self._ahead.clear()
        self.counters["lost_in_crash"] += self.inputs.clear()
        self._busy_until = 0.0
        self._apply(self.core.handle(Restart(journal), self._now()))
