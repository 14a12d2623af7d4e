"""The roster: which bureaus exist, their roles, regions, cities and who serves whom.

The roster is data (``protocol/data/ncbs.csv`` and ``protocol/data/organisations.json``, with their
sources in ``protocol/data/SOURCES.md``). This module only parses and checks it. Parsing works on
strings, so a test or a scenario can build a roster of its own (a subset, or a synthetic one)
without touching files; :func:`default_roster` reads the bundled package data once.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Literal, get_args

from protocol.errors import ArgumentError, RosterError

__all__ = [
    "BUREAU_ID_PATTERN",
    "REGIONS",
    "ROLES",
    "SYNTHETIC_PREFIX",
    "BureauInfo",
    "Region",
    "Role",
    "Roster",
    "default_roster",
    "is_valid_bureau_id",
    "synthetic_roster",
]

Region = Literal["africa", "americas", "asia-south-pacific", "europe", "mena"]
Role = Literal[
    "ncb",
    "general-secretariat",
    "regional-bureau",
    "regional-organisation",
    "command-centre",
]
REGIONS: tuple[Region, ...] = get_args(Region)
ROLES: tuple[Role, ...] = get_args(Role)

# NCBs are named by their ISO 3166-1 alpha-2 code; every other bureau by a short lower-case id.
# Neither form can hold MQTT's wildcard characters (+, #) or the level separator (/), so an id is
# always safe inside a topic or as a broker username. "admin" is refused: amqtt's topic plugin
# grants that username every topic.
BUREAU_ID_PATTERN = r"^(?:[A-Z]{2}|[a-z][a-z0-9-]{1,31})$"
_ID_RE = re.compile(BUREAU_ID_PATTERN)
_RESERVED_IDS = frozenset({"admin", "all"})


def is_valid_bureau_id(value: str) -> bool:
    """Whether ``value`` has the shape of a bureau id (not whether the bureau exists)."""
    return bool(_ID_RE.fullmatch(value)) and value not in _RESERVED_IDS


@dataclass(frozen=True, slots=True)
class BureauInfo:
    """One bureau of the roster.

    Attributes:
        id: Stable id: the ISO 3166-1 alpha-2 code of an NCB, a short lower-case id otherwise.
        role: What the bureau does in the network.
        name: Display name.
        region: The region it belongs to (``None`` for the global bureaus in Lyon).
        city: The city it sits in.
        lat: Latitude of the city, decimal degrees.
        lon: Longitude of the city, decimal degrees.
        serves: For regional bureaus and organisations, the NCBs served or represented.
    """

    id: str
    role: Role
    name: str
    region: Region | None
    city: str
    lat: float
    lon: float
    serves: tuple[str, ...] = ()


@dataclass(frozen=True)
class Roster:
    """An immutable, checked set of bureaus, looked up by id."""

    bureaus: tuple[BureauInfo, ...]
    _by_id: dict[str, BureauInfo] = field(init=False, repr=False, compare=False)
    _ids: frozenset[str] = field(init=False, repr=False, compare=False)
    _ncb_ids: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_id: dict[str, BureauInfo] = {}
        for info in self.bureaus:
            if not is_valid_bureau_id(info.id):
                raise RosterError(f"bureau id {info.id!r} is not a valid bureau id")
            if info.id in by_id:
                raise RosterError(f"bureau id {info.id!r} appears twice")
            if not (-90.0 <= info.lat <= 90.0 and -180.0 <= info.lon <= 180.0):
                raise RosterError(f"bureau {info.id!r} has coordinates out of range")
            by_id[info.id] = info
        for info in self.bureaus:
            for served in info.serves:
                if served in by_id and by_id[served].role != "ncb":
                    raise RosterError(f"{info.id!r} serves {served!r}, which is not an NCB")
        object.__setattr__(self, "_by_id", by_id)
        object.__setattr__(self, "_ids", frozenset(by_id))
        ncbs = frozenset(b.id for b in self.bureaus if b.role == "ncb")
        object.__setattr__(self, "_ncb_ids", ncbs)

    def __contains__(self, bureau_id: object) -> bool:
        return bureau_id in self._by_id

    def __iter__(self) -> Iterator[BureauInfo]:
        return iter(self.bureaus)

    def __len__(self) -> int:
        return len(self.bureaus)

    def get(self, bureau_id: str) -> BureauInfo:
        """The bureau with this id.

        Raises:
            KeyError: No such bureau.
        """
        return self._by_id[bureau_id]

    def find(self, bureau_id: str) -> BureauInfo | None:
        """The bureau with this id, or ``None``."""
        return self._by_id.get(bureau_id)

    @property
    def ids(self) -> frozenset[str]:
        """Every bureau id in the roster."""
        return self._ids

    @property
    def ncb_ids(self) -> frozenset[str]:
        """The ids of the National Central Bureaus."""
        return self._ncb_ids

    def by_role(self, role: Role) -> tuple[BureauInfo, ...]:
        """The bureaus of one role, in roster order."""
        return tuple(b for b in self.bureaus if b.role == role)

    def ncbs(self) -> tuple[BureauInfo, ...]:
        """The National Central Bureaus, in roster order."""
        return self.by_role("ncb")

    def in_region(self, region: Region) -> tuple[BureauInfo, ...]:
        """The NCBs of one region, in roster order."""
        return tuple(b for b in self.ncbs() if b.region == region)

    def regional_bureau_of(self, ncb_id: str) -> BureauInfo | None:
        """The regional bureau (or liaison office) that serves an NCB, if any."""
        for info in self.by_role("regional-bureau"):
            if ncb_id in info.serves:
                return info
        return None

    def subset(self, ids: Iterable[str]) -> Roster:
        """A roster of the named bureaus only (``serves`` lists trimmed to the subset).

        Raises:
            RosterError: An id is not in this roster.
        """
        wanted = list(dict.fromkeys(ids))
        missing = [i for i in wanted if i not in self._by_id]
        if missing:
            raise RosterError(f"not in the roster: {', '.join(missing)}")
        keep = set(wanted)
        return Roster(
            tuple(
                BureauInfo(
                    id=b.id,
                    role=b.role,
                    name=b.name,
                    region=b.region,
                    city=b.city,
                    lat=b.lat,
                    lon=b.lon,
                    serves=tuple(s for s in b.serves if s in keep),
                )
                for b in self.bureaus
                if b.id in keep
            )
        )

    @classmethod
    def from_text(cls, ncbs_csv: str, organisations_json: str) -> Roster:
        """Parse the two roster data files from their text.

        Raises:
            RosterError: A row or entry is malformed or the result is inconsistent.
        """
        bureaus: list[BureauInfo] = []
        reader = csv.DictReader(io.StringIO(ncbs_csv))
        for line, row in enumerate(reader, start=2):
            try:
                region = _region(row["region"])
                bureaus.append(
                    BureauInfo(
                        id=row["code"],
                        role="ncb",
                        name=row["name"],
                        region=region,
                        city=row["city"],
                        lat=float(row["lat"]),
                        lon=float(row["lon"]),
                    )
                )
            except (KeyError, ValueError, TypeError) as exc:
                raise RosterError(f"ncbs.csv:{line}: {exc}") from exc
        try:
            entries = json.loads(organisations_json)["bureaus"]
            for entry in entries:
                role = entry["role"]
                if role not in ROLES or role == "ncb":
                    raise ValueError(f"bad role {role!r} for {entry['id']!r}")
                bureaus.append(
                    BureauInfo(
                        id=entry["id"],
                        role=role,
                        name=entry["name"],
                        region=None if entry["region"] is None else _region(entry["region"]),
                        city=entry["city"],
                        lat=float(entry["lat"]),
                        lon=float(entry["lon"]),
                        serves=tuple(entry["serves"]),
                    )
                )
        except (KeyError, ValueError, TypeError) as exc:
            raise RosterError(f"organisations.json: {exc}") from exc
        roster = cls(tuple(bureaus))
        for info in roster:
            unknown = [s for s in info.serves if s not in roster]
            if unknown:
                raise RosterError(f"{info.id!r} serves unknown bureaus: {', '.join(unknown)}")
        return roster


def _region(value: str) -> Region:
    for region in REGIONS:
        if region == value:
            return region
    raise ValueError(f"unknown region {value!r}")


@cache
def default_roster() -> Roster:
    """The bundled roster: 195 NCBs and the General Secretariat, regional bureaus and organisations.

    Reads package data once (no network, no clock) and caches the result.
    """
    data = resources.files("protocol.network") / "data"
    return Roster.from_text(
        (data / "ncbs.csv").read_text(encoding="utf-8"),
        (data / "organisations.json").read_text(encoding="utf-8"),
    )


SYNTHETIC_PREFIX = "syn-"
"""Every synthetic bureau's id starts with this: it can never be taken for a member country."""


