"""The shared writer and the migration registry: backoff, stream rules, per-component versions."""

from __future__ import annotations

import sqlite3

import pytest
from waiting import wait_until

from hmi.alarms.engine import AlarmEvent, AlarmState, EventKind
from hmi.alarms.journal import JOURNAL_COMPONENT, AlarmJournal
from hmi.historian.schema import HISTORY_COMPONENT
from hmi.historian.writer import HistoryWriter
from hmi.store import Component, MigrationRegistry, SchemaError, Store, StoreWriter

T0 = 1_700_000_000.0


def big_event(i: int) -> AlarmEvent:
    return AlarmEvent(T0 + i, "A", EventKind.RAISED, AlarmState.UNACKED, "high", 1.0, "x" * 5_000 + str(i))


def test_retries_back_off_up_to_the_cap_and_recover(tmp_path):
    store = Store(tmp_path / "history.db", 0.02, max_file_bytes=200_000)
    journal = AlarmJournal(store.writer)
    store.open()
    try:
        for i in range(200):  # ~1 MB of events into a 200 kB ceiling
            journal.append(big_event(i))
        wait_until(lambda: store.writer.stats().failed_attempts >= 5)
        stats = store.writer.stats()
        assert stats.failing and stats.disk_full and stats.running
        assert 0.02 < stats.retry_in_s <= store.writer.max_backoff == 1.0
        assert journal.stats().pending == 200 and journal.stats().dropped == 0
        store.writer.max_file_bytes = None
        wait_until(lambda: journal.stats().written == 200, timeout=20)
        assert store.writer.stats().retry_in_s == 0.0 and not store.writer.stats().failing
    finally:
        store.close()


def test_streams_join_before_the_start_under_names_of_their_own(tmp_path):
    writer = StoreWriter(tmp_path / "history.db", 0.05)
    AlarmJournal(writer)
    with pytest.raises(ValueError, match="'alarms' writes to"):
        AlarmJournal(writer)
    writer.start()
    try:
        with pytest.raises(RuntimeError, match="before the writer starts"):
            HistoryWriter(tmp_path / "history.db", writer=writer)
    finally:
        writer.stop()


def test_every_component_has_its_version_recorded_in_one_place(tmp_path):
    path = tmp_path / "history.db"
    registry = MigrationRegistry([HISTORY_COMPONENT, JOURNAL_COMPONENT])
    assert registry.ensure(path) == {"store": 0, "history": 0, "alarm_journal": 0}
    assert registry.ensure(path) == {"store": 1, "history": 4, "alarm_journal": 4}
    with sqlite3.connect(path) as conn:
        assert dict(conn.execute("SELECT component, version FROM store_components")) == {
            "store": 1,
            "alarm_journal": 4,
        }
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("4",)


def test_a_component_from_a_newer_version_is_refused_and_nothing_changes(tmp_path):
    path = tmp_path / "history.db"
    MigrationRegistry([HISTORY_COMPONENT]).ensure(path)
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO store_components VALUES ('alarm_journal', 7)")
    with pytest.raises(SchemaError, match="alarm_journal schema version 7; this version reads up to 4"):
        MigrationRegistry([HISTORY_COMPONENT, JOURNAL_COMPONENT]).ensure(path)
    with sqlite3.connect(path) as conn:
        assert "alarm_events" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_schema")}


def test_a_new_component_migrates_beside_the_others_in_the_same_file(tmp_path):
    path = tmp_path / "history.db"
    MigrationRegistry([HISTORY_COMPONENT]).ensure(path)
    audit = Component("audit", (lambda conn: conn.execute("CREATE TABLE audit (seq INTEGER PRIMARY KEY)"),))
    registry = MigrationRegistry([HISTORY_COMPONENT, audit])
    assert registry.ensure(path)["audit"] == 0
    with pytest.raises(ValueError, match="registered already"):
        registry.register(audit)
