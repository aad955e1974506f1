"""The SQLite historian: schema, batching writer, thread-safe reader, CSV export, time parsing."""

from __future__ import annotations

import asyncio
import io
import math
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hmi.historian import (
    SCHEMA_VERSION,
    HistoryReader,
    HistoryRow,
    HistoryWriter,
    SchemaError,
    ensure_schema,
    export_csv,
    format_timestamp,
    parse_time,
)
from hmi.historian.schema import storable_value
from hmi.model import Quality, Reason, Sample

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "history.db"


@pytest.fixture
def make_writer(db_path: Path) -> Iterator[Callable[..., HistoryWriter]]:
    """Writers built here are stopped after the test, whatever it asserted."""
    made: list[HistoryWriter] = []

    def make(**options: object) -> HistoryWriter:
        options.setdefault("commit_interval", 0.05)
        writer = HistoryWriter(db_path, **options)  # type: ignore[arg-type]
        made.append(writer)
        return writer

    yield make
    for writer in made:
        writer.stop()


def write_all(make_writer: Callable[..., HistoryWriter], samples: list[tuple[str, Sample]]) -> HistoryWriter:
    writer = make_writer()
    writer.start()
    writer.extend(samples)
    writer.stop()
    return writer


# -- writer ---------------------------------------------------------------------------


def test_round_trip_keeps_values_qualities_and_reasons(make_writer, db_path):
    write_all(
        make_writer,
        [
            ("TANK1.LEVEL", Sample(42.25, Quality.GOOD, T0)),
            ("TANK1.LEVEL", Sample(None, Quality.BAD, T0 + 1, Reason.COMM_FAILURE)),
            ("TANK1.LEVEL", Sample(41.5, Quality.UNCERTAIN, T0 + 2.000001, Reason.STALE)),
            ("PUMP1.RUN", Sample(True, Quality.GOOD, T0)),
            ("PUMP1.RUN", Sample(False, Quality.GOOD, T0 + 1)),
            ("PUMP1.SPEED", Sample(1200, Quality.GOOD, T0)),
            ("PUMP1.STATE", Sample("running", Quality.GOOD, T0)),
        ],
    )
    reader = HistoryReader(db_path)

    assert reader.tag_names() == ["PUMP1.RUN", "PUMP1.SPEED", "PUMP1.STATE", "TANK1.LEVEL"]
    assert reader.range("TANK1.LEVEL", T0, T0 + 10) == [
        HistoryRow(T0, 42.25, Quality.GOOD, ""),
        HistoryRow(T0 + 1, None, Quality.BAD, "comm failure"),
        HistoryRow(T0 + 2.000001, 41.5, Quality.UNCERTAIN, "stale"),
    ]
    assert [row.value for row in reader.range("PUMP1.RUN", T0, T0 + 10)] == [1.0, 0.0]
    assert reader.last("PUMP1.SPEED") == HistoryRow(T0, 1200.0, Quality.GOOD, "")
    assert reader.last("PUMP1.STATE").value == "running"
    assert isinstance(reader.range("TANK1.LEVEL", T0, T0)[0].quality, Quality)


def test_same_tag_and_timestamp_keeps_the_later_sample(make_writer, db_path):
    write_all(make_writer, [("T", Sample.good(1.0, T0)), ("T", Sample.good(2.0, T0))])
    assert HistoryReader(db_path).range("T", T0, T0) == [HistoryRow(T0, 2.0, Quality.GOOD, "")]


def test_many_appends_go_out_in_few_commits(make_writer, db_path):
    writer = make_writer(commit_interval=0.2)
    writer.start()
    for i in range(20_000):
        writer.append(f"T{i % 10}", Sample.good(float(i), T0 + i / 1000))
    writer.stop()
    stats = writer.stats()
    assert stats["written"] == 20_000
    assert 1 <= stats["commits"] <= 5
    assert stats["pending"] == 0
    assert stats["dropped"] == 0
    assert HistoryReader(db_path).count() == 20_000


def test_stop_commits_everything_pending(make_writer, db_path):
    writer = make_writer(commit_interval=3600)  # only stop() can commit
    writer.start()
    writer.extend((f"T{i % 3}", Sample.good(i, T0 + i)) for i in range(1000))
    writer.stop()
    assert writer.stats()["running"] is False
    assert writer.stats()["commits"] == 1
    assert HistoryReader(db_path).count() == 1000


