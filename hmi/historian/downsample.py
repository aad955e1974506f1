"""Min/max-per-bucket downsampling of trend points, in numpy: every peak survives, and so do gaps.

A point whose value is NaN marks a gap (bad quality or no numeric value); the
trend breaks its line there, so each bucket that holds one keeps its first.
"""

from __future__ import annotations

import numpy as np

TrendArrays = tuple[np.ndarray, np.ndarray, np.ndarray]


def empty_series() -> TrendArrays:
    """No points: ts float64, value float64, quality int8."""
    return np.empty(0, np.float64), np.empty(0, np.float64), np.empty(0, np.int8)


def _first_in_group(mask: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Index of the first True of ``mask`` in each group that has one (groups numbered in order)."""
    hits = np.flatnonzero(mask)
    if hits.size == 0:
        return hits
    _, first = np.unique(group[hits], return_index=True)
    return hits[first]


def min_max_per_bucket(
    ts: np.ndarray, values: np.ndarray, quality: np.ndarray, start: float, end: float, buckets: int
) -> TrendArrays:
    """Per equal-width time bucket over [start, end]: its min, its max and its first gap, in time order.

    ``ts`` must be sorted. The chosen points are real input points (their own
    timestamps and qualities), so a peak is drawn where it happened. At most
    three points per bucket, two when the bucket holds no gap.
    """
    if ts.size == 0:
        return empty_series()
    span = max(end - start, 1e-9)
    index = np.clip(((ts - start) * (buckets / span)).astype(np.int64), 0, buckets - 1)
    # Sorted ts gives non-decreasing bucket numbers: a change marks the start of the next group.
    starts = np.flatnonzero(np.diff(index, prepend=-1))
    group = np.repeat(np.arange(starts.size), np.diff(starts, append=ts.size))
    plottable = ~np.isnan(values)
    lowest = np.minimum.reduceat(np.where(plottable, values, np.inf), starts)
    highest = np.maximum.reduceat(np.where(plottable, values, -np.inf), starts)
    chosen = np.concatenate(
        (
            _first_in_group(plottable & (values == lowest[group]), group),
            _first_in_group(plottable & (values == highest[group]), group),
            _first_in_group(~plottable, group),
        )
    )
    keep = np.unique(chosen)  # sorted: time order, and a min that is also the max appears once
    return ts[keep], values[keep], quality[keep]
