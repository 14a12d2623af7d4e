"""Load generators: Poisson arrivals of routine traffic, seeded, and admission control.

Load the network cannot carry on time is refused where it is offered and counted
(``shed: overload``), so queues and memory stay bounded.
"""

from __future__ import annotations

import random

from protocol import (
    CaseMessage,
    Diffusion,
    MessageBase,
    ToBureaus,
)
from scenarios.injects import search_request
from scenarios.model import LoadGenerator
from scenarios.results import resolve
from scenarios.stage import Stage

__all__ = ["load"]

_MAX_IN_FLIGHT = 1_000
"""Deliveries the network may owe before offered load is refused (about a second of capacity)."""
_MAX_LAG_S = 0.5
"""How far (real seconds) load may fall behind its schedule before it is refused as overload."""
_OUTBOX_SOFT = 2_000
"""Transmissions waiting at one bureau beyond which its offered load is refused as overload."""


async def load(stage: Stage, index: int, gen: LoadGenerator) -> None:
    """Play load generator ``index``: Poisson arrivals, seeded, admitted or shed."""
    rng = random.Random(f"{stage.result.seed}|load|{index}")  # noqa: S311 - traffic model
    senders = resolve(gen.senders, stage.roster)
    targets = resolve(gen.to, stage.roster)
    kinds = list(gen.mix)
    weights = [gen.mix[k] for k in kinds]
    end = stage.s.duration if gen.end is None else min(gen.end, stage.s.duration)
    t = gen.start
    n = 0
    while True:
        t += rng.expovariate(gen.rate)
        if t >= end:
            return
        kind = rng.choices(kinds, weights)[0]
        sender = rng.choice(senders)
        mid = stage.ctx.ids.load(index, n)
        n += 1
        value = f"L{rng.randrange(10**7):07d}"
        choices = [b for b in targets if b != sender] or targets
        recipient = rng.choice(choices)
        if not stage.mine(sender):
            continue  # every worker draws the same traffic; each sends its own bureaus' part
        if stage.ctx.clock.scenario_s() < t:
            await stage.at(t)
        if _overloaded(stage, sender, t, kind):
            continue
        if kind == "search":
            message: MessageBase = search_request(
                stage, mid, sender=sender, database="sltd", value=value, country="FR"
            )
            stage.submit(sender, message)
            continue
        if kind == "diffusion":
            message = Diffusion(
                message_id=mid,
                sender=sender,
                recipients=ToBureaus(bureaus=(recipient,)),
                created_at=stage.now(),
                diffusion_type="information",
                text="Routine information request.",
            )
        else:
            message = CaseMessage(
                message_id=mid,
                sender=sender,
                recipients=ToBureaus(bureaus=(recipient,)),
                created_at=stage.now(),
                case_reference=f"LOAD/{index}/{n}",
                subject="Case follow-up",
                body="Routine case exchange.",
            )
        stage.submit(sender, message)


def _overloaded(stage: Stage, sender: str, due_s: float, kind: str) -> bool:
    """Admission control: refuse, and count, load the network cannot take on time.

    A message is not created at all when the network already owes more than
    ``_MAX_IN_FLIGHT`` deliveries (the backlog would sit in the broker's queues and every
    latency would grow without end), when the generator is more than ``_MAX_LAG_S`` real
    seconds behind its schedule (the event loop is saturated), or when the sender's outbox
    is past ``_OUTBOX_SOFT``. The backlog therefore stays bounded at twice the capacity or
    more, and what was refused is counted where it was offered.
    """
    late_s = stage.ctx.clock.real_s(stage.ctx.clock.scenario_s() - due_s)
    depth = stage.net.backlog(sender)
    owed = stage.ctx.in_flight
    if owed <= _MAX_IN_FLIGHT and late_s <= _MAX_LAG_S and depth <= _OUTBOX_SOFT:
        return False
    stage.net.count(sender, "shed:overload")
    stage.note(
        "shed",
        sender,
        f"offered {kind} refused: {owed} deliveries owed, generator {late_s:.2f} s behind, "
        f"outbox {depth}",
        message_kind=kind,
        reason="overload",
    )
    return True


# faults ----------------------------------------------------------------------------------
