"""A network of bureaus in one process: keys, broker credentials, start and stop.

:func:`generate_pki` makes a throwaway PKI in memory for a run (a GS root and one certificate per
bureau); :class:`Network` builds one :class:`~bureaus.node.Bureau` per roster entry, each with its
own codec, trust store copy and broker credential, starts them as named tasks and waits until
every one is connected and subscribed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from uuid import UUID

from broker import BrokerSecurity, bureau_password, topic_rules
from bureaus.context import NetworkContext
from bureaus.core import BureauCore
from bureaus.errors import BureauError, NotKept
from bureaus.keystore import record_revocation, record_rotation
from bureaus.links import LinkOverride
from bureaus.node import AckStatus, Bureau
from bureaus.verifier import SignatureHelper
from protocol import MessageBase, Region, Roster, topics
from protocol.messages.caveats import Breach as CaveatBreach
from protocol.messages.caveats import CaveatPolicy
from protocol.network.routing import reach, reaches_every_inbox
from protocol.security.envelope import EnvelopeCodec
from protocol.security.pki import (
    BureauCredentials,
    BureauIdentity,
    CertificateAuthority,
    TrustStore,
)
from protocol.security.suites import REAL, Suite

__all__ = ["Network", "NetworkStartError", "Pki", "generate_pki"]

_STOP_S = 15.0
"""Seconds to wait for stopping bureaus before leaving them cancelled."""
_GRACE = timedelta(hours=1)
"""How long a rotated-out key still decrypts what was sealed to it."""


class NetworkStartError(BureauError):
    """Bureaus that did not connect in time (with the last error each saw)."""


@dataclass
class Pki:
    """Keys and trust for a run: the root, every bureau's identity, a verified trust store."""

    authority: CertificateAuthority
    identities: dict[str, BureauIdentity]
    trust: TrustStore
    directory: Path | None = None
    """Where the PKI is kept (``--pki DIR``): revocations and rotations are written back to it,
    so they last into the next run (:func:`bureaus.keystore.record_revocation`)."""


def generate_pki(roster: Roster, now: datetime, validity: timedelta = timedelta(days=30)) -> Pki:
    """A throwaway PKI for a roster (keys from the OS random source, never written to disk)."""
    authority = CertificateAuthority.create(now - timedelta(minutes=5), validity)
    identities = {b.id: authority.issue(b, now - timedelta(minutes=5), validity) for b in roster}
    trust = TrustStore(authority.root_certificate, roster=roster)
    for identity in identities.values():
        trust.add(identity.certificate.der)
    return Pki(authority, identities, trust)


