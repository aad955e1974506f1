"""Reading a long range cheaply: whole rollup buckets inside it, finer levels at its ragged ends.

A range [low, high) in microseconds is cut into *pieces*: the coarsest rollup
level's whole buckets in the middle, the next finer level's whole buckets on
either side, and so on down to raw samples for the last fraction of the finest
bucket. Every sample counts exactly once, so statistics come out exact.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from hmi.historian.downsample import TrendArrays
from hmi.historian.rollup import (
    LEVELS,
    NO_TS_LOW,
    ROLLUP_COLUMNS,
    USABLE_VALUE,
    Stats,
    concat,
    from_rows,
    from_samples,
)

Run = Callable[[str, tuple[Any, ...]], list[Any]]
Piece = tuple[int, int, int]  # (rollup width, or 0 for raw samples; low; high)
WIDTHS = tuple(LEVELS)  # finest first
RAW = 0

_RAW_POINTS = (
    f"SELECT ts, {USABLE_VALUE}, quality FROM samples WHERE tag_id = ? AND ts >= ? AND ts < ? ORDER BY ts"
)
_IN_RANGE = "tag_id = ? AND bucket >= ? AND bucket < ?"
_QUALITY = "CASE WHEN count > good_count + bad_count THEN 1 ELSE 2 END"  # uncertain if any sample was
# A bucket's trend points: its lowest, its highest and its first gap (bad if any sample was bad).
_BUCKET_POINTS = (
    "SELECT min_ts, min_value, {q} FROM {t} WHERE {r} AND value_count > 0"
    " UNION ALL SELECT max_ts, max_value, {q} FROM {t} WHERE {r} AND value_count > 0"
    " UNION ALL SELECT gap_ts, NULL, CASE WHEN bad_count > 0 THEN 0 ELSE {q} END FROM {t} WHERE {r}"
    " AND gap_ts IS NOT NULL"
)


def closed_before(run: Run) -> dict[int, int]:
    """Each level's mark: its buckets before it are closed rows, the rest open (see hmi.historian.marks)."""
    found = dict(run("SELECT width, closed_before FROM rollup_marks", ()))
    return {width: int(found.get(width, NO_TS_LOW)) for width in WIDTHS}


def pieces(low: int, high: int, level: int, closed: Mapping[int, int]) -> list[Piece]:
    """[low, high) cut into whole closed buckets of ``WIDTHS[level]`` and finer pieces around, in time order.

    ``closed``: each level's mark (:func:`closed_before`); what lies past a level's mark is served by
    the finer levels and, past the finest mark, by raw rows.
    """
    if level < 0:
        return [(RAW, low, high)] if low < high else []
    width = WIDTHS[level]
    inner_low, inner_high = -(-low // width) * width, min(high // width * width, closed[width])
    if inner_low >= inner_high:
        return pieces(low, high, level - 1, closed)
    return [
        *pieces(low, inner_low, level - 1, closed),
        (width, inner_low, inner_high),
        *pieces(inner_high, high, level - 1, closed),
    ]


def stats(run: Run, tag_id: int, parts: list[Piece]) -> Stats:
    """The statistics of each piece's buckets (raw samples as buckets of one)."""
    found = []
    for width, low, high in parts:
        if width == RAW:
            ts, values, quality = _columns(run(_RAW_POINTS, (tag_id, low, high)))
            found.append(from_samples(np.zeros(ts.size, np.int64), ts, values, quality))
        else:
            sql = f"SELECT {ROLLUP_COLUMNS} FROM {LEVELS[width]} WHERE {_IN_RANGE}"
            found.append(from_rows(run(sql, (tag_id, low, high))))
    return concat(found)


def trend_points(run: Run, tag_id: int, parts: list[Piece]) -> tuple[TrendArrays, int]:
    """Every point the pieces offer a trend, in time order (ts in µs), and how many samples they hold."""
    rows: list[tuple[int, float | None, int]] = []
    samples = 0
    for width, low, high in parts:
        if width == RAW:
            found = run(_RAW_POINTS, (tag_id, low, high))
            samples += len(found)
        else:
            table = LEVELS[width]
            found = run(_BUCKET_POINTS.format(q=_QUALITY, t=table, r=_IN_RANGE), (tag_id, low, high) * 3)
            samples += run(
                f"SELECT coalesce(sum(count), 0) FROM {table} WHERE {_IN_RANGE}", (tag_id, low, high)
            )[0][0]
        rows.extend(found)
    ts, values, quality = _columns(rows)
    order = np.argsort(ts, kind="stable")
    return (ts[order], values[order], quality[order]), samples


def _columns(rows: list[tuple[int, float | None, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ts, values, quality = zip(*rows, strict=True) if rows else ((), (), ())
    return (
        np.array(ts, dtype=np.int64),
        np.array(values, dtype=np.float64),  # None -> NaN
        np.array(quality, dtype=np.int8),
    )
