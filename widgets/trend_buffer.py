"""A pen's stored points (time, value, quality) and the questions a trend asks of them.

NaN in the values marks a gap: bad quality, or a value a chart cannot plot.
Quality is kept beside the value so that bad spans can be shaded and a cursor
can say *why* there is no value, not only that there is none.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from hmi.model import Quality, Sample
from widgets import palette

_MIN_CAPACITY = 1024
GOOD = int(Quality.GOOD)
BAD = int(Quality.BAD)


class Series(NamedTuple):
    """Columns of one pen: ts (epoch s, ascending), value (NaN = gap), quality codes (int8)."""

    ts: np.ndarray
    values: np.ndarray
    quality: np.ndarray


class Reading(NamedTuple):
    """A pen's value at a moment: the last stored point at or before it."""

    ts: float
    value: float
    quality: Quality


class TraceBuffer:
    """Growing time/value/quality arrays of one pen. One spare slot holds the live tail."""

    def __init__(self, max_points: int = 500_000) -> None:
        self.max_points = max_points
        self._reset(np.empty(0), np.empty(0), np.empty(0, np.int8))

    def __len__(self) -> int:
        return self._n

    @property
    def ts(self) -> np.ndarray:
        """Timestamps (epoch s), ascending."""
        return self._ts[: self._n]

    @property
    def values(self) -> np.ndarray:
        """Values, NaN where quality was bad."""
        return self._values[: self._n]

    @property
    def quality(self) -> np.ndarray:
        """Quality codes (:class:`Quality` values)."""
        return self._quality[: self._n]

    def series(self) -> Series:
        """The stored points as views (valid until the next append)."""
        return Series(self.ts, self.values, self.quality)

    def append(self, ts: float, value: float, quality: int = GOOD) -> None:
        """Add one point; a gap starts at its own timestamp, holding the last value until then."""
        n = self._n
        if n and ts < self._ts[n - 1]:
            self._insert_late(ts, value, quality)
            return
        if np.isnan(value) and n and not np.isnan(self._values[n - 1]):
            self._push(ts, self._values[n - 1], self._quality[n - 1])
        self._push(ts, value, quality)

    def replace_history(self, ts: np.ndarray, values: np.ndarray, quality: np.ndarray) -> None:
        """Backfill: history up to its last timestamp, then the live points that are newer."""
        history = with_gap_edges(sort_series(Series(ts, values, quality)))
        newer = self.ts > history.ts[-1] if len(history.ts) else np.ones(self._n, dtype=bool)
        self._reset(
            np.concatenate([history.ts, self.ts[newer]]),
            np.concatenate([history.values, self.values[newer]]),
            np.concatenate([history.quality, self.quality[newer]]),
        )

    def drawable(self, now: float | None) -> tuple[np.ndarray, np.ndarray]:
        """Views to plot; with ``now``, a finite last value is held up to now in the spare slot."""
        n = self._n
        if now is None or n == 0 or np.isnan(self._values[n - 1]) or now <= self._ts[n - 1]:
            return self._ts[:n], self._values[:n]
        self._ts[n], self._values[n] = now, self._values[n - 1]
        return self._ts[: n + 1], self._values[: n + 1]

    def _push(self, ts: float, value: float, quality: int) -> None:
        if self._n + 1 >= len(self._ts):
            self._grow()
        self._ts[self._n], self._values[self._n], self._quality[self._n] = ts, value, quality
        self._n += 1

    def _grow(self) -> None:
        keep = self._n
        if keep + 1 >= self.max_points:
            keep = self.max_points * 3 // 4  # drop the oldest quarter: memory stays bounded
        start = self._n - keep
        # fresh arrays, never shifted in place: a curve may still hold views of the old ones
        capacity = min(max(2 * keep + 2, _MIN_CAPACITY), self.max_points + 1)
        self._reset(self.ts[start:].copy(), self.values[start:].copy(), self.quality[start:].copy(), capacity)

    def _insert_late(self, ts: float, value: float, quality: int) -> None:
        at = int(np.searchsorted(self.ts, ts, side="right"))
        self._reset(
            np.insert(self.ts, at, ts),
            np.insert(self.values, at, value),
            np.insert(self.quality, at, quality),
        )

    def _reset(
        self, ts: np.ndarray, values: np.ndarray, quality: np.ndarray, capacity: int | None = None
    ) -> None:
        n = len(ts)
        size = max(capacity or 0, n + 1, _MIN_CAPACITY)
        self._ts, self._values, self._quality = np.empty(size), np.empty(size), np.empty(size, np.int8)
        self._ts[:n], self._values[:n], self._quality[:n] = ts, values, quality
        self._n = n


def sort_series(series: Series) -> Series:
    """The series in time order (history files are sorted already; merged sources may not be)."""
    ts = np.asarray(series.ts, dtype=float)
    values = np.asarray(series.values, dtype=float)
    quality = np.asarray(series.quality, dtype=np.int8)
    if len(ts) > 1 and np.any(np.diff(ts) < 0):
        order = np.argsort(ts, kind="stable")
        return Series(ts[order], values[order], quality[order])
    return Series(ts, values, quality)


