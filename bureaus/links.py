"""The simulated network in front of each bureau: modelled WAN delay, jitter, loss and outages.

Theory of operation. A link's one-way delay is the great-circle distance between the two bureaus'
cities at the speed of light in fibre (two thirds of c, about 199,862 km/s), times an inflation
factor (default 1.5: real fibre routes and switching make paths longer than great circles; measured
internet paths are typically 1.5 to 2 times their great-circle length). Per-link and per-region
overrides replace or add to that (a satellite link of 300 ms one way). Jitter and loss are drawn
from a generator seeded by (run seed, message id, link, attempt), so the same seed gives the same
draws whatever order the asyncio tasks run in. Outages take a bureau's links down from t1 to t2
of scenario time.

The link model only decides; the bureau holds the bytes for the modelled delay before publishing
them, and reports the modelled part apart from the measured part.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Literal

from protocol import Region, Roster

__all__ = [
    "DEFAULT_INFLATION",
    "FIBRE_KM_PER_S",
    "LinkModel",
    "LinkOverride",
    "Outage",
    "great_circle_km",
]

FIBRE_KM_PER_S = 299_792.458 * 2 / 3
DEFAULT_INFLATION = 1.5
EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True, slots=True)
class LinkOverride:
    """A change to some links' behaviour.

    Attributes:
        one_way_ms: Replace the distance-based delay (for example 300 for a satellite hop).
        extra_ms: Add to the delay (a degraded link).
        jitter_ms: Standard deviation of the added jitter.
        loss: Probability that one transmission attempt is lost.
        duplicate: Probability that one transmission attempt arrives twice.
    """

    one_way_ms: float | None = None
    extra_ms: float = 0.0
    jitter_ms: float | None = None
    loss: float | None = None
    duplicate: float | None = None


@dataclass(frozen=True, slots=True)
class Outage:
    """A bureau (or every bureau of a region) cut off from ``start_s`` to ``end_s`` (scenario s)."""

    start_s: float
    end_s: float
    bureau: str | None = None
    region: Region | None = None


@dataclass
class LinkModel:
    """Delay, jitter, loss and outages for every pair of bureaus of a roster."""

    roster: Roster
    seed: int = 0
    inflation: float = DEFAULT_INFLATION
    jitter_ms: float = 0.0
    loss: float = 0.0
    duplicate: float = 0.0
    links: dict[tuple[str, str], LinkOverride] = field(default_factory=dict)
    regions: dict[Region, LinkOverride] = field(default_factory=dict)
    bureaus: dict[str, LinkOverride] = field(default_factory=dict)
    outages: list[Outage] = field(default_factory=list)
    enabled: bool = True

    def _override(self, a: str, b: str) -> LinkOverride | None:
        if (a, b) in self.links:
            return self.links[(a, b)]
        if (b, a) in self.links:
            return self.links[(b, a)]
        for end in (a, b):
            if end in self.bureaus:
                return self.bureaus[end]
        for end in (a, b):
            region = self.roster.get(end).region
            if region is not None and region in self.regions:
                return self.regions[region]
        return None

    def _setting(self, a: str, b: str, name: Literal["jitter_ms", "loss", "duplicate"]) -> float:
        """The link's own value of a setting where an override gives one, else the network's."""
        override = self._override(a, b)
        value = getattr(override, name) if override is not None else None
        return float(getattr(self, name) if value is None else value)

    def distance_ms(self, a: str, b: str) -> float:
        """The distance-based one-way delay, before overrides and jitter."""
        x, y = self.roster.get(a), self.roster.get(b)
        km = great_circle_km(x.lat, x.lon, y.lat, y.lon)
        return km / FIBRE_KM_PER_S * 1000 * self.inflation

    def base_ms(self, a: str, b: str) -> float:
        """The modelled one-way delay of the link, without jitter."""
        if not self.enabled:
            return 0.0
        override = self._override(a, b)
        if override is not None and override.one_way_ms is not None:
            return override.one_way_ms + override.extra_ms
        return self.distance_ms(a, b) + (override.extra_ms if override else 0.0)

    def _rng(self, message_id: str, a: str, b: str, attempt: int) -> random.Random:
        return random.Random(f"{self.seed}|{message_id}|{a}|{b}|{attempt}")  # noqa: S311 - a model, not crypto

    def delay_ms(self, a: str, b: str, message_id: str, attempt: int = 0) -> float:
        """The modelled delay of one transmission: base plus seeded jitter (never negative)."""
        base = self.base_ms(a, b)
        if not self.enabled:
            return 0.0
        jitter = self._setting(a, b, "jitter_ms")
        if jitter <= 0:
            return base
        return max(0.0, base + self._rng(message_id, a, b, attempt).gauss(0.0, jitter))

    def lost(self, a: str, b: str, message_id: str, attempt: int = 0) -> bool:
        """Whether this transmission attempt is lost (seeded)."""
        if not self.enabled:
            return False
        loss = self._setting(a, b, "loss")
        if loss <= 0:
            return False
        return self._rng(message_id, a, b, attempt + 1_000_000).random() < loss

    def copy_ms(self, a: str, b: str, message_id: str, attempt: int = 0) -> float | None:
        """When this transmission attempt arrives a second time, if it does (seeded): its delay.

        The copy comes after the first, by up to two seconds more than the link's delay: a
        network that duplicates also reorders.
        """
        if not self.enabled:
            return None
        rate = self._setting(a, b, "duplicate")
        if rate <= 0:
            return None
        rng = self._rng(message_id, a, b, attempt + 2_000_000)
        if rng.random() >= rate:
            return None
        return self.delay_ms(a, b, message_id, attempt) + rng.uniform(0.0, 2_000.0)

    def _cut(self, bureau: str, t: float) -> Outage | None:
        region = self.roster.get(bureau).region
        for outage in self.outages:
            if outage.start_s <= t < outage.end_s and (
                outage.bureau == bureau or (outage.region is not None and outage.region == region)
            ):
                return outage
        return None

    def down_until(self, a: str, b: str, t: float) -> float | None:
        """When the link a-b comes back, if it is down at scenario time ``t``; else ``None``."""
        ends = [o.end_s for o in (self._cut(a, t), self._cut(b, t)) if o is not None]
        return max(ends) if ends else None

    def path_ms(self, hops: Iterable[str]) -> float:
        """The base delay along a path (for reports and tests)."""
        return sum(self.base_ms(x, y) for x, y in pairwise(hops))
