"""Keeping the rollup tables in step with the samples, inside the writer's transaction.

New samples that replace nothing are merged into their buckets by an UPSERT:
one row per tag and level each commit for a plant that offers every tag once a
second, which is most of the writer's cost (see docs/performance.md). A late,
duplicate or replacing sample makes its buckets be recomputed from the raw
rows, finest level first, each coarser level from the one below it: for a
commit's late samples all at once in :mod:`hmi.historian.rebuild`, here one tag
at a time for the migration to schema version 2, which backfills a file.
"""

from __future__ import annotations

import sqlite3

import numpy as np

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

# Merges a bucket's new samples into its stored row; ties between equal extremes go to the earlier.
_UPSERT = """
INSERT INTO {table} ({columns}) VALUES ({marks})
ON CONFLICT (tag_id, bucket) DO UPDATE SET
    count = count + excluded.count,
    good_count = good_count + excluded.good_count,
    bad_count = bad_count + excluded.bad_count,
    value_count = value_count + excluded.value_count,
    value_sum = value_sum + excluded.value_sum,
    min_value = CASE WHEN {new_min} THEN excluded.min_value ELSE min_value END,
    min_ts = CASE WHEN {new_min} THEN excluded.min_ts ELSE min_ts END,
    max_value = CASE WHEN {new_max} THEN excluded.max_value ELSE max_value END,
    max_ts = CASE WHEN {new_max} THEN excluded.max_ts ELSE max_ts END,
    first_value = CASE WHEN {new_first} THEN excluded.first_value ELSE first_value END,
    first_ts = CASE WHEN {new_first} THEN excluded.first_ts ELSE first_ts END,
    last_value = CASE WHEN {new_last} THEN excluded.last_value ELSE last_value END,
    last_ts = CASE WHEN {new_last} THEN excluded.last_ts ELSE last_ts END,
    gap_ts = min(coalesce(gap_ts, excluded.gap_ts), coalesce(excluded.gap_ts, gap_ts))
"""


def _upsert_sql(table: str) -> str:
    return _UPSERT.format(
        table=table,
        columns=ROLLUP_COLUMNS,
        marks=", ".join("?" * 16),
        new_min="excluded.min_value < min_value OR min_value IS NULL"
        " OR (excluded.min_value = min_value AND excluded.min_ts < min_ts)",
        new_max="excluded.max_value > max_value OR max_value IS NULL"
        " OR (excluded.max_value = max_value AND excluded.max_ts < max_ts)",
        new_first="excluded.first_ts < first_ts OR first_ts IS NULL",
        new_last="excluded.last_ts > last_ts OR last_ts IS NULL",
    )


UPSERT_SQL = {width: _upsert_sql(table) for width, table in LEVELS.items()}


def merge_new_samples(conn: sqlite3.Connection, samples: Stats) -> None:
    """Fold samples that replace no stored sample into every rollup level (inside the open transaction)."""
    stats = samples
    for width in LEVELS:  # finest first: each level folds the smaller one before it
        stats = rebucket(stats, width)
        conn.executemany(UPSERT_SQL[width], stats.rows())


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


def rebuild(conn: sqlite3.Connection, tag_id: int, low: int, high: int) -> None:
    """Recompute one tag's rollups over [low, high) (on FINEST boundaries): the finest level from
    raw samples, each coarser one from the level below it over the whole buckets touched."""
    stats = _raw_stats(conn, tag_id, low, high)
    finer = ""
    for width, table in LEVELS.items():
        low, high = low // width * width, -(-high // width) * width
        if finer:
            rows = conn.execute(
                f"SELECT {ROLLUP_COLUMNS} FROM {finer} WHERE tag_id = ? AND bucket >= ? AND bucket < ?",
                (tag_id, low, high),
            ).fetchall()
            stats = from_rows(rows)
        _replace(conn, table, tag_id, low, high, rebucket(stats, width))
        finer = table


def backfill(conn: sqlite3.Connection, window: int = 24 * HOUR) -> None:
    """Compute every tag's rollups from its raw samples, a day at a time (the migration to version 2)."""
    for (tag_id,) in conn.execute("SELECT id FROM tags").fetchall():
        low = conn.execute("SELECT min(ts) FROM samples WHERE tag_id = ?", (tag_id,)).fetchone()[0]
        while low is not None:
            low = low // window * window
            rebuild(conn, tag_id, low, low + window)
            low = conn.execute(
                "SELECT min(ts) FROM samples WHERE tag_id = ? AND ts >= ?", (tag_id, low + window)
            ).fetchone()[0]
