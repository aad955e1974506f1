"""A stale flag never rewrites a stored sample: it is stored when detected, and takes no rebuild path."""

from __future__ import annotations

import sqlite3
import time

import numpy as np
import pytest
from test_historian_rollups import assert_rollups_match

from hmi.historian import HistoryReader, HistoryWriter, closing, flags
from hmi.model import Quality, Reason, Sample

T0 = 1_700_000_000.0


@pytest.fixture
def rebuilds(monkeypatch):
    """The tags sent down the late-sample path (rollups rebuilt or recounted), while still taking it."""
    calls: list[int] = []
    real = closing.settle_late

    def counting(conn, state, tag_id, ts):
        calls.extend(tag_id.tolist())
        return real(conn, state, tag_id, ts)

    monkeypatch.setattr(closing, "settle_late", counting)
    return calls


def rows(path, tag):
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT ts, value, quality, reason FROM samples JOIN tags ON tags.id = tag_id"
            " WHERE name = ? ORDER BY ts",
            (tag,),
        ).fetchall()


def test_a_stale_flag_of_a_committed_sample_is_a_new_row_at_detection_time(tmp_path, rebuilds):
    path = tmp_path / "h.db"
    writer = HistoryWriter(path, commit_interval=0.02)
    writer.start()
    good = {f"T{i}": Sample.good(float(i), T0 + i / 100) for i in range(50)}
    writer.extend(good.items())
    deadline = time.monotonic() + 30
    while writer.stats()["written"] < 50:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    before = time.time()
    writer.extend((tag, s.with_quality(Quality.UNCERTAIN, Reason.STALE)) for tag, s in good.items())
    writer.stop()
    after = time.time()

    assert writer.stats()["stale_flags"] == 50 and writer.stats()["written"] == 100
    assert rebuilds == []  # appended like fresh samples
    first, flag = rows(path, "T7")
    assert first == (int((T0 + 0.07) * 1e6), 7.0, 2, "")  # the good row is untouched
    assert flag[1:] == (7.0, 1, "stale")
    assert before * 1e6 - 1 <= flag[0] <= after * 1e6 + 1  # when the writer took it
    with sqlite3.connect(path) as conn:
        assert_rollups_match(conn)
    series = HistoryReader(path).range("T7", T0, after + 1)
    assert [s.quality for s in series] == [Quality.GOOD, Quality.UNCERTAIN]


def test_a_flag_in_the_same_batch_as_its_sample_and_a_recovery_lands_between_them(tmp_path, rebuilds):
    path = tmp_path / "h.db"
    writer = HistoryWriter(path, commit_interval=0.02)
    writer.start()
    now = time.time()
    old = Sample.good(1.0, now - 10)
    recovered = Sample.good(2.0, now - 5)  # the next read, stamped before the writer takes the batch
    writer.extend([("A", old), ("A", old.with_quality(Quality.UNCERTAIN, Reason.STALE)), ("A", recovered)])
    writer.stop()
    stored = rows(path, "A")
    assert [r[2:] for r in stored] == [(2, ""), (1, "stale"), (2, "")]
    assert stored[0][0] < stored[1][0] < stored[2][0] == round(recovered.ts * 1e6)
    assert stored[1][0] == stored[2][0] - 1  # as close to detection as the next sample allows
    assert rebuilds == []
    with sqlite3.connect(path) as conn:
        assert_rollups_match(conn)


def test_a_drivers_late_uncertain_sample_keeps_its_timestamp(tmp_path, rebuilds):
    path = tmp_path / "h.db"
    writer = HistoryWriter(path, commit_interval=0.02)
    writer.start()
    writer.extend([("A", Sample.good(1.0, T0 + 10))])
    writer.stop()
    writer = HistoryWriter(path, commit_interval=0.02)
    writer.start()
    # Not the runtime's flag (another reason): a late sample from the source, stored where it belongs.
    writer.extend([("A", Sample(5.0, Quality.UNCERTAIN, T0 + 5, Reason.LAST_USABLE))])
    writer.stop()
    assert [r[0] for r in rows(path, "A")] == [int((T0 + 5) * 1e6), int((T0 + 10) * 1e6)]
    assert writer.stats()["stale_flags"] == 0 and rebuilds  # the late path, as before


def test_restamp_keeps_a_flag_with_no_room_before_the_next_sample():
    tag = np.array([1, 1, 1], np.int64)
    ts = np.array([100, 100, 101], np.int64)
    found = np.array([False, True, False])
    newest = np.full(3, np.iinfo(np.int64).min, np.int64)
    assert flags.restamp(tag, ts, found, newest, detected=10_000) == 0
    assert ts.tolist() == [100, 100, 101]  # left to the late-sample path, which stores it correctly


def test_ten_thousand_stale_flags_take_no_rebuild(tmp_path, rebuilds):
    path = tmp_path / "h.db"
    writer = HistoryWriter(path, commit_interval=0.05)
    writer.start()
    good = [(f"T{i}", Sample.good(float(i), T0 + i / 1e4)) for i in range(10_000)]
    writer.extend(good)
    deadline = time.monotonic() + 60
    while writer.stats()["written"] < 10_000:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    writer.extend((tag, s.with_quality(Quality.UNCERTAIN, Reason.STALE)) for tag, s in good)
    writer.stop()
    assert writer.stats()["written"] == 20_000 and writer.stats()["stale_flags"] == 10_000
    assert rebuilds == []
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM samples WHERE quality = 2").fetchone() == (10_000,)
        assert conn.execute("SELECT sum(count) FROM rollup_1h").fetchone() == (20_000,)
