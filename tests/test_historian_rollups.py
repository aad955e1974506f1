"""Rollups equal the aggregates computed from raw rows: late, out-of-order and replaced samples included."""

from __future__ import annotations

import math
import sqlite3
import tempfile
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlite_utils import Database

from hmi.historian import HistoryReader, HistoryWriter, ensure_schema, ingest, rollup
from hmi.historian.schema import SCHEMA_VERSION, _create_version_1, open_for_writing
from hmi.model import Quality, Reason, Sample

T0 = 1_700_000_000.0 - 1_700_000_000.0 % 3600  # on an hour boundary


def reference(conn: sqlite3.Connection, width: int) -> dict[tuple[int, int], dict[str, object]]:
    """Bucket statistics straight from the raw rows, in plain Python."""
    buckets: dict[tuple[int, int], list[tuple[int, object, int]]] = defaultdict(list)
    for tag_id, ts, value, quality in conn.execute(
        "SELECT tag_id, ts, value, quality FROM samples ORDER BY ts"
    ):
        buckets[(tag_id, ts // width * width)].append((ts, value, quality))
    out = {}
    for key, rows in buckets.items():
        # ints are stored as INTEGER (exact) and are as usable as REAL values; rollups are REAL statistics
        usable = [(ts, float(v)) for ts, v, q in rows if q > 0 and isinstance(v, int | float)]
        gaps = [ts for ts, v, q in rows if not (q > 0 and isinstance(v, int | float))]
        low = min(usable, key=lambda r: (r[1], r[0])) if usable else (None, None)
        high = min(usable, key=lambda r: (-r[1], r[0])) if usable else (None, None)
        out[key] = {
            "count": len(rows),
            "good_count": sum(q == 2 for _, _, q in rows),
            "bad_count": sum(q == 0 for _, _, q in rows),
            "value_count": len(usable),
            "value_sum": sum(v for _, v in usable),
            "min_value": low[1],
            "min_ts": low[0],
            "max_value": high[1],
            "max_ts": high[0],
            "first_value": usable[0][1] if usable else None,
            "first_ts": usable[0][0] if usable else None,
            "last_value": usable[-1][1] if usable else None,
            "last_ts": usable[-1][0] if usable else None,
            "gap_ts": gaps[0] if gaps else None,
        }
    return out


def stored(conn: sqlite3.Connection, width: int) -> dict[tuple[int, int], dict[str, object]]:
    names = [c.strip() for c in rollup.ROLLUP_COLUMNS.split(",")]
    rows = conn.execute(f"SELECT {rollup.ROLLUP_COLUMNS} FROM {rollup.VIEWS[width]}").fetchall()
    return {(r[0], r[1]): dict(zip(names[2:], r[2:], strict=True)) for r in rows}


def assert_rollups_match(conn: sqlite3.Connection) -> None:
    for width in rollup.LEVELS:
        expected, actual = reference(conn, width), stored(conn, width)
        assert actual.keys() == expected.keys()
        for key, stats in expected.items():
            got = actual[key]
            assert got["value_sum"] == pytest.approx(stats["value_sum"], rel=1e-9, abs=1e-9), key
            assert {k: v for k, v in got.items() if k != "value_sum"} == {
                k: v for k, v in stats.items() if k != "value_sum"
            }, key


values = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: round(v, 3)),
    st.sampled_from([0.0, 1.0, -1.0]),  # ties between extremes
    st.none(),
    st.just("text"),
    st.just(math.nan),
    st.integers(-5, 5),
    st.just(2**64 - 1),  # past int64: stored as TEXT, so not usable
)
samples = st.tuples(
    st.sampled_from(["A", "B"]),
    st.integers(0, 3 * 3600 - 1).map(lambda s: T0 + s / 2),  # 90 minutes over two hours, duplicates likely
    values,
    st.sampled_from(list(Quality)),
).map(lambda t: (t[0], Sample(t[2], t[3], t[1], Reason.NONE if t[3] is Quality.GOOD else Reason.STALE)))
batches = st.lists(st.lists(samples, min_size=1, max_size=30), min_size=1, max_size=6)


def write_batches(conn: sqlite3.Connection, all_batches: list[list[tuple[str, Sample]]]) -> None:
    tag_ids: dict[str, int] = {}
    newest: dict[int, int] = {}
    next_seq = 1
    buckets = None
    for batch in all_batches:
        for tag, _ in batch:
            tag_ids.setdefault(tag, len(tag_ids) + 1)
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT OR IGNORE INTO tags (id, name) VALUES (?, ?)", [(i, n) for n, i in tag_ids.items()]
        )
        written, buckets = ingest.insert(conn, ingest.to_columns(batch, tag_ids), newest, next_seq, buckets)
        newest.update(written)
        conn.execute("COMMIT")
        next_seq += len(batch)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(all_batches=batches)
def test_rollups_equal_aggregates_of_the_raw_rows(all_batches):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "h.db"
        ensure_schema(path)
        conn = open_for_writing(path)
        try:
            write_batches(conn, all_batches)
            assert_rollups_match(conn)
        finally:
            conn.close()


def test_rollups_through_the_writer_thread_with_a_replaced_and_a_late_sample(tmp_path):
    writer = HistoryWriter(tmp_path / "h.db", commit_interval=0.02)
    writer.start()
    writer.extend(("T", Sample.good(float(i % 7), T0 + i)) for i in range(600))
    writer.stop()
    late = HistoryWriter(tmp_path / "h.db", commit_interval=0.02)
    late.start()
    late.extend([("T", Sample.good(-50.0, T0 + 5.5)), ("T", Sample.good(99.0, T0 + 7))])  # late; replaces
    late.stop()
    with sqlite3.connect(tmp_path / "h.db") as conn:
        assert_rollups_match(conn)
        assert conn.execute(
            "SELECT min_value, max_value FROM rollup_1m WHERE bucket = ?", (int(T0 * 1e6),)
        ).fetchone() == (-50.0, 99.0)


def test_a_version_1_file_upgrades_and_backfills_its_rollups(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    db = Database(conn)
    _create_version_1(conn)
    db["meta"].insert({"key": "schema_version", "value": "1"})
    conn.executemany("INSERT INTO tags VALUES (?, ?)", [(1, "A"), (2, "B")])
    rows = [
        (
            1 + i % 2,
            int((T0 + i * 7.3) * 1e6),
            None if i % 50 == 0 else float(i % 13),
            2 - (i % 40 == 0) * 2,
            "",
        )
        for i in range(30_000)
    ]  # ~2.5 days
    conn.executemany("INSERT INTO samples VALUES (?, ?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()

    assert ensure_schema(path) == 1
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            str(SCHEMA_VERSION),
        )
        assert_rollups_match(conn)
    assert HistoryReader(path).aggregate("A", T0, T0 + 1e6)["count"] == 15_000