def test_reader_on_another_thread_reads_while_the_writer_writes(make_writer, db_path):
    writer = make_writer(commit_interval=0.01)
    writer.start()
    reader = HistoryReader(db_path)
    seen_counts: list[int] = []
    problems: list[str] = []
    done = threading.Event()

    def read_repeatedly() -> None:
        try:
            while not done.is_set():
                seen_counts.append(reader.count("T"))
                stamps = [row.ts for row in reader.range("T", T0, T0 + 1e6)]
                if stamps != sorted(stamps):
                    problems.append("rows out of time order")
        except Exception as error:
            problems.append(repr(error))

    reading = threading.Thread(target=read_repeatedly, name="hmi-test-reader")
    reading.start()
    try:
        for burst in range(20):
            writer.extend(("T", Sample.good(float(i), T0 + burst * 500 + i)) for i in range(500))
            time.sleep(0.01)
        writer.stop()
    finally:
        done.set()
        reading.join()
    assert not problems
    assert seen_counts == sorted(seen_counts), "a reader saw the count go backwards"
    assert len(set(seen_counts)) > 2, "the reader never saw the writer's progress"
    assert reader.count("T") == 10_000


def test_overflow_drops_the_oldest_and_counts_them(make_writer, db_path):
    writer = make_writer(max_pending=100)
    for i in range(250):  # not started yet: nothing leaves the queue
        writer.append("T", Sample.good(float(i), T0 + i))
    assert writer.stats()["dropped"] == 150
    assert writer.stats()["pending"] == 100
    writer.start()
    writer.stop()
    rows = HistoryReader(db_path).range("T", T0, T0 + 1000)
    assert [row.value for row in rows] == [float(i) for i in range(150, 250)]


def test_extend_past_the_bound_counts_what_it_drops(make_writer):
    writer = make_writer(max_pending=10)
    writer.extend(("T", Sample.good(i, T0 + i)) for i in range(25))
    assert writer.stats()["dropped"] == 15
    assert writer.stats()["pending"] == 10


def test_samples_after_stop_or_without_start_are_counted_as_dropped(make_writer):
    never_started = make_writer()
    never_started.append("T", Sample.good(1.0, T0))
    never_started.stop()
    assert never_started.stats()["dropped"] == 1

    stopped = make_writer()
    stopped.start()
    stopped.stop()
    stopped.append("T", Sample.good(1.0, T0))
    assert stopped.stats()["dropped"] == 1
    assert stopped.stats()["pending"] == 0


def test_an_unstorable_timestamp_is_rejected_without_losing_its_batch(make_writer, db_path):
    writer = write_all(
        make_writer,
        [
            ("T", Sample.good(1.0, T0)),
            ("T", Sample.good(2.0, math.nan)),
            ("T", Sample.good(3.0, 1e300)),
            ("T", Sample.good(4.0, T0 + 1)),
        ],
    )
    assert writer.stats()["rejected"] == 2
    assert writer.stats()["written"] == 2
    assert [row.value for row in HistoryReader(db_path).range("T", T0, T0 + 1)] == [1.0, 4.0]


def test_reopening_the_file_keeps_tag_ids(make_writer, db_path):
    write_all(make_writer, [("A", Sample.good(1, T0)), ("B", Sample.good(2, T0))])
    with sqlite3.connect(db_path) as conn:
        first_ids = dict(conn.execute("SELECT name, id FROM tags"))
    write_all(make_writer, [("C", Sample.good(3, T0)), ("A", Sample.good(4, T0 + 1))])
    with sqlite3.connect(db_path) as conn:
        ids = dict(conn.execute("SELECT name, id FROM tags"))
    assert {name: ids[name] for name in first_ids} == first_ids
    assert ids["C"] not in first_ids.values()
    assert HistoryReader(db_path).count("A") == 2


