"""Rollup rows written once, as their bucket closes: open buckets from raw rows, restarts, v3 files."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_historian_rollups import T0, assert_rollups_match, batches

from hmi.historian import HistoryReader, HistoryWriter, ensure_schema, ingest, marks, rollup, upkeep
from hmi.historian.schema import HISTORY_COMPONENT, open_for_writing
from hmi.model import Sample
from hmi.store.migrations import Component, MigrationRegistry


def plant_seconds(conn: sqlite3.Connection, tags: int, seconds: range, buckets=None):
    """Each tag once per second, one commit per second, as the writer commits them; returns the state."""
    tag_ids = {f"T{i}": i + 1 for i in range(tags)}
    conn.executemany(
        "INSERT OR IGNORE INTO tags (id, name) VALUES (?, ?)", [(i, n) for n, i in tag_ids.items()]
    )
    newest: dict[int, int] = {}
    seq = 1 + (conn.execute("SELECT count(*) FROM samples").fetchone()[0])
    for second in seconds:
        batch = [
            (name, Sample.good(float((second * 7 + i) % 23), T0 + second + i / 1e4))
            for i, name in enumerate(tag_ids)
        ]
        conn.execute("BEGIN IMMEDIATE")
        written, buckets = ingest.insert(conn, ingest.to_columns(batch, tag_ids), newest, seq, buckets)
        conn.execute("COMMIT")
        newest.update(written)
        seq += len(batch)
    return buckets


def test_a_plant_writes_each_rollup_row_once_when_its_bucket_closes(tmp_path):
    path = tmp_path / "h.db"
    ensure_schema(path)
    conn = open_for_writing(path)
    try:
        before = conn.total_changes
        plant_seconds(conn, tags=50, seconds=range(125))
        changes = conn.total_changes - before
        raw = 50 * 125
        boxes = conn.execute("SELECT count(*) FROM history_commits").fetchone()[0]
        closed = sum(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in rollup.LEVELS.values())
        # 10 s buckets up to 120 s closed (12 per tag), 1 min buckets up to 60 s (1 per tag), no hour yet.
        assert closed == 50 * (11 + 1)
        mark_updates = 3 * 125  # at most one row per level per commit
        assert changes <= raw + boxes + closed + mark_updates
        assert closed / raw < 0.12
        assert marks.read(conn)[rollup.TEN_SECONDS] == int((T0 + 110) * 1e6)
        assert_rollups_match(conn)
    finally:
        conn.close()


def test_a_restart_mid_bucket_counts_the_open_buckets_from_the_file(tmp_path):
    path = tmp_path / "h.db"
    ensure_schema(path)
    conn = open_for_writing(path)
    try:
        plant_seconds(conn, tags=5, seconds=range(0, 37))
        plant_seconds(conn, tags=5, seconds=range(37, 200))  # a new process: nothing in memory
        assert_rollups_match(conn)
    finally:
        conn.close()


def test_the_writer_thread_across_a_restart_and_queries_over_open_buckets(tmp_path):
    path = tmp_path / "h.db"
    for part in (range(0, 95), range(95, 190)):
        writer = HistoryWriter(path, commit_interval=0.02)
        writer.start()
        writer.extend(("T", Sample.good(float(i % 11), T0 + i)) for i in part)
        writer.stop()
    with sqlite3.connect(path) as conn:
        assert_rollups_match(conn)
        assert marks.read(conn)[rollup.MINUTE] < int((T0 + 189) * 1e6)  # the newest minute is open
    found = HistoryReader(path).aggregate("T", T0, T0 + 189)
    assert found["count"] == 190 and found["min"] == 0.0 and found["max"] == 10.0
    assert found["first"] == 0.0 and found["last"] == float(189 % 11)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(all_batches=batches, restarts=st.lists(st.booleans(), min_size=6, max_size=6))
def test_rollups_stay_exact_whatever_the_restarts(all_batches, restarts):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "h.db"
        ensure_schema(path)
        conn = open_for_writing(path)
        try:
            tag_ids: dict[str, int] = {}
            newest: dict[int, int] = {}
            buckets = None
            seq = 1
            for batch, restart in zip(all_batches, restarts, strict=False):
                for tag, _ in batch:
                    tag_ids.setdefault(tag, len(tag_ids) + 1)
                if restart:
                    buckets, newest = None, {}
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(
                    "INSERT OR IGNORE INTO tags (id, name) VALUES (?, ?)",
                    [(i, n) for n, i in tag_ids.items()],
                )
                written, buckets = ingest.insert(
                    conn, ingest.to_columns(batch, tag_ids), newest, seq, buckets
                )
                conn.execute("COMMIT")
                newest.update(written)
                seq += len(batch)
            assert_rollups_match(conn)
        finally:
            conn.close()


def test_a_version_3_file_keeps_its_rollups_and_reopens_its_newest_buckets(tmp_path):
    path = tmp_path / "v3.db"
    version_3 = Component("history", HISTORY_COMPONENT.migrations[:3], HISTORY_COMPONENT.keeper)
    assert MigrationRegistry([version_3]).ensure(path)["history"] == 0
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO tags VALUES (?, ?)", [(1, "A"), (2, "B")])
    conn.executemany(
        "INSERT INTO samples (tag_id, ts, value, quality, reason, seq) VALUES (?, ?, ?, ?, '', ?)",
        [(1 + i % 2, int((T0 + i * 3.1) * 1e6), float(i % 17), 2, i + 1) for i in range(5_000)],
    )
    upkeep.backfill(conn, rollup.VIEWS)  # as a version 3 writer left them: every bucket written
    conn.execute("COMMIT")
    conn.close()

    assert ensure_schema(path) == 3
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("4",)
        newest = int((T0 + 4_999 * 3.1) * 1e6)
        for width, table in rollup.LEVELS.items():
            top = conn.execute(f"SELECT max(bucket) FROM {table}").fetchone()[0]
            assert top < newest // width * width  # the newest bucket is open again
        assert_rollups_match(conn)
    writer = HistoryWriter(path, commit_interval=0.02)
    writer.start()
    writer.extend(("A", Sample.good(float(i), T0 + 5_000 * 3.1 + i)) for i in range(100))
    writer.stop()
    with sqlite3.connect(path) as conn:
        assert_rollups_match(conn)
    assert HistoryReader(path).aggregate("A", T0, T0 + 1e6)["count"] == 2_600
