"""Late samples in bulk: recompute every bucket a commit's late samples touched, with set-based SQL.

A late, duplicate or replacing sample changes statistics its bucket already holds,
which an UPSERT cannot undo; the buckets are recomputed instead. For a whole commit
at once: the touched finest buckets from their raw rows, then each coarser level's
touched buckets from the level below, every read and delete one statement over a
temporary table of (tag, bucket) keys, and numpy for the arithmetic (the same
``rebucket`` the writer and the queries use). A thousand late tags cost a handful of
statements, not a thousand rounds of them.
"""

from __future__ import annotations

import sqlite3

import numpy as np

from hmi.historian import bulk
from hmi.historian.rollup import (
    LEVELS,
    ROLLUP_COLUMNS,
    USABLE_VALUE,
    from_rows,
    from_samples,
    rebucket,
)

_KEYS = "temp.rollup_rebuild"
_CREATE = "CREATE TEMP TABLE IF NOT EXISTS rollup_rebuild (tag_id INTEGER, lo INTEGER, hi INTEGER)"
_RAW = (
    f"SELECT s.tag_id, s.ts, {USABLE_VALUE}, s.quality FROM {_KEYS} AS k"
    " JOIN samples AS s ON s.tag_id = k.tag_id AND s.ts >= k.lo AND s.ts < k.hi"
)
_INSERT = f"INSERT INTO {{table}} ({ROLLUP_COLUMNS}) VALUES ({', '.join('?' * 16)})"


def _keys(conn: sqlite3.Connection, tag_id: np.ndarray, bucket: np.ndarray, width: int) -> None:
    conn.execute(f"DELETE FROM {_KEYS}")
    conn.executemany(
        f"INSERT INTO {_KEYS} (tag_id, lo, hi) VALUES (?, ?, ?)",
        zip(tag_id.tolist(), bucket.tolist(), (bucket + width).tolist(), strict=True),
    )


def _touched(tag_id: np.ndarray, ts: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (tag, bucket of ``width``) pairs of the given samples or buckets."""
    pairs = np.unique(np.stack([tag_id, ts // width * width], axis=1), axis=0)
    return pairs[:, 0], pairs[:, 1]


def rebuild_touched(
    conn: sqlite3.Connection, tag_id: np.ndarray, ts: np.ndarray, closed_before: dict[int, int]
) -> None:
    """Recompute, at every level, the closed buckets holding the given samples (inside the open transaction).

    A bucket at or after its level's mark is open: derived from raw rows, nothing to rebuild. Since a
    coarser mark is never above a finer one, the finer rows a closed bucket is rebuilt from are closed.
    """
    if tag_id.size == 0:
        return
    conn.execute(_CREATE)
    finer = ""
    for width, table in LEVELS.items():
        tags, buckets = _touched(tag_id, ts, width)
        closed = buckets < closed_before[width]
        if not closed.any():
            break  # coarser levels' marks are lower still
        tags, buckets = tags[closed], buckets[closed]
        _keys(conn, tags, buckets, width)
        if not finer:
            rows = conn.execute(_RAW).fetchall()
            found = [np.array(c) for c in zip(*rows, strict=True)] if rows else [np.empty(0)] * 4
            stats = from_samples(
                found[0].astype(np.int64),
                found[1].astype(np.int64),
                np.array(found[2], dtype=np.float64),  # None -> NaN
                found[3].astype(np.int8),
            )
        else:
            columns = ", ".join(f"f.{c.strip()}" for c in ROLLUP_COLUMNS.split(","))
            stats = from_rows(
                conn.execute(
                    f"SELECT {columns} FROM {_KEYS} AS k JOIN {finer} AS f"
                    " ON f.tag_id = k.tag_id AND f.bucket >= k.lo AND f.bucket < k.hi"
                ).fetchall()
            )
        conn.execute(f"DELETE FROM {table} WHERE (tag_id, bucket) IN (SELECT tag_id, lo FROM {_KEYS})")
        bulk.insert_rows(conn, _INSERT.format(table=table), rebucket(stats, width).rows())
        finer = table
    conn.execute(f"DELETE FROM {_KEYS}")