def test_a_locked_database_is_reported_retried_and_appends_never_wait(make_writer, db_path):
    writer = make_writer(busy_timeout=0.5)
    writer.start()
    holder = sqlite3.connect(db_path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process holding the write lock
        writer.append("T", Sample.good(1.0, T0))
        wait_until(lambda: writer.stats()["failing"])
        began = time.perf_counter()
        for i in range(1000):  # the writer thread sits in SQLite's busy wait meanwhile
            writer.append("T", Sample.good(float(i), T0 + 1 + i))
        assert time.perf_counter() - began < 0.25
        stats = writer.stats()
        assert "locked" in stats["last_error"]
        assert stats["running"]
        assert stats["pending"] == 1001
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    wait_until(lambda: writer.stats()["written"] == 1001)
    assert not writer.stats()["failing"]
    assert writer.stats()["dropped"] == 0


def test_a_failing_insert_keeps_the_batch_and_the_thread(make_writer, db_path):
    writer = make_writer()
    writer.start()
    writer.append("T", Sample.good(0.0, T0))
    wait_until(lambda: writer.stats()["written"] == 1)
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON samples"
            " BEGIN SELECT RAISE(ABORT, 'disk full, simulated'); END"
        )
    writer.extend(("T", Sample.good(float(i), T0 + i)) for i in range(1, 50))
    wait_until(lambda: writer.stats()["failed_attempts"] >= 2)
    stats = writer.stats()
    assert "disk full, simulated" in stats["last_error"]
    assert stats["running"] and stats["failing"]
    assert stats["pending"] == 49
    with sqlite3.connect(db_path) as conn:
        conn.execute("DROP TRIGGER refuse")
    wait_until(lambda: writer.stats()["written"] == 50)
    assert writer.stats()["last_error"]  # kept for the record after recovery
    assert HistoryReader(db_path).count("T") == 50


def test_a_failed_batch_waits_within_max_pending(make_writer, db_path):
    writer = make_writer(max_pending=40)
    writer.start()
    with sqlite3.connect(db_path) as conn:
        conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON samples BEGIN SELECT RAISE(ABORT, 'no'); END")
    writer.extend(("T", Sample.good(float(i), T0 + i)) for i in range(30))
    wait_until(lambda: writer.stats()["failed_attempts"] >= 1)
    writer.extend(("T", Sample.good(float(i), T0 + i)) for i in range(30, 60))
    wait_until(lambda: writer.stats()["failed_attempts"] >= 2)
    assert writer.stats()["pending"] == 40
    assert writer.stats()["dropped"] == 20
    with sqlite3.connect(db_path) as conn:
        conn.execute("DROP TRIGGER refuse")
    wait_until(lambda: writer.stats()["written"] == 40)
    assert [row.value for row in HistoryReader(db_path).range("T", T0, T0 + 100)] == [
        float(i) for i in range(20, 60)
    ]


def test_values_are_stored_as_real_text_or_null():
    assert storable_value(np.float32(1.5)) == 1.5
    assert storable_value(np.int64(7)) == 7.0
    assert storable_value(np.bool_(True)) == 1.0
    assert storable_value(Decimal("2.5")) == 2.5
    assert storable_value(Reason.STALE) == "stale"
    assert type(storable_value(Reason.STALE)) is str
    assert storable_value([1, 2]) == "[1, 2]"
    assert storable_value(b"\x01") == "b'\\x01'"


def test_nan_is_stored_as_null_and_read_back_as_nan(make_writer, db_path):
    write_all(make_writer, [("T", Sample.good(math.nan, T0)), ("T", Sample.good("on", T0 + 1))])
    reader = HistoryReader(db_path)
    assert reader.last("T", before=T0).value is None
    values = reader.arrays("T", T0, T0 + 1)[1]
    assert len(values) == 2 and np.isnan(values).all()


# -- reader ---------------------------------------------------------------------------


@pytest.fixture
def ten_seconds(make_writer, db_path) -> HistoryReader:
    samples = [("T", Sample.good(float(i), T0 + i)) for i in range(10)]
    samples[3] = ("T", Sample.bad(Reason.NOT_CONNECTED, ts=T0 + 3))
    samples.append(("OTHER", Sample.good(99.0, T0 + 5)))
    write_all(make_writer, samples)
    return HistoryReader(db_path)


def test_range_is_inclusive_ordered_and_limited(ten_seconds):
    assert [row.ts - T0 for row in ten_seconds.range("T", T0 + 2, T0 + 5)] == [2, 3, 4, 5]
    assert [row.value for row in ten_seconds.range("T", T0, T0 + 9, limit=3)] == [0.0, 1.0, 2.0]
    assert ten_seconds.range("NOPE", T0, T0 + 9) == []


