"""The history's append-only sequence: read_since follows commits, late samples with old timestamps too."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from waiting import wait_until

from hmi.alarms.journal import AlarmJournal
from hmi.historian import SCHEMA_VERSION, HistoryReader, ensure_schema
from hmi.historian.schema import HISTORY_COMPONENT
from hmi.historian.sequence import BOX_SPAN
from hmi.historian.writer import HistoryWriter
from hmi.model import Quality, Sample
from hmi.store import Store

T0 = 1_700_000_000.0


def history_store(path: Path) -> tuple[Store, HistoryWriter]:
    store = Store(path, 0.05)
    history = HistoryWriter(path, writer=store.writer)
    store.open()
    return store, history


def follow(store: Store, stream: str, page: int) -> list[dict]:
    """What a sync cursor does: ask from the last seq it saw until nothing is left (bounded)."""
    seen: list[dict] = []
    cursor = 0
    for _ in range(10_000):
        rows = store.read_since(stream, cursor, page)
        if not rows:
            return seen
        seen += rows
        cursor = rows[-1]["seq"]
    raise AssertionError("the cursor never reached the end")


def test_a_cursor_sees_every_sample_once_including_late_ones_with_old_timestamps(tmp_path):
    store, history = history_store(tmp_path / "history.db")
    try:
        history.extend((f"T{i % 3}", Sample.good(float(i), T0 + 100 + i)) for i in range(300))
        wait_until(lambda: history.stats()["written"] == 300)
        cursor = store.read_since("history", 0, 1_000)[-1]["seq"]
        # Late: three days older than anything stored, on one tag, beside fresh ones on the others.
        history.extend([("T1", Sample.good(-1.0, T0 - 3 * 86_400)), ("T2", Sample.good(-2.0, T0 + 900))])
        history.extend([("NEW", Sample(7.0, Quality.UNCERTAIN, T0 + 901))])
        wait_until(lambda: history.stats()["written"] == 303)
        after = store.read_since("history", cursor, 1_000)
        everything = follow(store, "history", 7)
    finally:
        store.close()
    assert sorted((r["tag"], r["value"]) for r in after) == [("NEW", 7.0), ("T1", -1.0), ("T2", -2.0)]
    assert all(r["seq"] > cursor for r in after)
    seqs = [r["seq"] for r in everything]
    assert seqs == sorted(seqs) and len(set(seqs)) == 303
    assert {r["quality"] for r in everything} == {2, 1}


def test_a_replaced_sample_comes_again_with_its_new_value_and_a_new_seq(tmp_path):
    store, history = history_store(tmp_path / "history.db")
    try:
        history.extend([("T", Sample.good(1.0, T0)), ("T", Sample.good(2.0, T0 + 1))])
        wait_until(lambda: history.stats()["written"] == 2)
        cursor = history.stats()["last_seq"]
        history.append("T", Sample.good(5.0, T0))  # the same timestamp: replaces the first
        wait_until(lambda: history.stats()["written"] == 3)
        after = store.read_since("history", cursor, 10)
        everything = follow(store, "history", 10)
    finally:
        store.close()
    assert [(r["value"], r["ts"]) for r in after] == [(5.0, round(T0 * 1e6))]
    assert [r["value"] for r in everything] == [2.0, 5.0]


def test_the_history_seq_continues_after_a_restart_and_survives_retention_of_old_rows(tmp_path):
    path = tmp_path / "history.db"
    store, history = history_store(path)
    history.extend(("T", Sample.good(float(i), T0 + i)) for i in range(10))
    store.close()
    store, history = history_store(path)
    try:
        history.extend(("T", Sample.good(float(i), T0 + i)) for i in range(10, 15))
        wait_until(lambda: history.stats()["written"] == 5)
        assert history.stats()["last_seq"] == 15
        assert [r["seq"] for r in follow(store, "history", 4)] == list(range(1, 16))
    finally:
        store.close()


def test_wide_commits_are_split_into_boxes_that_never_mix_tags_across_time(tmp_path):
    path = tmp_path / "history.db"
    store, history = history_store(path)
    try:
        wide = [(f"T{t}", Sample.good(float(t), T0 + t * 3 * BOX_SPAN / 1e6)) for t in range(4)]
        history.extend([*wide, ("T0", Sample.good(9.0, T0 + 1))])
        wait_until(lambda: history.stats()["written"] == 5)
        rows = follow(store, "history", 2)
    finally:
        store.close()
    with sqlite3.connect(path) as conn:
        boxes = conn.execute("SELECT tag_lo, tag_hi, ts_hi - ts_lo FROM history_commits").fetchall()
    assert len(boxes) == 4 and all(lo == hi for lo, hi, _ in boxes)
    assert [r["tag"] for r in rows] == ["T0", "T0", "T1", "T2", "T3"]


def test_a_version_2_file_is_numbered_once_and_read_since_returns_its_old_rows(tmp_path):
    path = tmp_path / "history.db"
    conn = sqlite3.connect(path)
    for migration in HISTORY_COMPONENT.migrations[:2]:
        migration(conn)
    conn.execute("INSERT INTO meta (key, value) VALUES ('schema_version', '2')")
    conn.executemany("INSERT INTO tags VALUES (?, ?)", [(1, "A"), (2, "B")])
    conn.executemany(
        "INSERT INTO samples VALUES (?, ?, ?, 2, '')",
        [(1 + i % 2, round((T0 + i) * 1e6), float(i)) for i in range(100)],
    )
    conn.commit()
    conn.close()

    assert ensure_schema(path) == 2
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            str(SCHEMA_VERSION),
        )
        assert conn.execute("SELECT count(*) FROM samples WHERE seq IS NULL").fetchone() == (0,)
    assert HistoryReader(path).count("A") == 50  # the old rows read as before
    store, history = history_store(path)
    try:
        history.append("A", Sample.good(-1.0, T0 - 10))
        wait_until(lambda: history.stats()["written"] == 1)
        rows = follow(store, "history", 30)
    finally:
        store.close()
    assert [r["seq"] for r in rows] == list(range(1, 102))
    assert [r["tag"] for r in rows[:50]] == ["A"] * 50 and rows[-1]["value"] == -1.0


def test_one_transaction_per_commit_covers_every_stream(tmp_path):
    path = tmp_path / "history.db"
    store = Store(path, 60.0)  # nothing commits on its own within the test
    history = HistoryWriter(path, writer=store.writer)
    journal = AlarmJournal(store.writer)
    store.open()
    from hmi.alarms.engine import AlarmEvent, AlarmState, EventKind

    history.extend(("T", Sample.good(float(i), T0 + i)) for i in range(100))
    journal.append(AlarmEvent(T0, "A", EventKind.RAISED, AlarmState.UNACKED, "high", 1.0, "raised"))
    store.close()  # the final commit
    assert store.writer.stats().commits == 1
    assert history.stats()["written"] == 100 and journal.stats().written == 1


def test_read_since_names_the_streams_a_store_has(tmp_path):
    store, _ = history_store(tmp_path / "history.db")
    try:
        with pytest.raises(KeyError, match=r"no stream 'audit'.*history"):
            store.read_since("audit", 0, 10)
    finally:
        store.close()


def test_retention_forgets_the_boxes_of_purged_rows_but_never_a_number(tmp_path):
    path = tmp_path / "history.db"
    store = Store(path, 0.05)
    history = HistoryWriter(path, writer=store.writer, retention=86_400.0, retention_every=0.0)
    store.open()
    try:
        old = time.time() - 3 * 86_400
        for day in range(3):  # three commits of old rows, then fresh ones
            history.extend(("T", Sample.good(float(i), old + day * 3_600 + i)) for i in range(10))
            wait_until(lambda day=day: history.stats()["written"] == 10 * (day + 1))
        history.extend(("T", Sample.good(float(i), time.time() - 60 + i)) for i in range(5))
        wait_until(lambda: history.stats()["purged"] == 30 and history.stats()["written"] == 35)
        with sqlite3.connect(path) as conn:
            wait_until(lambda: conn.execute("SELECT count(*) FROM history_commits").fetchone() == (1,))
        rows = follow(store, "history", 100)
    finally:
        store.close()
    assert [r["seq"] for r in rows] == list(range(31, 36))
