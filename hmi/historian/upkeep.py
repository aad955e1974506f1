"""Rebuilding rollups from raw rows, one tag at a time: the backfill of a whole file.

The migration to schema version 2 backfills a file this way, and so does a bulk
loader that writes raw rows straight into the file (the benchmarks' year). The
writer's own upkeep closes buckets in bulk (:mod:`hmi.historian.closing`) and
rebuilds a commit's late samples together (:mod:`hmi.historian.rebuild`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

import numpy as np

from hmi.historian import marks
from hmi.historian.rollup import (
    HOUR,
    LEVELS,
    ROLLUP_COLUMNS,
    USABLE_VALUE,
    Stats,
    from_rows,
    from_samples,
    rebucket,
)


def _raw_stats(conn: sqlite3.Connection, tag_id: int, low: int, high: int) -> Stats:
    rows = conn.execute(
        f"SELECT ts, {USABLE_VALUE}, quality FROM samples WHERE tag_id = ? AND ts >= ? AND ts < ?",
        (tag_id, low, high),
    ).fetchall()
    ts, values, quality = (list(c) for c in zip(*rows, strict=True)) if rows else ([], [], [])
    return from_samples(
        np.full(len(ts), tag_id, np.int64),
        np.array(ts, dtype=np.int64),
        np.array(values, dtype=np.float64),
        np.array(quality, dtype=np.int8),
    )


def _replace(conn: sqlite3.Connection, table: str, tag_id: int, low: int, high: int, stats: Stats) -> None:
    conn.execute(f"DELETE FROM {table} WHERE tag_id = ? AND bucket >= ? AND bucket < ?", (tag_id, low, high))
    conn.executemany(f"INSERT INTO {table} ({ROLLUP_COLUMNS}) VALUES ({', '.join('?' * 16)})", stats.rows())


def rebuild(
    conn: sqlite3.Connection, tag_id: int, low: int, high: int, tables: Mapping[int, str] = LEVELS
) -> None:
    """Recompute one tag's rollups over [low, high) (on FINEST boundaries): the finest level from
    raw samples, each coarser one from the level below it over the whole buckets touched."""
    stats = _raw_stats(conn, tag_id, low, high)
    finer = ""
    for width, table in tables.items():
        low, high = low // width * width, -(-high // width) * width
        if finer:
            rows = conn.execute(
                f"SELECT {ROLLUP_COLUMNS} FROM {finer} WHERE tag_id = ? AND bucket >= ? AND bucket < ?",
                (tag_id, low, high),
            ).fetchall()
            stats = from_rows(rows)
        _replace(conn, table, tag_id, low, high, rebucket(stats, width))
        finer = table


def backfill(conn: sqlite3.Connection, tables: Mapping[int, str] = LEVELS, window: int = 24 * HOUR) -> None:
    """Compute every tag's rollups from its raw samples, a day at a time (the migration to version 2).

    On a file of version 4 or later every bucket written is then marked closed.
    """
    for (tag_id,) in conn.execute("SELECT id FROM tags").fetchall():
        low = conn.execute("SELECT min(ts) FROM samples WHERE tag_id = ?", (tag_id,)).fetchone()[0]
        while low is not None:
            low = low // window * window
            rebuild(conn, tag_id, low, low + window, tables)
            low = conn.execute(
                "SELECT min(ts) FROM samples WHERE tag_id = ? AND ts >= ?", (tag_id, low + window)
            ).fetchone()[0]
    if conn.execute("SELECT 1 FROM sqlite_schema WHERE name = 'rollup_marks'").fetchone():
        marks.close_all(conn)
