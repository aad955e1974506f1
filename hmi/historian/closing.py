"""Rollup rows written once, when their bucket closes.

A 1 Hz plant gives each tag one sample per commit; writing each tag's open bucket
through at three levels made four row writes per sample where a bare insert makes
one. Instead the writer keeps what it committed of the open buckets in memory and
writes each bucket's row once, in bulk, when the bucket closes (about 0.12 row
writes per sample at 1 Hz). Until then readers derive open buckets from raw rows
(:mod:`hmi.historian.marks`), so a file killed mid-run is consistent as it stands.

A bucket closes when the newest committed timestamp (never ahead of the wall clock)
is ``CLOSE_LAG`` past its end. Memory is trusted for a bucket only when every sample
in it went through this process's commits as a plain append: a bucket that began
before this process opened the file (a restart, a crash), or that a late or replacing
sample touched, is computed from the file when it closes, in bulk SQL. Samples into
closed buckets are rebuilt in bulk (:mod:`hmi.historian.rebuild`).

The state only changes by building a new one inside the writer's transaction; the
writer adopts it once that transaction commits, so a rolled-back commit leaves none.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace

import numpy as np

from hmi.historian import bulk, rebuild
from hmi.historian import marks as level_marks
from hmi.historian.rollup import (
    FINEST,
    LEVELS,
    NO_TS_LOW,
    ROLLUP_COLUMNS,
    USABLE_VALUE,
    Stats,
    concat,
    from_rows,
    from_samples,
    rebucket,
)

CLOSE_LAG = 5_000_000
"""µs past its end before a bucket closes: room for tags whose samples arrive a few seconds behind."""
COARSE = tuple(width for width in LEVELS if width != FINEST)

Keys = frozenset[tuple[int, int]]
Chunk = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # tag_id, ts, usable value, quality

_INSERT = "INSERT OR REPLACE INTO {table} (" + ROLLUP_COLUMNS + ") VALUES (" + ", ".join("?" * 16) + ")"
# CROSS JOIN keeps tags outermost: one primary-key range per tag, never a scan of every row.
_RAW_RANGE = (
    f"SELECT s.tag_id, s.ts, {USABLE_VALUE}, s.quality FROM tags CROSS JOIN samples AS s"
    " ON s.tag_id = tags.id AND s.ts >= ? AND s.ts < ?"
)
_FINER_RANGE = (
    "SELECT "
    + ", ".join(f"f.{c.strip()}" for c in ROLLUP_COLUMNS.split(","))
    + " FROM tags CROSS JOIN {table} AS f ON f.tag_id = tags.id AND f.bucket >= ? AND f.bucket < ?"
)
_KEYS_CREATE = "CREATE TEMP TABLE IF NOT EXISTS rollup_closing (tag_id INTEGER, lo INTEGER, hi INTEGER)"
_RAW_KEYS = (
    f"SELECT s.tag_id, s.ts, {USABLE_VALUE}, s.quality FROM temp.rollup_closing AS k"
    " JOIN samples AS s ON s.tag_id = k.tag_id AND s.ts >= k.lo AND s.ts < k.hi"
)
_FINER_KEYS = (
    "SELECT "
    + ", ".join(f"f.{c.strip()}" for c in ROLLUP_COLUMNS.split(","))
    + " FROM temp.rollup_closing AS k JOIN {table} AS f"
    " ON f.tag_id = k.tag_id AND f.bucket >= k.lo AND f.bucket < k.hi"
)


def _empty() -> Stats:
    nothing = np.empty(0, np.int64)
    return from_samples(nothing, nothing, np.empty(0, np.float64), np.empty(0, np.int8))


@dataclass(frozen=True, slots=True)
class OpenBuckets:
    """What this process committed of the open buckets, and the marks below which buckets are closed."""

    marks: dict[int, int]  # width -> closed_before
    partial_below: dict[int, int]  # width -> buckets starting below may hold samples from before
    newest: int  # the newest committed timestamp, NO_TS_LOW for none
    chunks: tuple[Chunk, ...]  # plain appends into open finest buckets, one chunk per commit
    coarse: dict[int, Stats]  # per coarser width: closed finest rows merged into its open buckets
    dirty: dict[int, Keys]  # per width: open (tag, bucket) keys memory cannot be trusted for


def load(conn: sqlite3.Connection) -> OpenBuckets:
    """The state of a file as this process opens it: every open bucket may hold samples from before."""
    newest = level_marks.newest_stored(conn)
    stored = NO_TS_LOW if newest is None else newest
    partial = {w: NO_TS_LOW if newest is None else (newest // w + 1) * w for w in LEVELS}
    return OpenBuckets(
        level_marks.read(conn),
        partial,
        stored,
        (),
        {w: _empty() for w in COARSE},
        {w: frozenset() for w in LEVELS},
    )


def _keys_of(tag_id: np.ndarray, ts: np.ndarray, width: int) -> Keys:
    buckets = ts // width * width
    return frozenset(zip(tag_id.tolist(), buckets.tolist(), strict=True))


def advance(
    conn: sqlite3.Connection,
    state: OpenBuckets,
    chunk: Chunk,
    late: np.ndarray,
    now: int,
) -> OpenBuckets:
    """Fold one commit's samples (sorted by tag and time) in, and close every bucket whose time has come.

    ``late``: the samples that may replace or precede stored ones. Inside the open transaction.
    """
    tag_id, ts, usable, quality = chunk
    dirty = state.dirty
    chunks = state.chunks
    if ts.size:
        into_closed = ts < state.marks[FINEST]
        routed = late | into_closed
        if routed.any():
            dirty = settle_late(conn, state, tag_id[routed], ts[routed])
        plain = ~routed
        if plain.all():
            chunks = (*chunks, chunk)
        elif plain.any():
            chunks = (*chunks, (tag_id[plain], ts[plain], usable[plain], quality[plain]))
    newest = max(state.newest, int(ts.max())) if ts.size else state.newest
    state = replace(state, chunks=chunks, dirty=dirty, newest=newest)
    if newest == NO_TS_LOW:
        return state
    due = min(newest, now) - CLOSE_LAG
    targets = {w: max(state.marks[w], due // w * w) for w in LEVELS}
    if all(targets[w] == state.marks[w] for w in LEVELS):
        return state
    for width in LEVELS:  # finest first: a coarser bucket closes from finer rows already closed
        if targets[width] > state.marks[width]:
            state = _close(conn, state, width, targets[width])
    level_marks.write(conn, state.marks)
    return state


def settle_late(
    conn: sqlite3.Connection, state: OpenBuckets, tag_id: np.ndarray, ts: np.ndarray
) -> dict[int, Keys]:
    """The late-sample path: rebuild the closed buckets these samples fall in, and mark the open ones
    for recounting from the file when they close (memory cannot undo a replaced sample).

    Returns the new dirty keys per level.
    """
    dirty = dict(state.dirty)
    into_closed = ts < state.marks[FINEST]
    if into_closed.any():
        rebuild.rebuild_touched(conn, tag_id[into_closed], ts[into_closed], state.marks)
        # Their coarser buckets still open may have merged the finest rows just rebuilt.
        for width in COARSE:
            open_here = into_closed & (ts // width * width >= state.marks[width])
            if open_here.any():
                dirty[width] = dirty[width] | _keys_of(tag_id[open_here], ts[open_here], width)
    if not into_closed.all():
        dirty[FINEST] = dirty[FINEST] | _keys_of(tag_id[~into_closed], ts[~into_closed], FINEST)
    return dirty


def _close(conn: sqlite3.Connection, state: OpenBuckets, width: int, upto: int) -> OpenBuckets:
    """Write every bucket of ``width`` in [mark, upto) once, from memory where it can be trusted."""
    low = state.marks[width]
    if width == FINEST:
        memory, kept = _take_samples(state.chunks, upto)
    else:
        held = state.coarse[width]
        memory = held.take(held.bucket < upto)
        kept = ()
    trusted = memory.bucket >= state.partial_below[width]
    dirty = state.dirty[width]
    if dirty and trusted.any():
        keys = zip(memory.tag_id.tolist(), memory.bucket.tolist(), strict=True)
        trusted &= np.fromiter((key not in dirty for key in keys), bool, len(memory))
    parts = [memory.take(trusted)]
    from_file_high = min(upto, state.partial_below[width])
    if low < from_file_high:
        parts.append(_from_file_range(conn, width, low, from_file_high))
    recheck = [key for key in dirty if max(low, state.partial_below[width]) <= key[1] < upto]
    if recheck:
        parts.append(_from_file_keys(conn, width, recheck))
    closed = rebucket(concat(parts), width)
    table = LEVELS[width]
    bulk.insert_rows(conn, _INSERT.format(table=table), closed.rows())  # thousands of rows per GIL release
    coarse = dict(state.coarse)
    if width == FINEST:
        for wider in COARSE:
            coarse[wider] = _merge(coarse[wider], rebucket(closed, wider), wider)
    else:
        held = coarse[width]
        coarse[width] = held.take(held.bucket >= upto)
    return replace(
        state,
        marks={**state.marks, width: upto},
        chunks=kept if width == FINEST else state.chunks,
        coarse=coarse,
        dirty={**state.dirty, width: frozenset(key for key in dirty if key[1] >= upto)},
    )


def _take_samples(chunks: tuple[Chunk, ...], upto: int) -> tuple[Stats, tuple[Chunk, ...]]:
    """The chunks' samples before ``upto`` as finest buckets, and the chunks of what is left."""
    taken: list[Chunk] = []
    kept: list[Chunk] = []
    for tag_id, ts, usable, quality in chunks:
        before = ts < upto
        if before.all():
            taken.append((tag_id, ts, usable, quality))
        elif before.any():
            taken.append((tag_id[before], ts[before], usable[before], quality[before]))
            after = ~before
            kept.append((tag_id[after], ts[after], usable[after], quality[after]))
        else:
            kept.append((tag_id, ts, usable, quality))
    if not taken:
        return _empty(), tuple(kept)
    tag_id, ts, usable, quality = (np.concatenate(column) for column in zip(*taken, strict=True))
    # Each chunk is in (tag, ts) order and a tag's plain appends grow in time from chunk to chunk,
    # so a stable sort by tag alone restores (tag, ts) order and spares rebucket a lexsort.
    order = np.argsort(tag_id, kind="stable")
    stats = from_samples(tag_id[order], ts[order], usable[order], quality[order])
    return rebucket(stats, FINEST), tuple(kept)


