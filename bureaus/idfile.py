"""Replay memory kept in a file: the ids a long simulation's bureaus must remember for an hour.

A bureau remembers every message id it accepted for as long as the envelope could still arrive
(an hour, an envelope's lifetime: :mod:`protocol.security.replay`). In memory that is about 155
bytes an id (``bench/replay_memory.py``), so a simulation of the real network's load would grow by
some 280 MB over its first hour and a lean run's memory would not be flat in duration. A lean run
keeps them in one SQLite file instead, shared by every bureau of the process, each under its own
number: a check and a remember cost about 14 µs together instead of 5; the process holds SQLite's
page cache, whatever the traffic (under a megabyte more for a million ids); the file holds about
110 bytes an id (all three figures: ``bench/replay_memory.py``) and is deleted when the run ends.

SQLite is the standard library's: no server, no dependency. The file is the run's scratch space,
written as one transaction that is never committed (no journal, no sync, one writer): it is never
read after the process ends, and pages leave the cache for the file as the cache fills, so an
insertion does not pay for a commit of its own.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

__all__ = ["FiledIds", "IdFile"]

_PACKED_BYTES = 24
"""A packed record (:class:`protocol.security.replay.IdMemory`) is below 2^192."""

_SCHEMA = """
create table ids (
    guard integer not null,
    sender text not null,
    id blob not null,
    packed blob not null,
    horizon integer not null,
    seq integer not null,
    primary key (guard, sender, id)
) without rowid;
create index by_horizon on ids (guard, horizon, seq);
"""


class IdFile:
    """One SQLite file of replay memory, shared by the bureaus of one process.

    Args:
        directory: Where the file goes (default: the system's temporary directory). It is deleted
            by :meth:`close`.
    """

    def __init__(self, directory: Path | None = None) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="bureaunet-ids-", dir=directory)
        self.path = Path(self._dir.name) / "ids.sqlite"
        self._db = sqlite3.connect(self.path, isolation_level=None)
        for pragma in ("journal_mode=off", "synchronous=off", "locking_mode=exclusive"):
            self._db.execute(f"pragma {pragma}")
        self._db.executescript(_SCHEMA)
        self._db.execute("begin")  # never committed: see above
        self._guards = 0
        self._seq = 0

    def memory(self) -> FiledIds:
        """A new, empty replay memory in this file, for one bureau's guard."""
        self._guards += 1
        return FiledIds(self, self._guards)

    def next_seq(self) -> int:
        """A number that orders insertions (the first remembered among equal horizons)."""
        self._seq += 1
        return self._seq

    @property
    def db(self) -> sqlite3.Connection:
        """The connection (the event loop's thread only)."""
        return self._db

    def size_bytes(self) -> int:
        """The file's size now."""
        return self.path.stat().st_size if self.path.exists() else 0

    def close(self) -> None:
        """Close the file and delete it."""
        self._db.close()
        self._dir.cleanup()


class FiledIds:
    """One bureau's ids in an :class:`IdFile` (an :class:`~protocol.security.replay.IdMemory`)."""

    def __init__(self, file: IdFile, guard: int) -> None:
        self._file = file
        self._guard = guard
        self._count = 0
        self._oldest: int | None = None
        """A lower bound on the earliest horizon held (``None``: nothing held)."""

    def get(self, sender: str, message_id: bytes) -> int | None:
        """The packed record of a sender's id, if it is remembered."""
        row = self._file.db.execute(
            "select packed from ids where guard = ? and sender = ? and id = ?",
            (self._guard, sender, message_id),
        ).fetchone()
        return int.from_bytes(row[0], "big") if row is not None else None

    def add(self, sender: str, message_id: bytes, packed: int, horizon_s: int) -> bool:
        """Remember an id (``False`` if it is already remembered)."""
        cursor = self._file.db.execute(
            "insert or ignore into ids values (?, ?, ?, ?, ?, ?)",
            (
                self._guard,
                sender,
                message_id,
                packed.to_bytes(_PACKED_BYTES, "big"),
                horizon_s,
                self._file.next_seq(),
            ),
        )
        if cursor.rowcount != 1:
            return False
        self._count += 1
        if self._oldest is None or horizon_s < self._oldest:
            self._oldest = horizon_s
        return True

    def expire(self, before_s: int) -> None:
        """Forget every id whose horizon second is before ``before_s``."""
        if self._oldest is None or self._oldest >= before_s:
            return  # nothing that old: no statement at all (most calls)
        cursor = self._file.db.execute(
            "delete from ids where guard = ? and horizon < ?", (self._guard, before_s)
        )
        self._count -= cursor.rowcount
        self._oldest = before_s if self._count else None

    def drop_oldest(self) -> int | None:
        """Forget the id with the earliest horizon, the first remembered among equals."""
        db = self._file.db
        row = db.execute(
            "select sender, id, packed from ids where guard = ? order by horizon, seq limit 1",
            (self._guard,),
        ).fetchone()
        if row is None:
            return None
        db.execute(
            "delete from ids where guard = ? and sender = ? and id = ?",
            (self._guard, row[0], row[1]),
        )
        self._count -= 1
        return int.from_bytes(row[2], "big")

    def clear(self) -> None:
        """Forget every id."""
        self._file.db.execute("delete from ids where guard = ?", (self._guard,))
        self._count = 0
        self._oldest = None

    def __len__(self) -> int:
        return self._count
