"""Rollups: per tag and time bucket (1 min, 1 h), the statistics a long trend or an aggregate needs.

Statistics travel as :class:`Stats`, columns of numpy arrays. A raw sample is a
bucket of one; combining buckets into wider ones (``rebucket``) is the single
piece of arithmetic behind the writer's upkeep, the queries and the backfill,
so they cannot disagree. Time columns are integer microseconds.

Value statistics (sum, min, max, first, last) cover the *usable* samples:
numeric and not bad. ``gap_ts`` is the first sample that is not usable: the
trend breaks its line there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

import numpy as np

TEN_SECONDS = 10_000_000
MINUTE = 60_000_000
HOUR = 3_600_000_000
# Finest first. Each level serves trends of at least 1,000 of its buckets: 10 s from about
# 3 h of range, 1 min from about 17 h, 1 h from about 6 weeks; shorter ranges read raw rows.
LEVELS = {TEN_SECONDS: "rollup_10s_closed", MINUTE: "rollup_1m_closed", HOUR: "rollup_1h_closed"}
"""Each level's table of closed buckets, written once per bucket (see :mod:`hmi.historian.marks`)."""
VIEWS = {TEN_SECONDS: "rollup_10s", MINUTE: "rollup_1m", HOUR: "rollup_1h"}
"""Each level as readers see it: closed rows and the open buckets derived from raw rows."""
FINEST = TEN_SECONDS
NO_TS_LOW = np.iinfo(np.int64).min  # "no such sample" for columns reduced by maximum
NO_TS_HIGH = np.iinfo(np.int64).max  # ... and by minimum

# A usable value, else NULL: numeric and not bad. Shared by the rollups and the trend queries.
USABLE_VALUE = "CASE WHEN quality > 0 AND typeof(value) IN ('real', 'integer') THEN value END"

ROLLUP_COLUMNS = (
    "tag_id, bucket, count, good_count, bad_count, value_count, value_sum, min_value, min_ts,"
    " max_value, max_ts, first_value, first_ts, last_value, last_ts, gap_ts"
)


def rollup_ddl(table: str) -> str:
    """The CREATE TABLE of one rollup level (documented in docs/history-schema.md)."""
    return f"""
CREATE TABLE {table} (
    tag_id INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    count INTEGER NOT NULL,
    good_count INTEGER NOT NULL,
    bad_count INTEGER NOT NULL,
    value_count INTEGER NOT NULL,
    value_sum REAL NOT NULL,
    min_value REAL, min_ts INTEGER,
    max_value REAL, max_ts INTEGER,
    first_value REAL, first_ts INTEGER,
    last_value REAL, last_ts INTEGER,
    gap_ts INTEGER,
    PRIMARY KEY (tag_id, bucket)
) WITHOUT ROWID
"""


@dataclass(slots=True)
class Stats:
    """Bucket statistics as parallel columns; a missing value is NaN, a missing time a NO_TS_* sentinel."""

    tag_id: np.ndarray
    bucket: np.ndarray
    count: np.ndarray
    good_count: np.ndarray
    bad_count: np.ndarray
    value_count: np.ndarray
    value_sum: np.ndarray
    min_value: np.ndarray
    min_ts: np.ndarray
    max_value: np.ndarray
    max_ts: np.ndarray
    first_value: np.ndarray
    first_ts: np.ndarray
    last_value: np.ndarray
    last_ts: np.ndarray
    gap_ts: np.ndarray

    def __len__(self) -> int:
        return int(self.tag_id.size)

    def take(self, index: np.ndarray) -> Stats:
        """The rows at ``index`` (an index or mask array)."""
        return Stats(*(getattr(self, f.name)[index] for f in fields(self)))

    def rows(self) -> zip[tuple[int | float | None, ...]]:
        """As rollup table rows, NULL for what is missing, built by ``zip`` without a Python step per row.

        A NaN value binds as NULL by itself (SQLite has no REAL NaN); a missing time becomes None.
        """
        no_values = np.isnan(self.min_value)

        def stamps(column: np.ndarray, missing: np.ndarray) -> list[int | None]:
            if not missing.any():
                return column.tolist()
            cells = column.astype(object)
            cells[missing] = None
            return cells.tolist()

        return zip(
            self.tag_id.tolist(),
            self.bucket.tolist(),
            self.count.tolist(),
            self.good_count.tolist(),
            self.bad_count.tolist(),
            self.value_count.tolist(),
            self.value_sum.tolist(),
            self.min_value.tolist(),
            stamps(self.min_ts, no_values),
            self.max_value.tolist(),
            stamps(self.max_ts, no_values),
            self.first_value.tolist(),
            stamps(self.first_ts, no_values | (self.first_ts == NO_TS_HIGH)),
            self.last_value.tolist(),
            stamps(self.last_ts, no_values | (self.last_ts == NO_TS_LOW)),
            stamps(self.gap_ts, self.gap_ts == NO_TS_HIGH),
            strict=True,
        )