def _merge(held: Stats, rows: Stats, width: int) -> Stats:
    """Closed finest rows (already in buckets of ``width``) folded into the open buckets of ``width``."""
    return rows if len(held) == 0 else rebucket(concat([held, rows]), width)


def _samples_stats(rows: list[tuple[int, int, float | None, int]]) -> Stats:
    if not rows:
        return _empty()
    tag_id, ts, values, quality = zip(*rows, strict=True)
    return from_samples(
        np.array(tag_id, dtype=np.int64),
        np.array(ts, dtype=np.int64),
        np.array(values, dtype=np.float64),  # None -> NaN
        np.array(quality, dtype=np.int8),
    )


def _finer(width: int) -> str:
    widths = list(LEVELS)
    return LEVELS[widths[widths.index(width) - 1]]


def _from_file_range(conn: sqlite3.Connection, width: int, low: int, high: int) -> Stats:
    """Every tag's buckets of ``width`` in [low, high) from the file: raw rows, or the closed finer level."""
    if width == FINEST:
        return rebucket(_samples_stats(conn.execute(_RAW_RANGE, (low, high)).fetchall()), width)
    rows = conn.execute(_FINER_RANGE.format(table=_finer(width)), (low, high)).fetchall()
    return rebucket(from_rows(rows), width)


def _from_file_keys(conn: sqlite3.Connection, width: int, keys: list[tuple[int, int]]) -> Stats:
    """The given (tag, bucket) keys' buckets from the file."""
    conn.execute(_KEYS_CREATE)
    conn.execute("DELETE FROM temp.rollup_closing")
    conn.executemany(
        "INSERT INTO temp.rollup_closing (tag_id, lo, hi) VALUES (?, ?, ?)",
        [(tag, bucket, bucket + width) for tag, bucket in keys],
    )
    if width == FINEST:
        stats = _samples_stats(conn.execute(_RAW_KEYS).fetchall())
    else:
        stats = from_rows(conn.execute(_FINER_KEYS.format(table=_finer(width))).fetchall())
    conn.execute("DELETE FROM temp.rollup_closing")
    return rebucket(stats, width)