def test_last_at_or_before_a_time(ten_seconds):
    assert ten_seconds.last("T").value == 9.0
    assert ten_seconds.last("T", before=T0 + 4.5).value == 4.0
    assert ten_seconds.last("T", before=T0 + 4).value == 4.0
    assert ten_seconds.last("T", before=T0 - 1) is None
    assert ten_seconds.last("NOPE") is None


def test_count_per_tag_and_overall(ten_seconds):
    assert ten_seconds.count("T") == 10
    assert ten_seconds.count("OTHER") == 1
    assert ten_seconds.count("NOPE") == 0
    assert ten_seconds.count() == 11


def test_arrays_for_the_trend(ten_seconds):
    ts, values, quality = ten_seconds.arrays("T", T0 + 2, T0 + 4)
    assert ts.dtype == np.float64 and values.dtype == np.float64 and quality.dtype == np.int8
    np.testing.assert_array_equal(ts, [T0 + 2, T0 + 3, T0 + 4])
    np.testing.assert_array_equal(values, [2.0, np.nan, 4.0])
    np.testing.assert_array_equal(quality, [2, 0, 2])
    empty = ten_seconds.arrays("NOPE", T0, T0 + 9)
    assert [len(column) for column in empty] == [0, 0, 0]


def test_iter_rows_pages_through_without_gaps_or_repeats(ten_seconds):
    rows = list(ten_seconds.iter_rows("T", page_size=3))
    assert [row.value for row in rows][:3] == [0.0, 1.0, 2.0]
    assert [row.ts - T0 for row in rows] == list(range(10))
    assert len(list(ten_seconds.iter_rows("T", T0 + 3, T0 + 6, page_size=2))) == 4


async def test_queries_run_off_the_event_loop_through_worker_threads(make_writer, db_path):
    writer = make_writer()
    await asyncio.to_thread(writer.start)
    for i in range(100):  # what the runtime does on its loop: no IO here
        writer.append("T", Sample.good(float(i), T0 + i))
    await asyncio.to_thread(writer.stop)
    reader = HistoryReader(db_path)
    results = await asyncio.gather(*(asyncio.to_thread(reader.arrays, "T", T0, T0 + 49) for _ in range(8)))
    assert all(len(ts) == 50 for ts, _, _ in results)
    assert await asyncio.to_thread(reader.count, "T") == 100


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="history database not found"):
        HistoryReader(tmp_path / "nowhere.db").tag_names()


# -- schema ---------------------------------------------------------------------------


def test_new_file_is_wal_with_version_and_a_readable_view(make_writer, db_path):
    write_all(make_writer, [("T", Sample(5.0, Quality.UNCERTAIN, T0 + 0.25, Reason.STALE))])
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == (
            str(SCHEMA_VERSION),
        )
        assert conn.execute("SELECT tag, time_utc, value, quality, reason FROM history").fetchall() == [
            ("T", "2023-11-14T22:13:20.250Z", 5.0, "uncertain", "stale")
        ]
    assert ensure_schema(db_path) == SCHEMA_VERSION


def test_a_newer_schema_is_refused(db_path):
    ensure_schema(db_path)
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(SchemaError, match="version 99"):
        HistoryWriter(db_path).start()


def test_an_unusable_path_fails_at_start_naming_the_file(tmp_path):
    with pytest.raises(sqlite3.OperationalError, match="missing-dir"):
        HistoryWriter(tmp_path / "missing-dir" / "history.db").start()