def from_samples(tag_id: np.ndarray, ts: np.ndarray, values: np.ndarray, quality: np.ndarray) -> Stats:
    """Each sample as a bucket of its own; ``values`` NaN where not usable (bad or not numeric)."""
    usable = ~np.isnan(values)
    ts = ts.astype(np.int64, copy=False)
    return Stats(
        tag_id.astype(np.int64, copy=False),
        ts,
        np.ones(ts.size, np.int64),
        (quality == 2).astype(np.int64),
        (quality == 0).astype(np.int64),
        usable.astype(np.int64),
        np.where(usable, values, 0.0),
        values,
        ts,
        values,
        ts,
        values,
        np.where(usable, ts, NO_TS_HIGH),
        values,
        np.where(usable, ts, NO_TS_LOW),
        np.where(usable, NO_TS_HIGH, ts),
    )


def from_rows(rows: Iterable[tuple[int | float | None, ...]]) -> Stats:
    """Rollup table rows (``SELECT`` of ROLLUP_COLUMNS) back into columns."""
    columns = list(zip(*rows, strict=True)) or [()] * 16
    ints = [np.array(c, dtype=np.int64) for c in columns[:6]]
    value = [np.array(columns[i], dtype=np.float64) for i in (6, 7, 9, 11, 13)]  # None -> NaN

    def stamp(index: int, missing: int) -> np.ndarray:
        return np.array([missing if v is None else v for v in columns[index]], dtype=np.int64)

    return Stats(  # type: ignore[call-arg]  # the star-args fill the first six columns
        *ints,
        value[0],
        value[1],
        stamp(8, 0),
        value[2],
        stamp(10, 0),
        value[3],
        stamp(12, NO_TS_HIGH),
        value[4],
        stamp(14, NO_TS_LOW),
        stamp(15, NO_TS_HIGH),
    )


def _pick(candidate: np.ndarray, group: np.ndarray, column: np.ndarray, groups: int) -> np.ndarray:
    """Per group, ``column`` at the first True of ``candidate``; NaN where the group has none."""
    out = np.full(groups, np.nan)
    hits = np.flatnonzero(candidate)
    if hits.size:
        found, first = np.unique(group[hits], return_index=True)
        out[found] = column[hits[first]]
    return out


def rebucket(stats: Stats, width: int) -> Stats:
    """Combine rows into buckets of ``width`` microseconds per tag; exact for any order of input."""
    if len(stats) == 0:
        return stats
    bucket = stats.bucket // width * width
    tag_step, bucket_step = np.diff(stats.tag_id), np.diff(bucket)
    if np.all((tag_step > 0) | ((tag_step == 0) & (bucket_step >= 0))):
        s = stats  # already in (tag, bucket) order, as the writer's batches are: no copy
    else:
        order = np.lexsort((bucket, stats.tag_id))
        s = stats.take(order)
        bucket = bucket[order]
    change = (np.diff(s.tag_id) != 0) | (np.diff(bucket) != 0)
    starts = np.flatnonzero(np.concatenate(([True], change)))
    groups = starts.size
    group = np.repeat(np.arange(groups), np.diff(starts, append=len(s)))
    low = np.fmin.reduceat(s.min_value, starts)
    high = np.fmax.reduceat(s.max_value, starts)
    # Among equal extremes the earliest wins, as it does for raw samples.
    min_ts = np.minimum.reduceat(np.where(s.min_value == low[group], s.min_ts, NO_TS_HIGH), starts)
    max_ts = np.minimum.reduceat(np.where(s.max_value == high[group], s.max_ts, NO_TS_HIGH), starts)
    first_ts = np.minimum.reduceat(s.first_ts, starts)
    last_ts = np.maximum.reduceat(s.last_ts, starts)
    first_mask = (s.first_ts == first_ts[group]) & (s.first_ts != NO_TS_HIGH)
    last_mask = (s.last_ts == last_ts[group]) & (s.last_ts != NO_TS_LOW)
    return Stats(  # type: ignore[call-arg]  # the star-args fill the five summed columns
        s.tag_id[starts],
        bucket[starts],
        *(
            np.add.reduceat(c, starts)
            for c in (s.count, s.good_count, s.bad_count, s.value_count, s.value_sum)
        ),
        low,
        min_ts,
        high,
        max_ts,
        _pick(first_mask, group, s.first_value, groups),
        first_ts,
        _pick(last_mask, group, s.last_value, groups),
        last_ts,
        np.minimum.reduceat(s.gap_ts, starts),
    )


def concat(parts: list[Stats]) -> Stats:
    """Rows of several Stats as one."""
    return Stats(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Stats)))


def rebucket_all(stats: Stats) -> Stats:
    """All rows combined into one (of tag 0, bucket 0); empty stays empty."""
    if len(stats) == 0:
        return stats
    zeros = np.zeros(len(stats), np.int64)
    whole = Stats(zeros, zeros, *(getattr(stats, f.name) for f in fields(Stats)[2:]))
    return rebucket(whole, 1)
