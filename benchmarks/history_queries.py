"""Trend queries over a year of 1 Hz history: ours against the best plain SQL a user would write.

Ours: ``HistoryReader.plot_series`` into 1,000 buckets (2,000 points) for one pen. Bare: for 8 h, a
``GROUP BY`` bucket with min/max over the raw rows (there is nothing coarser that answers 8 h at
1,000 buckets); for a year, the same ``GROUP BY`` over the hourly rollup table, as anyone who has
read docs/history-schema.md would write it.

Each is measured cold and warm. Cold: a fresh connection (a fresh reader for ours) after the file's
pages were dropped from the OS page cache with ``posix_fadvise(POSIX_FADV_DONTNEED)``; that evicts
the file's clean cached pages without privileges and without touching other processes' files. Where
the call is missing (not Linux) cold means a fresh connection only, and the result says so.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import year_cache
from hmi.historian.reader import HistoryReader
from hmi.historian.schema import open_for_reading

POINTS = 2_000  # 1,000 buckets
WARM_REPEAT = 11
COLD_REPEAT = 3


def drop_from_page_cache(path: Path) -> bool:
    """Ask the OS to forget the file's cached pages (and its WAL's); False where it cannot be asked."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is None:
        return False
    for part in (path, path.with_name(path.name + "-wal")):
        if part.exists():
            fd = os.open(part, os.O_RDONLY)
            try:
                advise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
    return True


def _ms(call: Callable[[], object]) -> float:
    began = time.perf_counter()
    call()
    return (time.perf_counter() - began) * 1000


def _warm(call: Callable[[], object], repeat: int) -> float:
    """Median milliseconds of ``repeat`` calls after one warm-up call."""
    call()
    return statistics.median(_ms(call) for _ in range(repeat))


def _cold(path: Path, make: Callable[[], Callable[[], object]]) -> float:
    """Median milliseconds of a first call on a fresh connection after the file left the page cache."""
    times = []
    for _ in range(COLD_REPEAT):
        drop_from_page_cache(path)
        call = make()  # the connection is opened here, as a user's first query would
        times.append(_ms(call))
    return statistics.median(times)


def bare_raw(path: Path, start: float, end: float) -> Callable[[], object]:
    """Plain SQL over the raw rows: 1,000 buckets of min/max."""
    low, high = round(start * 1e6), round(end * 1e6)
    conn = open_for_reading(path)

    def query() -> list[tuple[int, float, float]]:
        return conn.execute(
            "SELECT (ts - ?) * 1000 / (? - ?) AS b, min(value), max(value) FROM samples"
            " WHERE tag_id = 1 AND ts BETWEEN ? AND ? GROUP BY b",
            (low, high + 1, low, low, high),
        ).fetchall()

    return query


def bare_hourly(path: Path, start: float, end: float) -> Callable[[], object]:
    """Plain SQL over the hourly rollup table: 1,000 buckets of min/max."""
    low, high = round(start * 1e6), round(end * 1e6)
    conn = open_for_reading(path)

    def query() -> list[tuple[int, float, float]]:
        return conn.execute(
            "SELECT (bucket - ?) * 1000 / (? - ?) AS b, min(min_value), max(max_value) FROM rollup_1h"
            " WHERE tag_id = 1 AND bucket BETWEEN ? AND ? GROUP BY b",
            (low, high + 1, low, low, high),
        ).fetchall()

    return query


def _ours(path: Path, start: float, end: float) -> Callable[[], object]:
    reader = HistoryReader(path)
    return lambda: reader.plot_series(year_cache.PEN, start, end, POINTS)


def run(spec: year_cache.YearSpec | None = None, folder: Path | None = None) -> dict[str, object]:
    """Cold and warm figures for 8 h and a year, ours and bare; speedups are bare time over ours."""
    spec = spec or year_cache.YearSpec()
    began = time.perf_counter()
    path, built = year_cache.ensure(spec, folder)
    cold_method = (
        "fresh connection after posix_fadvise(DONTNEED) on the file"
        if hasattr(os, "posix_fadvise")
        else "fresh connection only: the OS page cache could not be dropped here"
    )
    results: dict[str, object] = {
        "year_file": f"{path.stat().st_size / 1e9:.2f} GB, "
        + (f"built in {time.perf_counter() - began:.0f} s" if built else "cached, validated"),
        "cold_means": cold_method,
    }
    end = spec.end - 1234.5  # "now" is never on a bucket boundary
    year = spec.days * year_cache.DAY - 3600
    for name, span, bare in (("8h", 8 * 3600, bare_raw), ("year", year, bare_hourly)):
        start = end - span
        ours_warm = _warm(_ours(path, start, end), WARM_REPEAT)
        bare_warm = _warm(bare(path, start, end), WARM_REPEAT)
        ours_cold = _cold(path, lambda s=start: _ours(path, s, end))
        bare_cold = _cold(path, lambda s=start, b=bare: b(path, s, end))
        label = "raw" if bare is bare_raw else "rollup_1h"
        results[f"query_{name}"] = {
            "bare_sql_over": label,
            "ours_warm_ms": round(ours_warm, 2),
            "bare_warm_ms": round(bare_warm, 2),
            "warm_speedup": round(bare_warm / ours_warm, 3),
            "ours_cold_ms": round(ours_cold, 1),
            "bare_cold_ms": round(bare_cold, 1),
            "cold_speedup": round(bare_cold / ours_cold, 3),
        }
    return results