def with_gap_edges(series: Series) -> Series:
    """Repeat the last value at the timestamp where each gap starts, so a line ends where the data did."""
    ts, values, quality = series
    gaps = np.flatnonzero(np.isnan(values[1:]) & ~np.isnan(values[:-1])) + 1
    if len(gaps) == 0:
        return series
    return Series(
        np.insert(ts, gaps, ts[gaps]),
        np.insert(values, gaps, values[gaps - 1]),
        np.insert(quality, gaps, quality[gaps - 1]),
    )


def with_newer_points(history: Series, live: Series) -> Series:
    """History followed by the live points newer than it, when the two meet (history lags a commit)."""
    if not len(history.ts) or not len(live.ts) or history.ts[-1] < live.ts[0]:
        return history
    newer = live.ts > history.ts[-1]
    return Series(*(np.concatenate([a, b[newer]]) for a, b in zip(history, live, strict=True)))


def bad_spans(series: Series, until: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of the runs of bad quality; a run ends at the next better point, or at ``until``."""
    ts, quality = series.ts, series.quality
    if len(ts) == 0:
        return np.empty(0), np.empty(0)
    bad = np.asarray(quality) == BAD
    edges = np.diff(bad.astype(np.int8))
    starts = np.flatnonzero(edges == 1) + 1
    ends = np.flatnonzero(edges == -1) + 1
    if bad[0]:
        starts = np.insert(starts, 0, 0)
    start_ts = ts[starts]
    end_ts = ts[np.minimum(ends, len(ts) - 1)]
    if bad[-1]:
        end_ts = np.append(end_ts, max(ts[-1], until if until is not None else ts[-1]))
    return start_ts, end_ts


def reading_at(series: Series, at: float) -> Reading | None:
    """The last point at or before ``at`` (None before the first point)."""
    index = int(np.searchsorted(series.ts, at, side="right")) - 1
    if index < 0:
        return None
    code = int(series.quality[index])
    quality = Quality(code) if code in Quality._value2member_map_ else Quality.BAD
    return Reading(float(series.ts[index]), float(series.values[index]), quality)


def window(series: Series, start: float, end: float) -> Series:
    """Copies of the points with start <= ts <= end."""
    low = int(np.searchsorted(series.ts, start, side="left"))
    high = int(np.searchsorted(series.ts, end, side="right"))
    return Series(series.ts[low:high].copy(), series.values[low:high].copy(), series.quality[low:high].copy())


def peak_decimate(
    ts: np.ndarray, values: np.ndarray, start: float, end: float, columns: int
) -> tuple[np.ndarray, np.ndarray]:
    """The points a chart ``columns`` pixels wide needs to draw start–end: a min and a max per column.

    Done here rather than left to pyqtgraph because pyqtgraph re-scans the whole
    array on every ``setData`` (copies, finiteness, bounds); handing it ~2 points
    per pixel makes a frame of 8 pens x 100k points cheaper than bare pyqtgraph.
    Bins are aligned to absolute sample indices so peaks do not shimmer while the
    chart scrolls; a bin holding a gap is a gap (NaN propagates), like pyqtgraph's
    own peak mode. One point beyond each edge keeps the line running to the border.
    """
    low = max(int(np.searchsorted(ts, start, side="left")) - 1, 0)
    high = min(int(np.searchsorted(ts, end, side="right")) + 1, len(ts))
    count = high - low
    if count <= 2 * max(columns, 1):
        return ts[low:high], values[low:high]
    step = count // columns
    first = -(-low // step) * step  # the first bin boundary at or after low
    whole = (high - first) // step * step
    bins = values[first : first + whole].reshape(-1, step)
    peaks = np.empty((len(bins), 2))
    peaks[:, 0], peaks[:, 1] = bins.min(axis=1), bins.max(axis=1)
    stamps = np.repeat(ts[first : first + whole : step], 2)
    tail = first + whole
    return (
        np.concatenate([ts[low:first], stamps, ts[tail:high]]),
        np.concatenate([values[low:first], peaks.ravel(), values[tail:high]]),
    )


def sample_to_point(sample: Sample) -> float:
    """The value a trend plots for a sample: NaN (a gap) for bad quality or a non-numeric value."""
    if sample.quality is Quality.BAD:
        return float("nan")
    number = palette.numeric_value(sample)
    return float("nan") if number is None else number


def as_series(ts: np.ndarray, values: np.ndarray, quality: np.ndarray | None) -> Series:
    """History columns as a series; values of bad quality become gaps whatever the file held."""
    values = np.asarray(values, dtype=float).copy()
    codes = (
        np.full(len(values), int(Quality.GOOD), np.int8)
        if quality is None
        else np.asarray(quality, dtype=np.int8)
    )
    values[codes == int(Quality.BAD)] = np.nan
    return Series(np.asarray(ts, dtype=float), values, codes)
