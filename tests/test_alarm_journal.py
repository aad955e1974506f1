"""The alarm journal on the store's shared writer: order, restart, a full disk, and the old table."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from waiting import wait_until

from hmi.alarms.engine import AlarmEvent, AlarmState, EventKind
from hmi.alarms.journal import JOURNAL_STREAM, AlarmJournal
from hmi.historian.writer import HistoryWriter
from hmi.model import Quality, Sample
from hmi.store import Store

T0 = 1_700_000_000.0


def event(i: int, ts: float | None = None, message: str = "") -> AlarmEvent:
    return AlarmEvent(
        ts=T0 + i if ts is None else ts,
        alarm=f"A{i % 3}",
        kind=EventKind.RAISED,
        state=AlarmState.UNACKED,
        priority="high",
        value=float(i),
        message=message or f"event {i}",
    )


def open_store(path: Path, **options: object) -> tuple[Store, AlarmJournal]:
    store = Store(path, 0.05, **options)  # type: ignore[arg-type]
    journal = AlarmJournal(store.writer)
    store.open()
    return store, journal


def test_events_come_back_in_seq_order_whatever_their_timestamps(tmp_path):
    store, journal = open_store(tmp_path / "history.db")
    try:
        # Arrival order is the journal's order, even when a source's clock runs backwards.
        for i in range(50):
            journal.on_event(event(i, ts=T0 + (50 - i)), None)  # type: ignore[arg-type]
        wait_until(lambda: journal.stats().written == 50)
        rows = store.read_since(JOURNAL_STREAM, 0, 1000)
    finally:
        store.close()
    assert [r["seq"] for r in rows] == list(range(1, 51))
    assert [r["message"] for r in rows] == [f"event {i}" for i in range(50)]
    assert rows[0]["ts"] == round((T0 + 50) * 1e6) and rows[0]["kind"] == "raised"
    assert journal.stats().last_seq == 50


def test_read_since_pages_through_the_journal(tmp_path):
    store, journal = open_store(tmp_path / "history.db")
    try:
        for i in range(25):
            journal.on_event(event(i), None)  # type: ignore[arg-type]
        wait_until(lambda: journal.stats().written == 25)
        seen: list[int] = []
        cursor = 0
        for _ in range(10):  # bounded: 3 pages are enough
            page = store.read_since(JOURNAL_STREAM, cursor, 10)
            if not page:
                break
            seen += [r["seq"] for r in page]
            cursor = page[-1]["seq"]
    finally:
        store.close()
    assert seen == list(range(1, 26))


def test_events_survive_a_restart_and_the_seq_continues(tmp_path):
    path = tmp_path / "history.db"
    store, journal = open_store(path)
    for i in range(10):
        journal.on_event(event(i), None)  # type: ignore[arg-type]
    store.close()  # a graceful stop commits what is pending
    assert journal.stats().written == 10 and journal.stats().pending == 0

    store, journal = open_store(path)
    try:
        for i in range(10, 15):
            journal.on_event(event(i), None)  # type: ignore[arg-type]
        wait_until(lambda: journal.stats().written == 5)
        rows = store.read_since(JOURNAL_STREAM, 0, 100)
        assert journal.stats().last_seq == 15
    finally:
        store.close()
    assert [r["seq"] for r in rows] == list(range(1, 16))
    assert [r["message"] for r in rows] == [f"event {i}" for i in range(15)]


def test_a_deleted_event_never_gives_its_seq_back(tmp_path):
    path = tmp_path / "history.db"
    store, journal = open_store(path)
    for i in range(3):
        journal.on_event(event(i), None)  # type: ignore[arg-type]
    store.close()
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM alarm_events WHERE seq = 3")
    store, journal = open_store(path)
    journal.on_event(event(3), None)  # type: ignore[arg-type]
    store.close()
    with sqlite3.connect(path) as conn:
        assert [r[0] for r in conn.execute("SELECT seq FROM alarm_events ORDER BY seq")] == [1, 2, 4]


def test_a_full_disk_keeps_the_events_flags_health_and_writes_them_once_space_returns(tmp_path):
    path = tmp_path / "history.db"
    # History fills the file to its ceiling; the journal shares the writer, so its commits fail too.
    store = Store(path, 0.05, max_file_bytes=400_000)
    history = HistoryWriter(path, writer=store.writer)
    journal = AlarmJournal(store.writer)
    store.open()
    try:
        history.extend(("T", Sample(f"long text {i}" * 20, Quality.GOOD, T0 + i)) for i in range(20_000))
        wait_until(lambda: store.writer.stats().disk_full)
        for i in range(30):
            journal.on_event(event(i, message=f"during full disk {i}"), None)  # type: ignore[arg-type]
        wait_until(lambda: store.writer.stats().failed_attempts >= 3)
        stats = journal.stats()
        assert stats.pending == 30 and stats.written == 0 and stats.dropped == 0
        assert store.writer.stats().failing and "disk full" in store.writer.stats().last_error

        store.writer.max_file_bytes = None  # space returns: the next reconnect has no ceiling
        wait_until(lambda: journal.stats().written == 30, timeout=20)
        assert not store.writer.stats().disk_full and history.stats()["written"] == 20_000
    finally:
        store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        messages = [r[0] for r in conn.execute("SELECT message FROM alarm_events ORDER BY seq")]
    assert messages == [f"during full disk {i}" for i in range(30)]


def test_a_full_journal_queue_refuses_counts_and_raises_its_flag_without_blocking(tmp_path):
    path = tmp_path / "history.db"
    store = Store(path, 60.0)  # a long interval: nothing commits while the queue fills
    journal = AlarmJournal(store.writer, bound=10)
    store.open()
    try:
        accepted = [journal.append(event(i)) for i in range(15)]
        stats = journal.stats()
        assert accepted == [True] * 10 + [False] * 5
        assert stats.refused == 5 and stats.full and stats.pending == 10 and stats.dropped == 0
        assert stats.policy.startswith("refuse newest")
    finally:
        store.close()
    assert journal.stats().written == 10


def test_an_old_alarm_events_table_is_migrated_with_its_events_in_order(tmp_path):
    path = tmp_path / "history.db"
    # The table and index exactly as journals wrote them before the store existed, beside a v2 history.
    from hmi.historian.schema import HISTORY_COMPONENT

    conn = sqlite3.connect(path)
    for migration in HISTORY_COMPONENT.migrations[:2]:
        migration(conn)
    conn.execute("INSERT INTO meta (key, value) VALUES ('schema_version', '2')")
    conn.executescript(
        """
        CREATE TABLE IF NOT EXISTS alarm_events (
            ts INTEGER NOT NULL, alarm TEXT NOT NULL, kind TEXT NOT NULL, state TEXT NOT NULL,
            priority TEXT NOT NULL, value, message TEXT NOT NULL, user TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX IF NOT EXISTS alarm_events_ts ON alarm_events (ts);
        """
    )
    conn.executemany(
        "INSERT INTO alarm_events VALUES (?, ?, 'raised', 'unacked', 'high', ?, ?, '')",
        [(round((T0 + 10 - i) * 1e6), "OLD", float(i), f"old {i}") for i in range(4)],
    )
    conn.commit()
    conn.close()

    store, journal = open_store(path)
    try:
        journal.on_event(event(9, message="new"), None)  # type: ignore[arg-type]
        wait_until(lambda: journal.stats().written == 1)
        rows = store.read_since(JOURNAL_STREAM, 0, 100)
    finally:
        store.close()
    assert [(r["seq"], r["message"]) for r in rows] == [
        (1, "old 0"),
        (2, "old 1"),
        (3, "old 2"),
        (4, "old 3"),
        (5, "new"),
    ]
    with sqlite3.connect(path) as conn:
        assert conn.execute(
            "SELECT version FROM store_components WHERE component = 'alarm_journal'"
        ).fetchone() == (4,)  # migrated through to the current version (4: the per-alarm index)
        indexes = {r[1] for r in conn.execute("PRAGMA index_list(alarm_events)")}
        assert "alarm_events_ts" in indexes
