"""Load generators: Poisson arrivals of routine traffic, seeded, and admission control.

Load the network cannot carry on time is refused where it is offered and counted
(``shed: overload``), so queues and memory stay bounded.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from protocol import (
    CaseMessage,
    Diffusion,
    MessageBase,
    ToBureaus,
)
from scenarios.injects import search_request
from scenarios.model import LoadGenerator
from scenarios.results import resolve

if TYPE_CHECKING:
    from scenarios.player import Player

__all__ = ["load"]

_MAX_IN_FLIGHT = 1_000
"""Deliveries the network may owe before offered load is refused (about a second of capacity)."""
_MAX_LAG_S = 0.5
"""How far (real seconds) load may fall behind its schedule before it is refused as overload."""
_OUTBOX_SOFT = 2_000
"""Transmissions waiting at one bureau beyond which its offered load is refused as overload."""


async def load(player: Player, index: int, gen: LoadGenerator) -> None:
    """Play load generator ``index``: Poisson arrivals, seeded, admitted or shed."""
    rng = random.Random(f"{player.result.seed}|load|{index}")  # noqa: S311 - traffic model
    senders = resolve(gen.senders, player.roster)
    targets = resolve(gen.to, player.roster)
    kinds = list(gen.mix)
    weights = [gen.mix[k] for k in kinds]
    end = player.s.duration if gen.end is None else min(gen.end, player.s.duration)
    t = gen.start
    n = 0
    while True:
        t += rng.expovariate(gen.rate)
        if t >= end:
            return
        kind = rng.choices(kinds, weights)[0]
        sender = rng.choice(senders)
        mid = player.ctx.ids.load(index, n)
        n += 1
        value = f"L{rng.randrange(10**7):07d}"
        choices = [b for b in targets if b != sender] or targets
        recipient = rng.choice(choices)
        if not player.mine(sender):
            continue  # every worker draws the same traffic; each sends its own bureaus' part
        if player.ctx.clock.scenario_s() < t:
            await player.at(t)
        if _overloaded(player, sender, t, kind):
            continue
        if kind == "search":
            message: MessageBase = search_request(
                player, mid, sender=sender, database="sltd", value=value, country="FR"
            )
            player.submit(sender, message)
            continue
        if kind == "diffusion":
            message = Diffusion(
                message_id=mid,
                sender=sender,
                recipients=ToBureaus(bureaus=(recipient,)),
                created_at=player.now(),
                diffusion_type="information",
                text="Routine information request.",
            )
        else:
            message = CaseMessage(
                message_id=mid,
                sender=sender,
                recipients=ToBureaus(bureaus=(recipient,)),
                created_at=player.now(),
                case_reference=f"LOAD/{index}/{n}",
                subject="Case follow-up",
                body="Routine case exchange.",
            )
        player.submit(sender, message)


def _overloaded(player: Player, sender: str, due_s: float, kind: str) -> bool:
    """Admission control: refuse, and count, load the network cannot take on time.

    A message is not created at all when the network already owes more than
    ``_MAX_IN_FLIGHT`` deliveries (the backlog would sit in the broker's queues and every
    latency would grow without end), when the generator is more than ``_MAX_LAG_S`` real
    seconds behind its schedule (the event loop is saturated), or when the sender's outbox
    is past ``_OUTBOX_SOFT``. The backlog therefore stays bounded at twice the capacity or
    more, and what was refused is counted where it was offered.
    """
    late_s = player.ctx.clock.real_s(player.ctx.clock.scenario_s() - due_s)
    depth = player.net.backlog(sender)
    owed = player.ctx.in_flight
    if owed <= _MAX_IN_FLIGHT and late_s <= _MAX_LAG_S and depth <= _OUTBOX_SOFT:
        return False
    player.net.count(sender, "shed:overload")
    player.note(
        "shed",
        sender,
        f"offered {kind} refused: {owed} deliveries owed, generator {late_s:.2f} s behind, "
        f"outbox {depth}",
        message_kind=kind,
        reason="overload",
    )
    return True


# faults ----------------------------------------------------------------------------------
