"""Scripted faults, at their times.

Bureaus offline, links degraded or cut, the broker restarted, a member's account compromised.
"""

from __future__ import annotations

import asyncio
import random
from typing import TYPE_CHECKING

from bureaus import (
    LinkOverride,
)
from protocol import (
    Diffusion,
    ToBureaus,
    topics,
)
from scenarios.model import (
    BrokerRestartFault,
    Compromised,
    CompromisedFault,
    CutFault,
    DegradeFault,
    OfflineFault,
)
from scenarios.results import resolve

if TYPE_CHECKING:
    from scenarios.player import Player

__all__ = ["fault"]


async def fault(player: Player, index: int) -> None:
    """Play fault ``index`` at its times."""
    match player.s.faults[index]:
        case OfflineFault(offline=window):
            bureaus = [b for b in _affected(player, window.bureau, window.region) if player.mine(b)]
            if not bureaus:
                return
            await player.at(window.start)
            player.note("fault", ",".join(bureaus), f"offline until {player.label(window.end)}")
            await player.net.stop(bureaus, graceful=False)
            await player.at(window.end)
            await player.net.start(bureaus)
            player.note("fault", ",".join(bureaus), "back online")
        case DegradeFault(degrade=window):
            where = window.bureau or f"region:{window.region}"
            await player.at(window.start)
            override = LinkOverride(extra_ms=window.extra_ms, loss=window.loss)
            player.net.degrade(override, bureau=window.bureau, region=window.region)
            player.lead_note(
                where, f"links degraded (+{window.extra_ms:g} ms, loss {window.loss:g})"
            )
            await player.at(window.end)
            player.net.restore(bureau=window.bureau, region=window.region)
            player.lead_note(where, "links restored")
        case CutFault(cut=window):
            where = window.bureau or f"region:{window.region}"
            await player.at(window.start)
            player.lead_note(where, f"links cut until {player.label(window.end)}")
            await player.at(window.end)
            player.lead_note(where, "links restored")
        case BrokerRestartFault(broker_restart=restart):
            await player.at(restart.at)
            await _restart_broker(player, persistence=restart.persistence)
        case CompromisedFault(compromised=spec) if player.mine(spec.bureau):
            await _compromised(player, spec)


async def _restart_broker(player: Player, *, persistence: bool = True) -> None:
    if player.memory is not None:
        player.note("fault", "broker", "broker killed")
        player.memory.restart(persistence=persistence)
        player.note(
            "fault", "broker", "broker restarted" + ("" if persistence else ", remembering nothing")
        )
        return
    if not persistence:
        player.note(
            "fault",
            "broker",
            "persistence: false is modelled by the in-memory broker only; this broker restarts "
            "as it is configured",
        )
    if player.broker is None:
        player.note("fault", "broker", "restart skipped: the broker is external")
        return
    player.note("fault", "broker", "broker killed")
    await asyncio.to_thread(player.broker.kill)
    await asyncio.to_thread(player.broker.restart)
    player.note("fault", "broker", "broker restarted")


def _affected(player: Player, bureau: str | None, region: str | None) -> list[str]:
    if bureau is not None:
        return resolve(bureau, player.roster)
    return resolve(f"region:{region}", player.roster)


async def _compromised(player: Player, spec: Compromised) -> None:
    await player.at(spec.at)
    net = player.net
    player.note("fault", spec.bureau, f"compromised: sending hostile traffic to {spec.target}")
    rng = random.Random(f"{player.result.seed}|hostile|{spec.bureau}")  # noqa: S311
    inbox = topics.inbox(spec.target)
    base = Diffusion(
        message_id=player.ctx.ids.hostile(spec.bureau),
        sender=spec.bureau,
        recipients=ToBureaus(bureaus=(spec.target,)),
        created_at=player.now(),
        diffusion_type="information",
        text="Genuine message, soon replayed.",
    )
    genuine = net.send(spec.bureau, base)
    if genuine is None:
        return  # could not even send its genuine message (recorded as shed)
    # the copies replay a message the target has accepted: wait (up to 2 s) until it has
    for _ in range(100):
        if player.ctx.events.of("delivered", bureau=spec.target, message_id=str(base.message_id)):
            break
        await asyncio.sleep(0.02)
    for n in range(spec.forged):
        forged = bytearray(genuine)
        forged[200 + n % 50] ^= 0x5A  # inside the signed bytes: the signature breaks
        await net.publish_raw(spec.bureau, inbox, bytes(forged))
    for _ in range(spec.replayed):
        # the same message id under a fresh seal: what a replay by a member's own keys looks
        # like (the very same bytes again would be taken for a resend: a duplicate)
        again = net.seal_again(spec.bureau, base, [spec.target])
        await net.publish_raw(spec.bureau, inbox, again)
    for _ in range(spec.garbage):
        garbage = rng.randbytes(rng.randrange(1, 250))  # too short: malformed
        await net.publish_raw(spec.bureau, inbox, garbage)


# the whole play --------------------------------------------------------------------------
