"""History ingest and trend queries, each against the bare library doing the same work in the same run.

Ingest: HistoryWriter (append from the runtime, deadband check, conversion, raw rows and rollups in
1 s commits on its thread) against raw ``sqlite3.executemany`` of the same rows into the same schema.
The samples carry the timestamps a plant producing them at the measured rate would give them.

Queries: ``HistoryReader.plot_series`` into 1,000 buckets (2,000 points) for one pen over 8 h and
over a year of 1 Hz data, against a bare SQL ``GROUP BY`` bucket with min/max over the raw rows.
The year (31.5M raw rows plus rollups, ~1.5 GB) is built once into a cache file in the temp folder.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from hmi.historian import upkeep
from hmi.historian.reader import HistoryReader
from hmi.historian.schema import SCHEMA_VERSION, ensure_schema, open_for_reading, open_for_writing
from hmi.historian.writer import HistoryWriter
from hmi.model import Sample

SAMPLES = 900_000
TAGS = 200
RATE = 300_000  # samples per second of plant time
ROUNDS = 3
BATCH = 300_000  # one second of samples: what the writer commits at a time at this rate

DAY = 86_400
YEAR_DAYS = 365
YEAR_END = 1_767_225_600  # 2026-01-01T00:00:00Z
PEN = "PLANT.FLOW"
POINTS = 2_000  # 1,000 buckets


def _samples() -> list[tuple[str, Sample]]:
    start = time.time() - SAMPLES / RATE
    return [(f"TAG{i % TAGS:03d}", Sample.good(float(i % 997), ts=start + i / RATE)) for i in range(SAMPLES)]


def _ours(path: Path, samples: list[tuple[str, Sample]]) -> tuple[float, float]:
    writer = HistoryWriter(path, commit_interval=1.0, max_pending=SAMPLES * 2)
    writer.start()
    began, cpu = time.perf_counter(), time.process_time()
    append = writer.append
    for tag, sample in samples:
        append(tag, sample)
    writer.stop(timeout=300)
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    stats = writer.stats()
    if stats["written"] != SAMPLES or stats["dropped"]:
        raise RuntimeError(f"historian benchmark lost data: {stats}")
    return elapsed, cpu


def _bare(path: Path, samples: list[tuple[str, Sample]]) -> tuple[float, float]:
    ensure_schema(path)
    db = open_for_writing(path)
    tag_ids = {f"TAG{i:03d}": i + 1 for i in range(TAGS)}
    db.executemany("INSERT INTO tags (id, name) VALUES (?, ?)", [(i, n) for n, i in tag_ids.items()])
    began, cpu = time.perf_counter(), time.process_time()
    # The least conversion that yields the same rows: integer microseconds, plain int and str, the seq.
    rows = [
        (tag_ids[t], round(s.ts * 1e6), s.value, int(s.quality), s.reason.value, seq)
        for seq, (t, s) in enumerate(samples, 1)
    ]
    # The connection is in autocommit mode (isolation_level=None): BEGIN/COMMIT explicitly.
    for first in range(0, len(rows), BATCH):
        db.execute("BEGIN")
        db.executemany(
            "INSERT OR REPLACE INTO samples (tag_id, ts, value, quality, reason, seq)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            rows[first : first + BATCH],
        )
        db.execute("COMMIT")
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    db.close()
    return elapsed, cpu


def ingest() -> dict[str, float | int]:
    """Ingest the same samples both ways: samples per second of wall clock, and per second of CPU
    (both of our threads counted: what one core sustains); our share of the bare speed in each."""
    samples = _samples()
    bare: list[tuple[float, float]] = []
    ours: list[tuple[float, float]] = []
    for _ in range(ROUNDS):  # alternating, best of each: a shared machine's noise hits both alike
        with tempfile.TemporaryDirectory() as folder:
            bare.append(_bare(Path(folder) / "bare.db", samples))
            ours.append(_ours(Path(folder) / "ours.db", samples))
    bare_wall, bare_cpu = min(b[0] for b in bare), min(b[1] for b in bare)
    ours_wall, ours_cpu = min(o[0] for o in ours), min(o[1] for o in ours)
    return {
        "samples": SAMPLES,
        "ours_samples_per_s": round(SAMPLES / ours_wall),
        "bare_executemany_samples_per_s": round(SAMPLES / bare_wall),
        "ratio": round(bare_wall / ours_wall, 3),
        "ours_samples_per_cpu_s": round(SAMPLES / ours_cpu),
        "bare_executemany_samples_per_cpu_s": round(SAMPLES / bare_cpu),
        "cpu_ratio": round(bare_cpu / ours_cpu, 3),
    }


def _build_year(path: Path) -> None:
    """A year of one pen at 1 Hz (a slow wave plus noise, one bad minute a day), with its rollups."""
    building = path.with_suffix(".building")
    building.unlink(missing_ok=True)
    ensure_schema(building)
    conn = open_for_writing(building)
    start = YEAR_END - YEAR_DAYS * DAY
    conn.execute("INSERT INTO tags (id, name) VALUES (1, ?)", (PEN,))
    for day in range(YEAR_DAYS):
        first = (start + day * DAY) * 1_000_000
        conn.execute("BEGIN")
        conn.execute(
            "INSERT INTO samples (tag_id, ts, value, quality) WITH RECURSIVE s(i) AS"
            " (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < 86399)"
            " SELECT 1, ? + i * 1000000, 50 + 40 * sin((? + i) / 3600.0) + (abs(random()) % 1000) / 100.0,"
            " CASE WHEN i BETWEEN 43200 AND 43259 THEN 0 ELSE 2 END FROM s",
            (first, day * DAY),
        )
        conn.execute("COMMIT")
    conn.execute("BEGIN")
    upkeep.backfill(conn)
    conn.execute("COMMIT")
    conn.close()
    os.replace(building, path)


def _timed(call: Callable[[], object], repeat: int) -> float:
    """Median milliseconds of ``repeat`` calls, after a warm-up call when repeating."""
    if repeat > 1:
        call()
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def _bare_group_by(path: Path, start: float, end: float) -> Callable[[], object]:
    low, high = round(start * 1e6), round(end * 1e6)
    conn = open_for_reading(path)

    def query() -> list[tuple[int, float, float]]:
        return conn.execute(
            "SELECT (ts - ?) * 1000 / (? - ?) AS b, min(value), max(value) FROM samples"
            " WHERE tag_id = 1 AND ts BETWEEN ? AND ? GROUP BY b",
            (low, high + 1, low, low, high),
        ).fetchall()

    return query


def queries() -> dict[str, float | str]:
    """plot_series into 1,000 buckets over 8 h and over a year, against a bare GROUP BY."""
    cache = Path(tempfile.gettempdir()) / "converge-hmi-bench" / f"year-1hz-v{SCHEMA_VERSION}.db"
    cache.parent.mkdir(exist_ok=True)
    built = "cached"
    if not cache.exists():
        began = time.perf_counter()
        _build_year(cache)
        built = f"built in {time.perf_counter() - began:.0f} s"
    reader = HistoryReader(cache)
    end = YEAR_END - 1234.5  # "now" is never on a bucket boundary
    results: dict[str, float | str] = {"year_file": f"{cache.stat().st_size / 1e9:.2f} GB, {built}"}
    for name, span, repeat, bare_repeat in (
        ("8h", 8 * 3600, 21, 21),
        ("year", YEAR_DAYS * DAY - 3600, 11, 1),
    ):
        start = end - span
        ours = _timed(lambda s=start: reader.plot_series(PEN, s, end, POINTS), repeat)
        bare = _timed(_bare_group_by(cache, start, end), bare_repeat)
        results |= {
            f"plot_{name}_ms": round(ours, 2),
            f"bare_group_by_{name}_ms": round(bare, 2),
            f"plot_{name}_speedup": round(bare / ours, 1),
        }
    return results


def run() -> dict[str, float | int | str]:
    """Ingest and query figures; ratios are bare time over ours (above 1: ours is faster)."""
    return ingest() | queries()
