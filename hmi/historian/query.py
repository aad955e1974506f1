"""Trend queries: downsampled series, the value at a time, aggregates over a range.

Each function takes ``run(sql, params) -> rows`` (the reader's per-thread
connection), so the same code serves any thread. Times are epoch seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from hmi.historian.downsample import TrendArrays, empty_series, min_max_per_bucket
from hmi.historian.pieces import WIDTHS, closed_before, pieces, stats, trend_points
from hmi.historian.rollup import LEVELS, USABLE_VALUE, rebucket_all
from hmi.historian.schema import micros_to_seconds, seconds_to_micros
from hmi.model import Quality

Run = Callable[[str, tuple[Any, ...]], list[Any]]

TAG_ID = "(SELECT id FROM tags WHERE name = ?)"

PLOT_VALUE = USABLE_VALUE
RAW_READ_LIMIT = 200_000  # rows a short range may read raw (~0.1 s) before the finest rollup serves it


def raw_series(run: Run, tag: str, start: float, end: float) -> TrendArrays:
    """Every sample in [start, end]: ts seconds, value (NaN for bad or non-numeric), quality."""
    rows = run(
        f"SELECT ts, {PLOT_VALUE}, quality FROM samples WHERE tag_id = {TAG_ID} AND ts BETWEEN ? AND ?"
        " ORDER BY ts",
        (tag, seconds_to_micros(start), seconds_to_micros(end)),
    )
    if not rows:
        return empty_series()
    ts, values, quality = zip(*rows, strict=True)
    return (
        np.array(ts, dtype=np.int64) / 1e6,
        np.array(values, dtype=np.float64),
        np.array(quality, dtype=np.int8),
    )


def check_range(start: float, end: float) -> None:
    """ValueError for a range that is not two finite times in order."""
    if not (math.isfinite(start) and math.isfinite(end)) or end < start:
        raise ValueError(f"not a time range: start={start!r}, end={end!r}")


def _row_at(run: Run, tag: str, micros: int, after: bool) -> tuple[int, Any, int, str] | None:
    compare, order = (">", "ASC") if after else ("<=", "DESC")
    rows = run(
        f"SELECT ts, value, quality, reason FROM samples WHERE tag_id = {TAG_ID} AND ts {compare} ?"
        f" ORDER BY ts {order} LIMIT 1",
        (tag, micros),
    )
    return rows[0] if rows else None


def _usable(value: Any, quality: int) -> bool:
    return quality > Quality.BAD and isinstance(value, float)


def value_at(run: Run, tag: str, ts: float, interpolate: bool) -> tuple[float, Any, int, str] | None:
    """(ts, value, quality, reason) in force at ``ts``; None before the first sample.

    Without interpolation this is the last sample at or before ``ts`` (step
    reconstruction). With it, a numeric value between two usable samples is
    interpolated linearly, stamped ``ts``, with the worse of their qualities.
    """
    micros = seconds_to_micros(ts)
    before = _row_at(run, tag, micros, after=False)
    if before is None:
        return None
    stamp, value, quality, reason = before
    if not interpolate or stamp == micros or not _usable(value, quality):
        return micros_to_seconds(stamp), value, quality, reason
    after = _row_at(run, tag, micros, after=True)
    if after is None or not _usable(after[1], after[2]):
        return micros_to_seconds(stamp), value, quality, reason
    share = (micros - stamp) / (after[0] - stamp)
    return ts, value + (after[1] - value) * share, min(quality, after[2]), reason or after[3]


def _tag_id(run: Run, tag: str) -> int | None:
    rows = run("SELECT id FROM tags WHERE name = ?", (tag,))
    return rows[0][0] if rows else None


def _micros_range(start: float, end: float) -> tuple[int, int]:
    check_range(start, end)
    return seconds_to_micros(start), seconds_to_micros(end) + 1  # end is inclusive


def plot_series(run: Run, tag: str, start: float, end: float, max_points: int) -> TrendArrays:
    """The tag over [start, end] in at most about ``max_points`` points (see HistoryReader.plot_series)."""
    low, high = _micros_range(start, end)
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2, not {max_points}")
    buckets = max_points // 2
    tag_id = _tag_id(run, tag)
    if tag_id is None:
        return empty_series()
    # The coarsest rollup with at least one bucket per output bucket; none for a short range,
    # unless its raw rows are too many to read quickly: then the finest rollup, a little coarser.
    level = max((i for i, width in enumerate(WIDTHS) if (high - low) / width >= buckets), default=-1)
    if level < 0 and _samples_about(run, tag_id, low, high) > RAW_READ_LIMIT:
        level = 0
    if level < 0:
        ts, values, quality = raw_series(run, tag, start, end)
        if ts.size <= max_points:
            return ts, values, quality
        return min_max_per_bucket(ts, values, quality, start, end, buckets)
    (ts, values, quality), samples = trend_points(run, tag_id, pieces(low, high, level, closed_before(run)))
    if samples <= max_points:
        return raw_series(run, tag, start, end)
    return min_max_per_bucket(ts / 1e6, values, quality, start, end, buckets)


def _samples_about(run: Run, tag_id: int, low: int, high: int) -> int:
    """Samples in [low, high) give or take one finest bucket at each end, from the finest rollup."""
    width = WIDTHS[0]
    return run(
        f"SELECT coalesce(sum(count), 0) FROM {LEVELS[width]}"
        " WHERE tag_id = ? AND bucket >= ? AND bucket < ?",
        (tag_id, low // width * width, high),
    )[0][0]


def aggregate(run: Run, tag: str, start: float, end: float) -> dict[str, float | int | None]:
    """Statistics of the samples in [start, end] (see HistoryReader.aggregate)."""
    low, high = _micros_range(start, end)
    tag_id = _tag_id(run, tag)
    coarsest = len(WIDTHS) - 1
    total = None
    if tag_id is not None:
        total = rebucket_all(stats(run, tag_id, pieces(low, high, coarsest, closed_before(run))))
    if total is None or len(total) == 0:
        return dict.fromkeys(("min", "max", "avg", "first", "last"), None) | {"count": 0, "good_count": 0}
    usable = int(total.value_count[0]) > 0

    def value(column: np.ndarray) -> float | None:
        return float(column[0]) if usable else None

    return {
        "min": value(total.min_value),
        "max": value(total.max_value),
        "avg": float(total.value_sum[0]) / int(total.value_count[0]) if usable else None,
        "first": value(total.first_value),
        "last": value(total.last_value),
        "count": int(total.count[0]),
        "good_count": int(total.good_count[0]),
    }
