"""Retention: purge history older than its age limit, or the oldest when the file outgrows its size limit.

Runs on the writer thread between commits, in transactions of at most
``chunk`` rows, and stops when its time budget is spent: ingest never waits
long for it. Freed pages go back to the disk through incremental vacuum when
the file was created with ``auto_vacuum=INCREMENTAL`` (every file created by
this version); an older file reuses them for new rows instead.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from hmi.historian import rollup
from hmi.historian.schema import seconds_to_micros

# One index seek per tag: min(ts) over the whole table would read every row.
_OLDEST = "SELECT min((SELECT min(ts) FROM samples WHERE tag_id = tags.id)) FROM tags"
VACUUM_PAGES = 2048  # per call: a few MB, so that giving pages back never stalls a commit for long


@dataclass
class Retention:
    """Limits of one history file: ``max_age`` seconds and ``max_size`` bytes (None: no limit)."""

    max_age: float | None = None
    max_size: int | None = None
    chunk: int = 10_000
    size_step: float = 3600.0  # the size purge removes the oldest data an hour of history at a time
    purged: int = 0

    def __post_init__(self) -> None:
        if self.max_age is not None and not self.max_age > 0:
            raise ValueError(f"retention must be positive seconds, not {self.max_age!r}")
        if self.max_size is not None and not self.max_size > 0:
            raise ValueError(f"max_size must be positive bytes, not {self.max_size!r}")
        if self.chunk <= 0:
            raise ValueError("chunk must be positive")

    @property
    def active(self) -> bool:
        """True when there is any limit to enforce."""
        return self.max_age is not None or self.max_size is not None

    def run(self, conn: sqlite3.Connection, budget: float, now: float | None = None) -> bool:
        """Purge chunk by chunk until within the limits or ``budget`` seconds are spent.

        True when the file is within its limits, False when time ran out first.
        """
        deadline = time.monotonic() + budget
        deleted = 0
        finished = True
        if self.max_age is not None:
            cutoff = seconds_to_micros((time.time() if now is None else now) - self.max_age)
            removed = self.chunk
            while removed == self.chunk and (finished := time.monotonic() < deadline):
                removed = purge_before(conn, cutoff, self.chunk)
                deleted += removed
        while self.max_size is not None and used_bytes(conn) > self.max_size:
            oldest = conn.execute(_OLDEST).fetchone()[0]
            if oldest is None or not (finished := time.monotonic() < deadline):
                break
            deleted += purge_before(conn, oldest + seconds_to_micros(self.size_step), self.chunk)
        if deleted:
            # Each step of this pragma frees one page and execute() steps once: executescript runs it out.
            conn.executescript(f"PRAGMA incremental_vacuum({VACUUM_PAGES});")
        self.purged += deleted
        return finished


def used_bytes(conn: sqlite3.Connection) -> int:
    """Bytes of the file holding data (free pages waiting for reuse or vacuum not counted)."""
    pages = (
        conn.execute("PRAGMA page_count").fetchone()[0] - conn.execute("PRAGMA freelist_count").fetchone()[0]
    )
    return int(pages * conn.execute("PRAGMA page_size").fetchone()[0])


def purge_before(conn: sqlite3.Connection, cutoff: int, chunk: int) -> int:
    """Delete at most ``chunk`` samples older than ``cutoff`` (µs), oldest first per tag, in one transaction.

    Rollup buckets that end before the last deleted sample go with them; a
    bucket straddling that point keeps the statistics of the rows already
    deleted until it ages out itself.
    """
    # One index seek per tag inside SQLite, so that a pass over thousands of tags with nothing
    # to purge costs milliseconds and no write transaction.
    old_tags = conn.execute(
        "SELECT id FROM tags WHERE (SELECT min(ts) FROM samples WHERE tag_id = tags.id) < ? ORDER BY id",
        (cutoff,),
    ).fetchall()
    if not old_tags:
        return 0
    deleted = 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        for (tag_id,) in old_tags:
            room = chunk - deleted
            if room <= 0:
                break
            row = conn.execute(
                "SELECT ts FROM samples WHERE tag_id = ? AND ts < ? ORDER BY ts LIMIT 1 OFFSET ?",
                (tag_id, cutoff, room - 1),
            ).fetchone()
            upto = cutoff if row is None else row[0] + 1
            deleted += conn.execute(
                "DELETE FROM samples WHERE tag_id = ? AND ts < ?", (tag_id, upto)
            ).rowcount
            for width, table in rollup.LEVELS.items():
                conn.execute(f"DELETE FROM {table} WHERE tag_id = ? AND bucket <= ?", (tag_id, upto - width))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return deleted
