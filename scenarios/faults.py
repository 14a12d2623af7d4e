"""Scripted faults, at their times.

Bureaus offline, links degraded or cut, the broker restarted, a member's account compromised.
"""

from __future__ import annotations

import asyncio
import random

from bureaus import (
    Event,
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
from scenarios.stage import Stage

__all__ = ["fault"]


async def fault(stage: Stage, index: int) -> None:
    """Play fault ``index`` at its times."""
    match stage.s.faults[index]:
        case OfflineFault(offline=window):
            bureaus = [b for b in _affected(stage, window.bureau, window.region) if stage.mine(b)]
            if not bureaus:
                return
            await stage.at(window.start)
            stage.note("fault", ",".join(bureaus), f"offline until {stage.label(window.end)}")
            if window.memory == "kept":
                await stage.net.stop(bureaus, graceful=False)
            else:
                journal = window.memory == "journal"
                await stage.net.crash(bureaus, journal=journal)
                restart = "from its journal" if journal else "remembering nothing"
                stage.note("fault", ",".join(bureaus), f"crashed: will start again {restart}")
            await stage.at(window.end)
            await stage.net.start(bureaus)
            stage.note("fault", ",".join(bureaus), "back online")
        case DegradeFault(degrade=window):
            where = window.bureau or f"region:{window.region}"
            await stage.at(window.start)
            override = LinkOverride(
                extra_ms=window.extra_ms, loss=window.loss, duplicate=window.duplicate
            )
            stage.net.degrade(override, bureau=window.bureau, region=window.region)
            copies = f", duplicates {window.duplicate:g}" if window.duplicate else ""
            stage.lead_note(
                where, f"links degraded (+{window.extra_ms:g} ms, loss {window.loss:g}{copies})"
            )
            await stage.at(window.end)
            stage.net.restore(bureau=window.bureau, region=window.region)
            stage.lead_note(where, "links restored")
        case CutFault(cut=window):
            where = window.bureau or f"region:{window.region}"
            await stage.at(window.start)
            stage.lead_note(where, f"links cut until {stage.label(window.end)}")
            await stage.at(window.end)
            stage.lead_note(where, "links restored")
        case BrokerRestartFault(broker_restart=restart):
            await stage.at(restart.at)
            await _restart_broker(stage, persistence=restart.persistence)
        case CompromisedFault(compromised=spec) if stage.mine(spec.bureau):
            await _compromised(stage, spec)


async def _restart_broker(stage: Stage, *, persistence: bool = True) -> None:
    if stage.memory is not None:
        stage.note("fault", "broker", "broker killed")
        stage.memory.restart(persistence=persistence)
        stage.note(
            "fault", "broker", "broker restarted" + ("" if persistence else ", remembering nothing")
        )
        return
    if not persistence:
        stage.note(
            "fault",
            "broker",
            "persistence: false is modelled by the in-memory broker only; this broker restarts "
            "as it is configured",
        )
    if stage.broker is None:
        stage.note("fault", "broker", "restart skipped: the broker is external")
        return
    stage.note("fault", "broker", "broker killed")
    await asyncio.to_thread(stage.broker.kill)
    await asyncio.to_thread(stage.broker.restart)
    stage.note("fault", "broker", "broker restarted")


def _affected(stage: Stage, bureau: str | None, region: str | None) -> list[str]:
    if bureau is not None:
        return resolve(bureau, stage.roster)
    return resolve(f"region:{region}", stage.roster)


async def _compromised(stage: Stage, spec: Compromised) -> None:
    await stage.at(spec.at)
    net = stage.net
    stage.note("fault", spec.bureau, f"compromised: sending hostile traffic to {spec.target}")
    rng = random.Random(f"{stage.result.seed}|hostile|{spec.bureau}")  # noqa: S311
    inbox = topics.inbox(spec.target)
    base = Diffusion(
        message_id=stage.ctx.ids.hostile(spec.bureau),
        sender=spec.bureau,
        recipients=ToBureaus(bureaus=(spec.target,)),
        created_at=stage.now(),
        diffusion_type="information",
        text="Genuine message, soon replayed.",
    )
    mid = str(base.message_id)
    arrived: list[Event] = []

    def watch(event: Event) -> None:  # the log may keep no routine delivery (a lean run)
        if event.kind == "delivered" and event.bureau == spec.target and event.message_id == mid:
            arrived.append(event)

    stage.ctx.events.listeners.append(watch)
    try:
        genuine = net.send(spec.bureau, base)
        if genuine is None:
            return  # could not even send its genuine message (recorded as shed)
        # the copies replay a message the target has accepted: wait (up to 2 s) until it has
        for _ in range(100):
            if arrived:
                break
            await asyncio.sleep(0.02)
    finally:
        stage.ctx.events.listeners.remove(watch)
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
