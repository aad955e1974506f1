"""Closed and open rollup buckets: per level, the mark below which every bucket is written, and the views.

Schema version 4 writes each rollup row once, when its bucket closes (see
:mod:`hmi.historian.closing`). ``rollup_marks`` holds, per level, ``closed_before``:
every bucket that starts before it is a row of the level's ``*_closed`` table, and
every bucket from it on is open, its statistics derived from the raw rows. The
views ``rollup_10s``, ``rollup_1m`` and ``rollup_1h`` are the union of both, so a
reader of the file (or a file killed mid-run) always sees rollups that agree with
the samples. Marks only grow, and a coarser level's mark is never above a finer
one's, so every finer bucket inside a closed coarser bucket is closed too.
"""

from __future__ import annotations

import sqlite3

from hmi.historian.rollup import LEVELS, NO_TS_LOW, ROLLUP_COLUMNS, VIEWS

MARKS_DDL = "CREATE TABLE rollup_marks (width INTEGER PRIMARY KEY, closed_before INTEGER NOT NULL)"

_V = "CASE WHEN quality > 0 AND typeof(value) IN ('real', 'integer') THEN value * 1.0 END"


def _bucket(column: str, width: int) -> str:
    """Floor to the bucket for negative times too (SQLite's integer division truncates)."""
    return f"{column} - (({column} % {width}) + {width}) % {width}"


def view_sql(width: int) -> str:
    """The level's closed rows, then its open buckets aggregated from raw rows (exactly as ``rebucket``).

    Written so that a ``WHERE tag_id = ?`` on the view reaches the samples' primary key.
    """
    table = LEVELS[width]
    inner = (
        f"SELECT tag_id, {_bucket('ts', width)} AS bucket, count(*) AS count,"
        " sum(quality = 2) AS good_count, sum(quality = 0) AS bad_count,"
        f" count({_V}) AS value_count, total({_V}) AS value_sum,"
        f" min({_V}) AS min_value, max({_V}) AS max_value,"
        f" min(CASE WHEN {_V} IS NOT NULL THEN ts END) AS first_ts,"
        f" max(CASE WHEN {_V} IS NOT NULL THEN ts END) AS last_ts,"
        f" min(CASE WHEN {_V} IS NULL THEN ts END) AS gap_ts"
        f" FROM samples WHERE ts >= (SELECT closed_before FROM rollup_marks WHERE width = {width})"
        " GROUP BY 1, 2"
    )
    in_bucket = f"s.tag_id = g.tag_id AND s.ts >= g.bucket AND s.ts < g.bucket + {width} AND s.quality > 0"
    at = "SELECT s.value * 1.0 FROM samples AS s WHERE s.tag_id = g.tag_id AND s.ts = g.{}"
    return (
        f"SELECT {ROLLUP_COLUMNS} FROM {table} UNION ALL"
        " SELECT tag_id, bucket, count, good_count, bad_count, value_count, value_sum,"
        f" min_value, (SELECT min(s.ts) FROM samples AS s WHERE {in_bucket} AND s.value = g.min_value),"
        f" max_value, (SELECT min(s.ts) FROM samples AS s WHERE {in_bucket} AND s.value = g.max_value),"
        f" ({at.format('first_ts')}), first_ts, ({at.format('last_ts')}), last_ts, gap_ts"
        f" FROM ({inner}) AS g"
    )


def create_views(conn: sqlite3.Connection) -> None:
    """The three views, and a DELETE through a view removing the closed row (as on the former tables)."""
    for width, view in VIEWS.items():
        conn.execute(f"CREATE VIEW {view} AS {view_sql(width)}")
        conn.execute(
            f"CREATE TRIGGER {view}_delete INSTEAD OF DELETE ON {view} BEGIN"
            f" DELETE FROM {LEVELS[width]} WHERE tag_id = OLD.tag_id AND bucket = OLD.bucket; END"
        )


def read(conn: sqlite3.Connection) -> dict[int, int]:
    """Each level's mark (width -> closed_before)."""
    found = dict(conn.execute("SELECT width, closed_before FROM rollup_marks").fetchall())
    return {width: int(found.get(width, NO_TS_LOW)) for width in LEVELS}


def write(conn: sqlite3.Connection, marks: dict[int, int]) -> None:
    """Record the marks inside the open transaction."""
    conn.executemany(
        "INSERT INTO rollup_marks (width, closed_before) VALUES (?, ?)"
        " ON CONFLICT (width) DO UPDATE SET closed_before = excluded.closed_before",
        list(marks.items()),
    )


def newest_stored(conn: sqlite3.Connection) -> int | None:
    """The latest raw timestamp of any tag: one primary-key seek per tag rather than a scan."""
    found = conn.execute(
        "SELECT max((SELECT max(ts) FROM samples WHERE tag_id = tags.id)) FROM tags"
    ).fetchone()
    return None if found is None or found[0] is None else int(found[0])


def close_all(conn: sqlite3.Connection) -> None:
    """Mark every bucket up to the newest sample's as closed (after a backfill wrote them all)."""
    newest = newest_stored(conn)
    if newest is not None:
        write(conn, {width: (newest // width + 1) * width for width in LEVELS})


def migrate_to_version_4(conn: sqlite3.Connection) -> None:
    """Tables of v3 become the closed rows; the bucket holding the newest sample is open again.

    The v3 tables were written through, so every bucket in them is complete; the newest
    bucket of each level is dropped from its table and served from raw rows until it closes.
    """
    for width, table in LEVELS.items():
        conn.execute(f"ALTER TABLE {VIEWS[width]} RENAME TO {table}")
    conn.execute(MARKS_DDL)
    newest = newest_stored(conn)
    marks = {width: NO_TS_LOW if newest is None else newest // width * width for width in LEVELS}
    for width, table in LEVELS.items():
        conn.execute(f"DELETE FROM {table} WHERE bucket >= ?", (marks[width],))
    write(conn, marks)
    create_views(conn)
