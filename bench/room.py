"""Twenty players in one room: from a player's click to the facilitator's page showing it.

Run: python bench/room.py [--players 20] [--messages 5]

A live exercise on a secured Mosquitto on loopback with its room served (what ``bureaunet
exercise --serve`` runs), twenty played NCBs, each sent ``--messages`` diffusions. Twenty HTTP
clients act at once, as twenty people in a room would: each acknowledges its messages one after
another, as the page's form does (POST, then the page again). For each action the time from the
click to the facilitator's live fragment no longer counting it is measured (the facilitator's
page reloads that fragment twice a second, so a person sees it up to 0.5 s after the figure here,
which is the server's part, polled every 20 ms).
The server's CPU per action is the process's CPU time over the actions, the bureaus' own work
included (everything runs in one process). Ratios against an idle request (a page view) in the
same run show what an action costs beyond serving a page.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from _world import cpu_seconds
from hdrh.histogram import HdrHistogram

from protocol import default_roster
from scenarios.exercise.control import ExerciseControl
from scenarios.exercise.room import Room, serve
from scenarios.launch import run_scenario
from scenarios.model import parse_scenario
from scenarios.runner import RunOptions

_CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
_WAITING = re.compile(r"<tr><td>([A-Z]{2})</td><td>(\d+)</td></tr>")


def scenario_text(players: list[str], messages: int) -> str:
    injects = "".join(
        f"  - {{at: {2 + n}s, name: m{n}, diffusion: {{from: FR, to: [{', '.join(players)}]}}}}\n"
        for n in range(messages)
    )
    return (
        f"name: room bench\nroster: [gs, FR, {', '.join(players)}]\ntopology: hub\n"
        f"duration: 2h\nspeed: 1\ndrain: 1\nnetwork: {{model: false}}\n"
        f"players: [{', '.join(players)}]\ninjects:\n{injects}"
    )


async def waiting(http: httpx.AsyncClient, live: str) -> dict[str, int]:
    page = (await http.get(live)).text
    return {b: int(n) for b, n in _WAITING.findall(page)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--players", type=int, default=20)
    parser.add_argument("--messages", type=int, default=5)
    args = parser.parse_args()
    players = [b.id for b in default_roster().by_role("ncb") if b.id != "FR"][: args.players]
    control = ExerciseControl()
    room = Room(control)
    async with serve(room):
        running = asyncio.create_task(
            run_scenario(
                parse_scenario(scenario_text(players, args.messages)), RunOptions(control=control)
            )
        )
        while not control.ready:
            await asyncio.sleep(0.05)
        room.open_for(control.played())
        links = room.links()
        live = links["facilitator"] + "/live"
        async with httpx.AsyncClient(timeout=60) as watcher:
            while sum((await waiting(watcher, live)).values()) < len(players) * args.messages:
                await asyncio.sleep(0.2)
            latencies: list[float] = []
            views: list[float] = []

            async def person(bureau: str) -> None:
                async with httpx.AsyncClient(timeout=60) as http:
                    for _ in range(args.messages):
                        started = time.perf_counter()
                        page = (await http.get(links[bureau])).text
                        views.append(time.perf_counter() - started)
                        mid = re.search(r'name="message_id" value="([^"]+)"', page)
                        csrf = _CSRF.search(page)
                        assert mid is not None
                        assert csrf is not None
                        before = (await waiting(http, live))[bureau]
                        clicked = time.perf_counter()
                        await http.post(
                            f"{links[bureau]}/answer",
                            data={"csrf": csrf.group(1), "message_id": mid.group(1)},
                        )
                        while (await waiting(http, live))[bureau] >= before:
                            await asyncio.sleep(0.02)
                        latencies.append(time.perf_counter() - clicked)

            cpu0, wall0 = cpu_seconds(), time.perf_counter()
            await asyncio.gather(*(person(b) for b in players))
            cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - wall0
        control.stop()
        await running
    actions = len(latencies)
    h = HdrHistogram(1, 600_000_000, 3)
    for value in latencies:
        h.record_value(max(1, int(value * 1e6)))
    v = HdrHistogram(1, 600_000_000, 3)
    for value in views:
        v.record_value(max(1, int(value * 1e6)))
    print(f"{len(players)} players, {actions} acknowledgements in {wall:.1f} s")
    print(
        f"click to the facilitator's page: p50 {h.get_value_at_percentile(50) / 1000:.1f} ms, "
        f"p99 {h.get_value_at_percentile(99) / 1000:.1f} ms, max {h.get_max_value() / 1000:.1f} ms"
    )
    print(
        f"a player's page view: p50 {v.get_value_at_percentile(50) / 1000:.1f} ms, "
        f"p99 {v.get_value_at_percentile(99) / 1000:.1f} ms; ratio click p99 / view p99 "
        f"{h.get_value_at_percentile(99) / max(1, v.get_value_at_percentile(99)):.1f}x"
    )
    print(
        f"process CPU per action (page, POST, redirect, polling, the bureaus' work): "
        f"{cpu / actions * 1000:.1f} ms ({cpu:.1f} s CPU over {wall:.1f} s)"
    )


if __name__ == "__main__":
    asyncio.run(main())