def synthetic_roster(count: int, *, seed: int = 0) -> Roster:
    """A large, clearly synthetic roster for scale tests.

    It holds the General Secretariat and the Command and Coordination Centre of the bundled
    roster, plus ``count`` made-up NCBs named ``syn-0001`` ... (``Synthetic bureau 0001``),
    spread evenly over the five regions at seeded random coordinates. They stand for no real
    country.

    Raises:
        ArgumentError: ``count`` is not between 1 and 99,999.
    """
    if not 1 <= count <= 99_999:
        raise ArgumentError(f"a synthetic roster has 1 to 99,999 bureaus, not {count}")
    rng = random.Random(seed)  # noqa: S311 - made-up coordinates, not secrets
    real = default_roster()
    bureaus = [real.get("gs"), real.get("ccc")]
    width = max(4, len(str(count)))
    for n in range(1, count + 1):
        number = f"{n:0{width}d}"
        bureaus.append(
            BureauInfo(
                id=f"{SYNTHETIC_PREFIX}{number}",
                role="ncb",
                name=f"Synthetic bureau {number}",
                region=REGIONS[n % len(REGIONS)],
                city=f"Synthetic city {number}",
                lat=round(rng.uniform(-60.0, 70.0), 4),
                lon=round(rng.uniform(-180.0, 180.0), 4),
            )
        )
    return Roster(tuple(bureaus))
