"""Queries on the history file, safe from any thread: each thread reads through its own connection.

WAL mode lets these run beside the writer without blocking it or being blocked.
Time arguments are epoch seconds; both ends of a range are inclusive.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from hmi.historian import query
from hmi.historian.schema import micros_to_seconds, open_for_reading, seconds_to_micros
from hmi.model import Quality

_TAG_ID = "(SELECT id FROM tags WHERE name = ?)"
_NO_LIMIT = -1  # SQLite reads a negative LIMIT as "all rows"
_EARLIEST = -(2**63) + 1
_LATEST = 2**63 - 1
# A quality code written by something else than this application reads as bad, never as good.
_QUALITY_BY_CODE = {int(quality): quality for quality in Quality}


class HistoryRow(NamedTuple):
    """One stored sample: ts in epoch seconds; value float, int (exact), str or None."""

    ts: float
    value: float | int | str | None
    quality: Quality
    reason: str


def _history_row(ts: int, value: float | int | str | None, quality: int, reason: str) -> HistoryRow:
    return HistoryRow(micros_to_seconds(ts), value, _QUALITY_BY_CODE.get(quality, Quality.BAD), reason)


def _bound(ts: float | None, default: int) -> int:
    return default if ts is None else seconds_to_micros(ts)


class _ThreadConnection:
    """Closes its connection when dropped, e.g. as its thread ends, rather than leaving that to the GC."""

    __slots__ = ("conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __del__(self) -> None:
        self.conn.close()


class HistoryReader:
    """Read access to one history file. The file must exist (the writer's ``start`` creates it).

    Each calling thread keeps one read-only connection: opening one and reading
    the schema costs ~0.3 ms, a small query on an open one ~10 us. A thread's
    connection closes when the thread ends, or on ``close()`` from that thread.
    """

    def __init__(self, path: Path, busy_timeout: float = 5.0) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._local = threading.local()

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        held: _ThreadConnection | None = getattr(self._local, "held", None)
        if held is None:
            held = self._local.held = _ThreadConnection(open_for_reading(self.path, self.busy_timeout))
        conn = held.conn
        try:
            # fetchall() runs each statement to its end, so no read transaction outlives the call
            # (an open one would keep the writer from folding the WAL back into the file).
            return conn.execute(sql, params).fetchall()
        except sqlite3.Error:
            self.close()  # the next call starts afresh, e.g. after the file was replaced
            raise

    def close(self) -> None:
        """Close the calling thread's connection; the next query opens a new one."""
        self._local.held = None  # dropping the holder closes the connection

    def tag_names(self) -> list[str]:
        """Every tag that has ever been recorded, sorted by name."""
        return [name for (name,) in self._query("SELECT name FROM tags ORDER BY name")]

    def has_tag(self, tag: str) -> bool:
        """True when the tag has ever been recorded."""
        return bool(self._query("SELECT 1 FROM tags WHERE name = ?", (tag,)))

    def range(self, tag: str, start: float, end: float, limit: int | None = None) -> list[HistoryRow]:
        """Samples with start <= ts <= end in time order; the first ``limit`` of them when given."""
        query = (
            f"SELECT ts, value, quality, reason FROM samples WHERE tag_id = {_TAG_ID}"
            " AND ts BETWEEN ? AND ? ORDER BY ts LIMIT ?"
        )
        rows = _NO_LIMIT if limit is None else limit
        params = (tag, seconds_to_micros(start), seconds_to_micros(end), rows)
        return [_history_row(*row) for row in self._query(query, params)]

    def iter_rows(
        self, tag: str, start: float | None = None, end: float | None = None, page_size: int = 10_000
    ) -> Iterator[HistoryRow]:
        """Stream samples in time order, one page of ``page_size`` rows in memory at a time.

        No read transaction stays open between pages, so a long export never
        holds back the writer's checkpoints. None means an open end.
        """
        if page_size <= 0:
            raise ValueError("page_size must be positive")
        query = (
            f"SELECT ts, value, quality, reason FROM samples WHERE tag_id = {_TAG_ID}"
            " AND ts >= ? AND ts <= ? ORDER BY ts LIMIT ?"
        )
        low, high = _bound(start, _EARLIEST), _bound(end, _LATEST)
        # Its own connection: a paused generator may be resumed on another thread.
        with closing(open_for_reading(self.path, self.busy_timeout)) as conn:
            while low <= high:
                page = conn.execute(query, (tag, low, high, page_size)).fetchall()
                yield from (_history_row(*row) for row in page)
                if len(page) < page_size:
                    return
                low = page[-1][0] + 1  # timestamps are integers and unique per tag

    def last(self, tag: str, before: float | None = None) -> HistoryRow | None:
        """The latest sample at or before ``before`` (the newest of all when None), or None."""
        query = (
            f"SELECT ts, value, quality, reason FROM samples WHERE tag_id = {_TAG_ID}"
            " AND ts <= ? ORDER BY ts DESC LIMIT 1"
        )
        rows = self._query(query, (tag, _bound(before, _LATEST)))
        return _history_row(*rows[0]) if rows else None

    def count(self, tag: str | None = None) -> int:
        """Number of stored samples of one tag, or of all tags (a full scan on a big file)."""
        if tag is None:
            return self._query("SELECT count(*) FROM samples")[0][0]
        return self._query(f"SELECT count(*) FROM samples WHERE tag_id = {_TAG_ID}", (tag,))[0][0]

    def arrays(self, tag: str, start: float, end: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Trend columns: ts seconds (float64), value (float64; NaN for NULL or text), quality (int8)."""
        query = (
            "SELECT ts, CASE WHEN typeof(value) IN ('real', 'integer') THEN value END, quality"
            f" FROM samples WHERE tag_id = {_TAG_ID} AND ts BETWEEN ? AND ? ORDER BY ts"
        )
        rows = self._query(query, (tag, seconds_to_micros(start), seconds_to_micros(end)))
        if not rows:
            return np.empty(0, np.float64), np.empty(0, np.float64), np.empty(0, np.int8)
        ts, values, quality = zip(*rows, strict=True)
        return (
            np.array(ts, dtype=np.int64) / 1e6,
            np.array(values, dtype=np.float64),  # None becomes NaN
            np.array(quality, dtype=np.int8),
        )

    def plot_series(
        self, tag: str, start: float, end: float, max_points: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The tag over [start, end] for a trend: (ts seconds float64, value float64, quality int8).

        Value is NaN where the sample is bad or not numeric: the trend draws a gap.
        When the range holds at most ``max_points`` samples they come back as
        they are. Otherwise the range is cut into ``max_points // 2`` equal time
        buckets and each gives its lowest and highest sample in time order, plus
        its first gap when it has one, so every peak and every bad span survives:
        at most ``max_points`` points, plus one per bucket that holds a gap.
        Long ranges read the 10 s, 1 min or 1 h rollups, never every raw row
        (then a bucket is never narrower than one rollup bucket, and a point's
        quality is uncertain when any sample of its rollup bucket was). ValueError
        for a range that is not two finite times in order, or ``max_points`` < 2.
        """
        return query.plot_series(self._query, tag, start, end, max_points)

    def value_at(self, tag: str, ts: float, interpolate: bool = False) -> HistoryRow | None:
        """The value in force at ``ts``: the last sample at or before it, or None before the first.

        With ``interpolate`` a numeric value between two usable samples is
        interpolated linearly and stamped ``ts``, with the worse of their qualities.
        """
        found = query.value_at(self._query, tag, ts, interpolate)
        if found is None:
            return None
        stamp, value, quality, reason = found
        return HistoryRow(stamp, value, _QUALITY_BY_CODE.get(quality, Quality.BAD), reason)

    def aggregate(self, tag: str, start: float, end: float) -> dict[str, float | int | None]:
        """Statistics over [start, end]: min, max, avg, first, last, count, good_count.

        ``count`` counts every sample and ``good_count`` the good ones; the value
        statistics use the numeric samples that are not bad (None when there are
        none). Long ranges read the rollups, never every raw row.
        """
        return query.aggregate(self._query, tag, start, end)