def test_a_file_that_is_not_history_is_refused(db_path):
    with sqlite3.connect(db_path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(SchemaError, match="not a history database"):
        ensure_schema(db_path)


# -- export ---------------------------------------------------------------------------


def test_export_csv_format(make_writer, db_path):
    write_all(
        make_writer,
        [
            ("PUMP1.STATE", Sample("running, fast", Quality.GOOD, T0 + 0.1239)),
            ("PUMP1.STATE", Sample(None, Quality.BAD, T0 + 1, Reason.COMM_FAILURE)),
            ("PUMP1.STATE", Sample(21.5, Quality.UNCERTAIN, T0 + 2, Reason.LAST_USABLE)),
            ("PUMP1.STATE", Sample(True, Quality.GOOD, T0 + 3)),
            ("OTHER", Sample(1.0, Quality.GOOD, T0)),
        ],
    )
    out = io.StringIO()
    written = export_csv(HistoryReader(db_path), "PUMP1.STATE", None, T0 + 2, out)
    assert written == 3
    assert out.getvalue() == (
        "timestamp,tag,value,quality,reason\n"
        '2023-11-14T22:13:20.123Z,PUMP1.STATE,"running, fast",good,\n'
        "2023-11-14T22:13:21.000Z,PUMP1.STATE,,bad,comm failure\n"
        "2023-11-14T22:13:22.000Z,PUMP1.STATE,21.5,uncertain,last usable\n"
    )


def test_export_of_an_unknown_tag_is_an_error(make_writer, db_path):
    write_all(make_writer, [("T", Sample.good(1.0, T0))])
    out = io.StringIO()
    with pytest.raises(LookupError, match="NOPE"):
        export_csv(HistoryReader(db_path), "NOPE", None, None, out)
    assert out.getvalue() == ""


def test_timestamps_format_before_1970_and_truncate_to_milliseconds():
    assert format_timestamp(0.0) == "1970-01-01T00:00:00.000Z"
    assert format_timestamp(-1.5) == "1969-12-31T23:59:58.500Z"
    assert format_timestamp(T0 + 0.9999) == "2023-11-14T22:13:20.999Z"


# -- parse_time -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-10m", T0 - 600),
        ("-2h", T0 - 7200),
        ("-1d", T0 - 86400),
        ("-30s", T0 - 30),
        ("-1.5h", T0 - 5400),
        ("now", T0),
        (" -1w ", T0 - 7 * 86400),
        ("1700000000", 1_700_000_000.0),
        ("1700000000.5", 1_700_000_000.5),
        ("2023-11-14T22:13:20Z", T0),
        ("2023-11-14T23:13:20+01:00", T0),
        ("2023-11-14 22:13:20.250+00:00", T0 + 0.25),
    ],
)
def test_parse_time_forms(text, expected):
    assert parse_time(text, now=T0) == pytest.approx(expected)


def test_parse_time_reads_naive_times_as_local_time():
    assert parse_time("2024-05-01") == datetime(2024, 5, 1).timestamp()
    assert parse_time("2024-05-01T08:30") == datetime(2024, 5, 1, 8, 30).timestamp()


@pytest.mark.parametrize("text", ["", "yesterday", "-10", "10m", "-10y", "2024-13-01", "12:00:00x"])
def test_parse_time_refuses_anything_else_clearly(text):
    with pytest.raises(ValueError, match="ISO-8601"):
        parse_time(text, now=T0)


@given(amount=st.integers(min_value=0, max_value=10_000), unit=st.sampled_from("smhdw"))
def test_relative_times_count_back_from_now(amount, unit):
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit]
    assert parse_time(f"-{amount}{unit}", now=T0) == T0 - amount * seconds


# -- hand-off -------------------------------------------------------------------------


def test_the_lock_free_hand_off_loses_nothing_between_threads():
    from hmi.historian.handoff import SampleQueue

    queue = SampleQueue(10_000_000)
    per_thread = 30_000
    taken: list[tuple[str, Sample]] = []
    done = threading.Event()

    def append(name: str) -> None:
        for i in range(per_thread):
            queue.append(name, Sample.good(float(i), T0 + i))

    def take() -> None:
        while not done.is_set():
            taken.extend(queue.take())
        taken.extend(queue.take())

    taker = threading.Thread(target=take, name="hmi-test-taker")
    appenders = [
        threading.Thread(target=append, args=(f"T{n}",), name=f"hmi-test-append-{n}") for n in range(4)
    ]
    taker.start()
    for thread in appenders:
        thread.start()
    for thread in appenders:
        thread.join()
    done.set()
    taker.join()
    assert len(taken) == 4 * per_thread and len(queue) == 0 and queue.dropped == 0
    for n in range(4):  # each thread's samples arrive once each, in the order appended
        assert [s.value for tag, s in taken if tag == f"T{n}"] == [float(i) for i in range(per_thread)]


def test_a_batch_of_nothing_but_unstorable_samples_is_rejected_not_retried(make_writer, db_path):
    writer = write_all(make_writer, [("T", Sample.good(1.0, math.nan)), ("T", Sample.good(2.0, "soon"))])
    stats = writer.stats()
    assert stats["rejected"] == 2 and stats["written"] == 0 and not stats["failing"]
    assert stats["failed_attempts"] == 0
