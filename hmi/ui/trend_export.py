"""Export of what a trend shows: its pens' data over the visible range as CSV (run in a worker).

One row per point, all pens merged in time order, so a spreadsheet can filter
by tag or pivot the table; times in UTC (ISO 8601) and as epoch seconds.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from hmi.historian.reader import HistoryReader
from hmi.model import Quality

CSV_HEADER = ("time_utc", "epoch_s", "tag", "value", "units", "quality")
_QUALITY_NAMES = {int(quality): quality.name.lower() for quality in Quality}

Columns = tuple[np.ndarray, np.ndarray, np.ndarray]
"""ts (epoch s), value (NaN = no value), quality codes."""


def write_trend_csv(path: Path, series: Mapping[str, Columns], units: Mapping[str, str]) -> int:
    """Write every pen's points to ``path``; returns the number of data rows."""
    names = [name for name in series if len(series[name][0])]
    if names:
        ts = np.concatenate([np.asarray(series[name][0], dtype=float) for name in names])
        values = np.concatenate([np.asarray(series[name][1], dtype=float) for name in names])
        quality = np.concatenate([np.asarray(series[name][2], dtype=np.int8) for name in names])
        pen_index = np.concatenate([np.full(len(series[name][0]), i) for i, name in enumerate(names)])
        order = np.lexsort((pen_index, ts))
        ts, values, quality, pen_index = ts[order], values[order], quality[order], pen_index[order]
    else:
        ts = values = np.empty(0)
        quality, pen_index = np.empty(0, np.int8), np.empty(0, int)
    # vectorised: formatting a datetime per row would dominate a million-row export
    times = np.datetime_as_string(np.round(ts * 1000).astype("datetime64[ms]"), unit="ms", timezone="UTC")
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(CSV_HEADER)
        for when, epoch, value, code, index in zip(
            times.tolist(), ts.tolist(), values.tolist(), quality.tolist(), pen_index.tolist(), strict=True
        ):
            name = names[index]
            text = "" if value != value else f"{value:.10g}"  # NaN: no value (bad quality or a gap)
            writer.writerow(
                (when, f"{epoch:.3f}", name, text, units.get(name, ""), _QUALITY_NAMES.get(code, "bad"))
            )
    return len(ts)


def export_history_csv(
    path: Path,
    reader: HistoryReader,
    pens: Sequence[str],
    start: float,
    end: float,
    units: Mapping[str, str],
) -> int:
    """Write the raw history of ``pens`` between ``start`` and ``end`` (full resolution, not the plot's)."""
    known = set(reader.tag_names())
    series = {pen: reader.arrays(pen, start, end) for pen in pens if pen in known}
    return write_trend_csv(path, series, units)
