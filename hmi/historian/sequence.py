"""The history's append-only sequence: every stored sample gets a ``seq`` at commit, for sync cursors.

A cursor that remembers the last ``seq`` it sent must also find samples that
arrived late with old timestamps, so it cannot follow ``ts``. An index on
``samples.seq`` cost a third of the ingest speed (measured), so the column is
not indexed; instead each commit records where its rows lie in the table, in
``history_commits``: a seq range and the (tag id, ts) box its rows fall in.
Within a commit the numbers follow the table's own (tag_id, ts) order, so one
box is read with index range scans and filtered on its seq range.

Rows of tags whose time span differs widely from the rest (a late sample, a
backlog) get a box of their own: a box never spans more than ``BOX_SPAN`` of
time unless a single tag does, so reading it never scans other tags' history.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import numpy as np

BOX_SPAN = 60 * 1_000_000  # microseconds of ts one box may cover across several tags

COMMITS_DDL = """
CREATE TABLE history_commits (
    seq_last INTEGER PRIMARY KEY,
    seq_first INTEGER NOT NULL,
    tag_lo INTEGER NOT NULL,
    tag_hi INTEGER NOT NULL,
    ts_lo INTEGER NOT NULL,
    ts_hi INTEGER NOT NULL
)
"""

_RECORD = (
    "INSERT INTO history_commits (seq_last, seq_first, tag_lo, tag_hi, ts_lo, ts_hi)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)

_READ_BOX = (
    "SELECT samples.seq AS seq, tags.name AS tag, samples.ts AS ts, samples.value AS value,"
    " samples.quality AS quality, samples.reason AS reason"
    " FROM samples JOIN tags ON tags.id = samples.tag_id"
    " WHERE samples.tag_id IN (SELECT id FROM tags WHERE id BETWEEN ? AND ?)"
    " AND samples.ts BETWEEN ? AND ? AND samples.seq BETWEEN ? AND ?"
    " ORDER BY samples.seq LIMIT ?"
)


def numbering(order: np.ndarray, first_seq: int) -> np.ndarray:
    """Each row's seq (in batch order) when the rows sorted by ``order`` are numbered from ``first_seq``."""
    seq = np.empty(order.size, dtype=np.int64)
    seq[order] = np.arange(first_seq, first_seq + order.size, dtype=np.int64)
    return seq


def boxes(
    tag_ids: list[int], ts_lo: list[int], ts_hi: list[int], seq_lo: list[int], seq_hi: list[int]
) -> list[tuple[int, int, int, int, int, int]]:
    """Group per-tag (sorted by tag id) spans into ``history_commits`` rows of at most BOX_SPAN each."""
    if tag_ids and max(ts_hi) - min(ts_lo) <= BOX_SPAN:
        # A plant's commit: every tag within one span, so the greedy grouping below makes one box.
        return [(seq_hi[-1], seq_lo[0], tag_ids[0], tag_ids[-1], min(ts_lo), max(ts_hi))]
    rows: list[tuple[int, int, int, int, int, int]] = []
    box: list[int] | None = None  # seq_first, seq_last, tag_lo, tag_hi, ts_lo, ts_hi
    for tag, low, high, first, last in zip(tag_ids, ts_lo, ts_hi, seq_lo, seq_hi, strict=True):
        if box is not None and max(box[5], high) - min(box[4], low) <= BOX_SPAN:
            box[1], box[3], box[4], box[5] = last, tag, min(box[4], low), max(box[5], high)
            continue
        if box is not None:
            rows.append((box[1], box[0], box[2], box[3], box[4], box[5]))
        box = [first, last, tag, tag, low, high]
    if box is not None:
        rows.append((box[1], box[0], box[2], box[3], box[4], box[5]))
    return rows


def record(conn: sqlite3.Connection, rows: list[tuple[int, int, int, int, int, int]]) -> None:
    """Write a commit's boxes inside its transaction."""
    conn.executemany(_RECORD, rows)