class Network:
    """Every bureau of a roster, live, in this process."""

    def __init__(
        self,
        ctx: NetworkContext,
        pki: Pki,
        *,
        secured: bool = True,
        outbox_limit: int = 10_000,
        suite: Suite = REAL,
    ) -> None:
        self.ctx = ctx
        self.pki = pki
        self.secured = secured
        self.passwords = {
            b: bureau_password(i) for b, i in pki.identities.items() if b in ctx.roster
        }
        self.bureaus: dict[str, Bureau] = {}
        for info in ctx.roster:
            codec = EnvelopeCodec(
                BureauCredentials(pki.identities[info.id]),
                pki.trust.copy(),
                roster=ctx.roster,
                run=ctx.run_id,
                suite=suite,
            )
            core = BureauCore(info, codec, ctx.world, outbox_limit=outbox_limit)
            self.bureaus[info.id] = Bureau(core, self.passwords[info.id] if secured else None, ctx)
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def security(self) -> BrokerSecurity:
        """Broker credentials and ACLs for this network's roster and topology."""
        return BrokerSecurity(
            passwords=self.passwords,
            rules=topic_rules(
                self.ctx.roster,
                None  # every inbox: one table shared by every bureau's rules
                if reaches_every_inbox(self.ctx.topology)
                else reach(self.ctx.topology, self.ctx.roster),
            ),
        )

    def __getitem__(self, bureau: str) -> Bureau:
        return self.bureaus[bureau]

    async def start(
        self, ids: Iterable[str] | None = None, timeout: float = 30.0, *, batch: int | None = None
    ) -> None:
        """Start bureaus (all by default) and wait until each is connected and subscribed.

        Args:
            ids: The bureaus to start.
            timeout: Seconds for all of them together.
            batch: Start this many at a time, each group once the one before is ready. ``None``:
                all at once on a single broker, 100 at a time on a cluster, where every
                subscription makes the nodes create a replicated queue, and a thousand asked for
                at once were refused and retried until start-up timed out.

        Raises:
            NetworkStartError: Some did not get there within ``timeout`` seconds.
        """
        wanted = list(ids) if ids is not None else list(self.bureaus)
        ctx = self.ctx
        if ctx.verify_processes and ctx.verifier is None and not ctx.clock.virtual:
            ctx.verifier = await SignatureHelper.start(ctx.verify_processes)
        if self.ctx.cluster:
            # each subscription is a replicated queue on the nodes: a second one per bureau
            # (the broadcast topic) would double what start-up asks of them, so on a cluster
            # the General Secretariat sends inbox by inbox
            self.ctx.world.broadcast = False
        if batch is None:
            batch = 100 if self.ctx.cluster else len(wanted)
        deadline = asyncio.get_running_loop().time() + timeout
        step = max(1, batch)
        for at in range(0, len(wanted), step):
            group = wanted[at : at + step]
            self._launch(group)
            if not await self._ready(group, deadline):
                break
        late = [b for b in wanted if not self.bureaus[b].ready.is_set()]
        if late:
            raise self._start_error(late, timeout)

    def _launch(self, group: list[str]) -> None:
        """Start the bureaus of ``group`` that are not running."""
        for bureau_id in group:
            if bureau_id in self._tasks and not self._tasks[bureau_id].done():
                continue
            bureau = self.bureaus[bureau_id]
            bureau.ready.clear()
            self._tasks[bureau_id] = asyncio.create_task(bureau.run(), name=f"bureau[{bureau_id}]")

    async def _ready(self, group: list[str], deadline: float) -> bool:
        """Wait until every bureau of ``group`` is ready, or the deadline; whether they are."""
        waits = [asyncio.create_task(self.bureaus[b].ready.wait()) for b in group]
        left = deadline - asyncio.get_running_loop().time()
        _done, pending = await asyncio.wait(waits, timeout=max(0.0, left))
        for task in pending:
            task.cancel()
        return not pending

    def _start_error(self, late: list[str], timeout: float) -> NetworkStartError:
        errors = sorted(e for e in {self.bureaus[b].last_error for b in late} if e)
        more = "..." if len(late) > 5 else ""
        why = f": {'; '.join(errors)[:300]}" if errors else ""
        return NetworkStartError(
            f"{len(late)} bureaus not connected after {timeout:g} s "
            f"({', '.join(late[:5])}{more}){why}"
        )

    async def stop(self, ids: Iterable[str] | None = None, *, graceful: bool = True) -> None:
        """Stop bureaus (all by default); graceful stops announce death on presence first."""
        wanted = list(ids) if ids is not None else list(self._tasks)
        stopping = []
        for bureau_id in wanted:
            if graceful:
                await self.bureaus[bureau_id].close()
            task = self._tasks.pop(bureau_id, None)
            if task is not None:
                task.cancel()
                stopping.append(task)
        if stopping:
            # a connection whose broker stopped answering must not hold the stop up: its
            # transport gives up the DISCONNECT handshake after a few seconds (see transport.py)
            _done, late = await asyncio.wait(stopping, timeout=_STOP_S)
            for task in late:
                task.cancel()
            for task in stopping:
                if task.done() and not task.cancelled():
                    with contextlib.suppress(Exception):
                        task.exception()  # seen: a stopping bureau's error is not news
        if not self._tasks and self.ctx.verifier is not None:
            verifier, self.ctx.verifier = self.ctx.verifier, None
            await verifier.close()  # nobody left to verify for

    async def crash(self, ids: Iterable[str], *, journal: bool) -> None:
        """Crash bureaus: stop them without a word, and lose what only their processes held.

        They come back with :meth:`start`: from their journals, or, without, remembering nothing
        (:meth:`Bureau.crash <bureaus.node.Bureau.crash>`).
        """
        wanted = list(ids)
        await self.stop(wanted, graceful=False)
        for bureau_id in wanted:
            self.bureaus[bureau_id].crash(journal=journal)

    async def revoke(self, serials: Iterable[int]) -> bytes:
        """Have the General Secretariat sign and publish a revocation list (retained).

        Every bureau of this process applies the list at once, at the moment of revocation,
        whatever the load on the host or the broker: nothing a revoked member sends after it is
        accepted here. Bureaus of other processes apply it when the broker delivers it.

        Returns:
            The list as published (DER).
        """
        gs = self.bureaus["gs"]
        trust = gs.codec.trust
        number = max(trust.crl_number, 0) + 1
        revoked = set(trust.revoked) | set(serials)
        now = self.ctx.clock.wall()
        crl = self.pki.authority.revocation_list(revoked, number, now)
        if self.pki.directory is not None:
            added = revoked - set(trust.revoked)
            record_revocation(
                self.pki.directory, crl, serials=added, run=self.ctx.run_id.hex(), at=now
            )
        for bureau in self.bureaus.values():
            bureau.receive(topics.CRL, crl)  # the same path as the published list takes
        gs.publish_revocations(crl)
        await asyncio.sleep(0)
        return crl

    # --- commands: what a scenario may do to the network -----------------------------------

    def configure(self, *, inbox_limit: int, caveats: CaveatPolicy) -> None:
        """Set, for every bureau, how many deliveries it keeps and its caveat policy."""
        for node in self.bureaus.values():
            node.core.inbox_limit = inbox_limit
            node.core.caveats = caveats

    def set_player(self, bureau: str, *, inbox_limit: int) -> None:
        """A person plays ``bureau``: it acknowledges nothing by itself and keeps more."""
        core = self.bureaus[bureau].core
        core.acknowledge = False
        core.inbox_limit = inbox_limit

    def set_schema_version(self, bureau: str, version: str) -> None:
        """``bureau`` writes messages as schema ``version``."""
        self.bureaus[bureau].codec.schema_version = version

    def rotate_keys(
        self, bureau: str, *, validity: timedelta = timedelta(days=30), grace: timedelta = _GRACE
    ) -> int:
        """Give ``bureau`` a new certificate, announced to every bureau of this process.

        Returns:
            The new certificate's serial number.
        """
        clock = self.ctx.clock
        identity = self.pki.authority.issue(self.ctx.roster.get(bureau), clock.wall(), validity)
        self.bureaus[bureau].core.rotate(identity, clock.now(), grace)
        old = self.pki.identities[bureau]
        self.pki.identities[bureau] = identity
        if self.pki.directory is not None:
            record_rotation(
                self.pki.directory,
                identity,
                replaced=old.certificate.serial,
                run=self.ctx.run_id.hex(),
                at=clock.wall(),
            )
        for other in self.bureaus.values():
            other.core.trust(identity.certificate.der)
            other.codec.trust.rotation_grace = grace  # the old key signs no longer after it
        return identity.certificate.serial

    def degrade(
        self, override: LinkOverride, *, bureau: str | None = None, region: Region | None = None
    ) -> None:
        """Change the links of ``bureau`` (or of every bureau of ``region``)."""
        if region is not None:
            self.ctx.links.regions[region] = override
        elif bureau is not None:
            self.ctx.links.bureaus[bureau] = override

    def restore(self, *, bureau: str | None = None, region: Region | None = None) -> None:
        """Undo :meth:`degrade`."""
        if region is not None:
            self.ctx.links.regions.pop(region, None)
        elif bureau is not None:
            self.ctx.links.bureaus.pop(bureau, None)

    def send(
        self, bureau: str, message: MessageBase, to: Sequence[str] | None = None
    ) -> bytes | None:
        """``bureau`` sends ``message`` (a failure is recorded as ``shed: send_failed``).

        Returns:
            The sealed envelope, or ``None`` when it could not be sent.
        """
        return self.bureaus[bureau].send(message, to)

    def received(self, bureau: str, message_id: str) -> MessageBase | None:
        """A message ``bureau`` received and still keeps (``None``: never, or no longer)."""
        return self.bureaus[bureau].inbox.get(message_id)

    def inbox(self, bureau: str) -> list[tuple[str, MessageBase]]:
        """What ``bureau`` keeps of its deliveries, oldest first, as (message id, message)."""
        return list(self.bureaus[bureau].inbox.items())

    def forward(
        self,
        bureau: str,
        message_id: str,
        to: Sequence[str],
        new_id: UUID,
        *,
        permission: bool = False,
    ) -> tuple[bool, list[CaveatBreach]]:
        """``bureau`` forwards a message it received, under its caveats.

        Returns:
            Whether a copy was sent, and the caveats the forward breaks.

        Raises:
            NotKept: ``bureau`` keeps no such message.
        """
        out = self.bureaus[bureau].forward(message_id, to, new_id, permission=permission)
        return out.ok, out.breaches

    def reply(self, bureau: str, message_id: str, reply: MessageBase) -> None:
        """``bureau`` replies to a message it keeps; a played bureau's reply answers it.

        Raises:
            NotKept: ``bureau`` keeps no such message.
        """
        self.bureaus[bureau].reply(message_id, reply)

    def answer(self, bureau: str, message_id: str, status: AckStatus) -> MessageBase:
        """The person playing ``bureau`` acknowledges a message it keeps.

        Raises:
            NotKept: ``bureau`` keeps no such message.
        """
        message = self.bureaus[bureau].inbox.get(message_id)
        if message is None:
            raise NotKept(bureau, message_id)
        self.bureaus[bureau].answer(message, status)
        return message

    def cancel_notice(
        self, requester: str, request_id: UUID, message_id: UUID, reason: str
    ) -> bool:
        """The General Secretariat cancels ``requester``'s notice, if its lifecycle allows it."""
        return self.bureaus["gs"].cancel_notice(requester, request_id, message_id, reason)

    def count(self, bureau: str, what: str) -> None:
        """Count something that happened at ``bureau`` outside its core.

        Offered load refused at the source, a gateway's refusal: counted with the bureau's own.
        """
        self.bureaus[bureau].counters[what] += 1

    def backlog(self, bureau: str) -> int:
        """Transmissions waiting in ``bureau``'s outbox."""
        return len(self.bureaus[bureau].outbox)

    def unacknowledged(self, bureau: str) -> int:
        """Messages ``bureau`` sent that some recipient has not acknowledged yet."""
        return len(self.bureaus[bureau].pending)

    def owed(self) -> set[tuple[str, str]]:
        """(message id, recipient) pairs some sender still awaits an acknowledgement for."""
        return {
            (mid, recipient)
            for bureau in self.bureaus.values()
            for mid, pending in bureau.core.pending.items()
            for recipient in pending.remaining
        }

    def online(self, bureau: str) -> bool:
        """Whether ``bureau`` is connected to the broker now."""
        return self.bureaus[bureau].connected.is_set()

    def seal_again(self, bureau: str, message: MessageBase, to: Sequence[str]) -> bytes:
        """``bureau``'s keys seal ``message`` afresh, sent nowhere (how a member replays)."""
        return self.bureaus[bureau].codec.seal_at(message, self.ctx.clock.wall(), to=to)

    async def publish_raw(self, bureau: str, topic: str, payload: bytes) -> None:
        """``bureau``'s connection publishes bytes as they are (hostile traffic in scenarios).

        Raises:
            BrokerError: ``bureau`` is not connected, or the broker refused.
        """
        await self.bureaus[bureau].publish_raw(topic, payload)

    async def revoke_bureaus(self, bureaus: Iterable[str]) -> bytes:
        """Revoke the current certificates of ``bureaus`` (see :meth:`revoke`)."""
        return await self.revoke(self.pki.identities[b].certificate.serial for b in bureaus)

    def busy(self) -> bool:
        """Whether anything is being sealed, queued, held on a link, or waiting for the broker."""
        return any(
            b.sealing or len(b.outbox) or b.in_transit or len(b.inputs)
            for b in self.bureaus.values()
        )

    async def settle(self, quiet_s: float = 0.3, timeout: float = 30.0) -> None:
        """Wait until no event has been recorded for ``quiet_s`` seconds and outboxes are empty."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        last = -1
        while loop.time() < deadline:
            count = self.ctx.events.recorded
            busy = self.busy()
            if count == last and not busy:
                return
            last = count
            await asyncio.sleep(quiet_s)

    async def __aenter__(self) -> Network:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
