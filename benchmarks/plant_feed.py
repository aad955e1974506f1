"""History ingest fed like a plant: N tags, each offered once per simulated second, 1 s commits.

Ours: ``HistoryWriter`` with its real commit path (tag ids, conversion, raw rows numbered from the
history sequence, rollups at every level, the sequence box). The feeder offers one simulated second
(every tag once, values that change), asks the writer for its commit and waits until that second
is committed before offering the next: one transaction per simulated second, as a 1 Hz plant gives
the writer, without waiting out a wall-clock second between them.

Bare: the same rows by raw ``executemany`` into the same schema (the same ``samples`` table with
its ``seq`` column), one transaction per simulated second, on a connection set up as SQLite's
documentation advises for this (WAL, ``synchronous=NORMAL``, explicit BEGIN/COMMIT per batch).

Building the simulated second's samples is the drivers' work, not the store's: it happens outside
the timed part on both sides. Converting them into rows is the store's work: timed on both sides.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from hmi.historian.schema import ensure_schema, open_for_writing
from hmi.historian.writer import HistoryWriter
from hmi.model import Sample

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z: the first simulated second


def tag_names(tags: int) -> list[str]:
    """Plant-like names, one per tag."""
    return [f"AREA{i // 1000:03d}.TAG{i % 1000:03d}" for i in range(tags)]


def second_values(tags: int, second: int) -> np.ndarray:
    """Every tag's value at ``second``: each tag changes every second (a wave per tag plus a step)."""
    phase = np.arange(tags, dtype=float) * 0.37
    return 50.0 + 40.0 * np.sin(phase + second * 0.1) + (second % 7) * 0.01


def seconds(names: list[str], count: int) -> Iterator[list[tuple[str, Sample]]]:
    """``count`` simulated seconds; each offers every tag once, stamped within its second."""
    tags = len(names)
    # A scan spreads a second's reads over the second; a fixed offset per tag keeps timestamps distinct.
    offsets = np.arange(tags, dtype=float) / tags * 0.5
    good = Sample.good
    for second in range(count):
        values = second_values(tags, second).tolist()
        stamps = (START + second + offsets).tolist()
        yield [(name, good(v, ts=ts)) for name, v, ts in zip(names, values, stamps, strict=True)]


def ours(path: Path, names: list[str], count: int, steady: bool = False) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of all our threads, commits) for ``count`` seconds of plant data.

    ``steady``: the first simulated second is committed but not timed (it creates the tags, as
    the bare side's untimed set-up does): the figures are then those of a plant already running.
    """
    writer = HistoryWriter(path, commit_interval=1.0, max_pending=len(names) * 4)
    writer.start()
    wake = writer.writer.wake
    wall = cpu = 0.0
    expected = 0
    commits_before = int(writer.stats()["commits"])
    try:
        for second, batch in enumerate(seconds(names, count)):
            began, cpu_began = time.perf_counter(), time.process_time()
            append = writer.append
            for tag, sample in batch:
                append(tag, sample)
            expected += len(batch)
            wake.set()  # commit now: the simulated second is over
            # Bounded wait for this second's commit (a stuck writer fails the run, never hangs it).
            deadline = time.monotonic() + 120
            while writer.stats()["written"] < expected:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"history writer did not commit a second in 120 s: {writer.stats()}")
                time.sleep(0.0005)
            if not (steady and second == 0):
                wall += time.perf_counter() - began
                cpu += time.process_time() - cpu_began
    finally:
        writer.stop(timeout=300)
    stats = writer.stats()
    if stats["written"] != expected or stats["dropped"] or stats["rejected"]:
        raise RuntimeError(f"historian benchmark lost data: {stats}")
    return wall, cpu, int(stats["commits"]) - commits_before


def bare(path: Path, names: list[str], count: int, steady: bool = False) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, commits): raw executemany of the same rows into the same schema.

    ``steady``: the first simulated second is committed but not timed, as on our side.
    """
    ensure_schema(path)
    db = open_for_writing(path)  # WAL (set by the schema) and synchronous=NORMAL, autocommit off
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    ids = {name: i for i, name in enumerate(names, 1)}
    db.execute("BEGIN")
    db.executemany("INSERT INTO tags (id, name) VALUES (?, ?)", [(i, n) for n, i in ids.items()])
    db.execute("COMMIT")
    wall = cpu = 0.0
    seq = 0
    commits = 0
    for second, batch in enumerate(seconds(names, count)):
        began, cpu_began = time.perf_counter(), time.process_time()
        # The least conversion that yields the same rows: integer microseconds, the quality's int, the seq.
        rows = [
            (ids[t], round(s.ts * 1e6), s.value, int(s.quality), s.reason.value, seq + n)
            for n, (t, s) in enumerate(batch, 1)
        ]
        seq += len(rows)
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO samples (tag_id, ts, value, quality, reason, seq) VALUES (?, ?, ?, ?, ?, ?)", rows
        )
        db.execute("COMMIT")
        commits += 1
        if not (steady and second == 0):
            wall += time.perf_counter() - began
            cpu += time.process_time() - cpu_began
    stored = db.execute("SELECT count(*) FROM samples").fetchone()[0]
    db.close()
    if stored != seq:
        raise RuntimeError(f"bare side stored {stored} of {seq} rows")
    return wall, cpu, commits