def backfill(conn: sqlite3.Connection) -> int:
    """Number the rows already in a file, in (tag_id, ts) order, one box per tag; returns the last seq."""
    conn.execute(
        "UPDATE samples SET seq = numbered.n FROM"
        " (SELECT tag_id, ts, row_number() OVER (ORDER BY tag_id, ts) AS n FROM samples) AS numbered"
        " WHERE samples.tag_id = numbered.tag_id AND samples.ts = numbered.ts"
    )
    spans = conn.execute(
        "SELECT tag_id, min(ts), max(ts), min(seq), max(seq) FROM samples GROUP BY tag_id ORDER BY tag_id"
    ).fetchall()
    record(conn, [(last, first, tag, tag, low, high) for tag, low, high, first, last in spans])
    return max((span[4] for span in spans), default=0)


def prune(conn: sqlite3.Connection, limit: int = 500) -> int:
    """Forget the oldest boxes whose rows retention has deleted, up to the first that still has some.

    Boxes only locate rows; the numbers in ``store_sequences`` never go back. Returns how many went.
    """
    oldest = conn.execute(
        "SELECT seq_first, seq_last, tag_lo, tag_hi, ts_lo, ts_hi FROM history_commits"
        " ORDER BY seq_last LIMIT ?",
        (limit,),
    ).fetchall()
    empty: list[int] = []
    for first, last, tag_lo, tag_hi, ts_lo, ts_hi in oldest:
        if conn.execute(_READ_BOX, (tag_lo, tag_hi, ts_lo, ts_hi, first, last, 1)).fetchone() is not None:
            break
        empty.append(last)
    if empty:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DELETE FROM history_commits WHERE seq_last <= ?", (empty[-1],))
        conn.execute("COMMIT")
    return len(empty)


def read_since(conn: sqlite3.Connection, seq: int, limit: int) -> list[dict[str, Any]]:
    """Samples committed after ``seq``, in seq order, at most ``limit``: dicts of seq, tag, ts, value,
    quality, reason (ts in microseconds, as stored)."""
    found: list[dict[str, Any]] = []
    conn.row_factory = sqlite3.Row
    commits = conn.execute(
        "SELECT seq_first, seq_last, tag_lo, tag_hi, ts_lo, ts_hi FROM history_commits"
        " WHERE seq_last > ? ORDER BY seq_last",
        (seq,),
    )
    for first, last, tag_lo, tag_hi, ts_lo, ts_hi in commits:
        wanted = limit - len(found)
        rows = conn.execute(_READ_BOX, (tag_lo, tag_hi, ts_lo, ts_hi, max(first, seq + 1), last, wanted))
        found.extend(dict(row) for row in rows)
        if len(found) >= limit:
            break
    return found


_READ_BOX_TUPLES = (
    _READ_BOX.replace(" AS seq", "")
    .replace(" AS tag", "")
    .replace(" AS ts", "")
    .replace(" AS value", "")
    .replace(" AS quality", "")
    .replace(" AS reason", "")
)

SampleRow = tuple[int, str, int, Any, int, str | None]
"""``(seq, tag, ts, value, quality, reason)`` as :func:`read_rows_since` returns it."""


def read_rows_since(conn: sqlite3.Connection, seq: int, limit: int) -> list[SampleRow]:
    """Like :func:`read_since`, as plain tuples ``(seq, tag, ts, value, quality, reason)``.

    A drain reads millions of rows: a tuple straight from the cursor costs half a dict per row.
    """
    found: list[SampleRow] = []
    commits = conn.execute(
        "SELECT seq_first, seq_last, tag_lo, tag_hi, ts_lo, ts_hi FROM history_commits"
        " WHERE seq_last > ? ORDER BY seq_last",
        (seq,),
    ).fetchall()
    for first, last, tag_lo, tag_hi, ts_lo, ts_hi in commits:
        wanted = limit - len(found)
        cursor = conn.cursor()
        cursor.row_factory = None  # a tuple whatever the connection's factory
        found += cursor.execute(
            _READ_BOX_TUPLES, (tag_lo, tag_hi, ts_lo, ts_hi, max(first, seq + 1), last, wanted)
        ).fetchall()
        if len(found) >= limit:
            break
    return found
