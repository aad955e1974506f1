"""History ingest: HistoryWriter (append from the runtime, batched commits on its thread) against raw
``sqlite3.executemany`` of the same rows into the same schema, in the same run."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from hmi.historian.schema import ensure_schema, open_for_writing, seconds_to_micros
from hmi.historian.writer import HistoryWriter
from hmi.model import Sample

SAMPLES = 300_000
TAGS = 200
BATCH = 50_000


def _samples() -> list[tuple[str, Sample]]:
    start = time.time() - SAMPLES
    return [(f"TAG{i % TAGS:03d}", Sample.good(float(i % 997), ts=start + i * 0.01)) for i in range(SAMPLES)]


def _ours(path: Path, samples: list[tuple[str, Sample]]) -> float:
    writer = HistoryWriter(path, commit_interval=1.0, max_pending=SAMPLES * 2)
    writer.start()
    began = time.perf_counter()
    for tag, sample in samples:
        writer.append(tag, sample)
    writer.stop(timeout=120)
    elapsed = time.perf_counter() - began
    stats = writer.stats()
    if stats["written"] != SAMPLES or stats["dropped"]:
        raise RuntimeError(f"historian benchmark lost data: {stats}")
    return elapsed


def _bare(path: Path, samples: list[tuple[str, Sample]]) -> float:
    ensure_schema(path)
    db = open_for_writing(path)
    tag_ids = {f"TAG{i:03d}": i + 1 for i in range(TAGS)}
    db.executemany("INSERT INTO tags (id, name) VALUES (?, ?)", [(i, n) for n, i in tag_ids.items()])
    began = time.perf_counter()
    rows = [
        (tag_ids[t], seconds_to_micros(s.ts), s.value, int(s.quality), s.reason.value) for t, s in samples
    ]
    # Same batching as the writer sees at this rate (about one commit per BATCH rows): one giant
    # transaction spills SQLite's page cache and would make the bare side look slow.
    # The connection is in autocommit mode (isolation_level=None): BEGIN/COMMIT explicitly.
    for first in range(0, len(rows), BATCH):
        db.execute("BEGIN")
        db.executemany("INSERT OR REPLACE INTO samples VALUES (?, ?, ?, ?, ?)", rows[first : first + BATCH])
        db.execute("COMMIT")
    elapsed = time.perf_counter() - began
    db.close()
    return elapsed


def run() -> dict[str, float | int | str]:
    """Ingest the same samples both ways; report samples/s and our share of the bare speed."""
    samples = _samples()
    with tempfile.TemporaryDirectory() as folder:
        bare = _bare(Path(folder) / "bare.db", samples)
        ours = _ours(Path(folder) / "ours.db", samples)
    return {
        "samples": SAMPLES,
        "ours_samples_per_s": round(SAMPLES / ours),
        "bare_executemany_samples_per_s": round(SAMPLES / bare),
        "ratio": round(bare / ours, 3),
        "note": "ours includes Sample-to-row conversion and the hand-off from the appending thread",
    }
