"""Storage deadband, retention by age and size, and a full disk."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from waiting import wait_until

from hmi.historian import HistoryReader, HistoryWriter
from hmi.historian.deadband import StorageDeadband, storage_deadbands, swinging_door_tags
from hmi.historian.retention import Retention, used_bytes
from hmi.historian.schema import open_for_writing
from hmi.model import Quality, Reason, Sample, TagDef

T0 = 1_700_000_000.0


# -- deadband -------------------------------------------------------------------------


def stored_values(band: StorageDeadband, samples: list[Sample], tag: str = "T") -> list[tuple[float, object]]:
    kept = band.filter((tag, s) for s in samples) + band.flush()
    return [(s.ts - T0, s.value) for _, s in kept]


def test_deadband_stores_moves_past_the_band_and_the_last_value_at_the_end():
    band = StorageDeadband({"T": 1.0})
    values = [10.0, 10.5, 10.9, 11.5, 11.6, 9.0, 9.0, 9.2]
    assert stored_values(band, [Sample.good(v, T0 + i) for i, v in enumerate(values)]) == [
        (0, 10.0),
        (3, 11.5),
        (5, 9.0),
        (7, 9.2),
    ]
    assert band.skipped == 4  # 10.5 and 10.9 superseded; 11.6 dropped before 9.0; 9.0 superseded by 9.2


def test_quality_changes_are_stored_with_the_last_value_before_them():
    band = StorageDeadband({"T": 5.0})
    samples = [
        Sample.good(1.0, T0),
        Sample.good(1.1, T0 + 1),
        Sample.good(1.2, T0 + 2),  # held: the last good value before the link fails
        Sample.bad(Reason.COMM_FAILURE, value=1.2, ts=T0 + 3),
        Sample.bad(Reason.COMM_FAILURE, value=1.2, ts=T0 + 4),
        Sample.good(1.3, T0 + 5),
    ]
    kept = band.filter(("T", s) for s in samples)
    assert [(s.ts - T0, s.quality) for _, s in kept] == [
        (0, Quality.GOOD),
        (2, Quality.GOOD),
        (3, Quality.BAD),
        (4, Quality.BAD),
        (5, Quality.GOOD),
    ]


def test_after_a_long_quiet_spell_the_held_value_pins_the_step():
    band = StorageDeadband({"T": 1.0}, long_gap=60.0)
    samples = [Sample.good(5.0, T0), Sample.good(5.1, T0 + 100), Sample.good(9.0, T0 + 101)]
    assert stored_values(band, samples) == [(0, 5.0), (100, 5.1), (101, 9.0)]
    quick = StorageDeadband({"T": 1.0}, long_gap=60.0)
    assert stored_values(
        quick, [Sample.good(5.0, T0), Sample.good(5.1, T0 + 10), Sample.good(9.0, T0 + 11)]
    ) == [
        (0, 5.0),
        (11, 9.0),
    ]


def test_other_tags_and_text_pass_untouched():
    band = StorageDeadband({"T": 100.0})
    kept = band.filter(
        [
            ("OTHER", Sample.good(1.0, T0)),
            ("OTHER", Sample.good(1.0, T0 + 1)),
            ("T", Sample.good("on", T0)),
            ("T", Sample.good("on", T0 + 1)),
        ]
    )
    assert len(kept) == 4


def test_deadbands_from_tag_definitions():
    tags = [
        TagDef("A", None, "hr:0", history_deadband=0.5),
        TagDef("B", None, "hr:1", history_deadband_percent=1.0, limits=(0.0, 200.0)),
        TagDef("C", None, "hr:2", history_deadband=5.0, history_deadband_percent=1.0, limits=(0.0, 100.0)),
        TagDef("D", None, "hr:3"),
    ]
    assert storage_deadbands(tags) == {"A": 0.5, "B": 2.0, "C": 5.0}
    assert swinging_door_tags([*tags, TagDef("E", None, "hr:4", history_swinging_door=True)]) == {"E"}
    with pytest.raises(ValueError, match="deadband"):
        StorageDeadband({"A": float("nan")})


def test_the_writer_applies_the_deadband_and_counts_what_it_skipped(tmp_path):
    writer = HistoryWriter(tmp_path / "h.db", commit_interval=0.05, deadbands={"SLOW": 1.0})
    writer.start()
    writer.extend(("SLOW", Sample.good(20.0 + (i % 3) * 0.1, T0 + i)) for i in range(100))
    writer.extend(("FAST", Sample.good(float(i), T0 + i)) for i in range(100))
    writer.stop()
    reader = HistoryReader(tmp_path / "h.db")
    assert reader.count("FAST") == 100
    assert [row.ts - T0 for row in reader.range("SLOW", T0, T0 + 100)] == [0, 99]  # first, and last at stop
    assert writer.stats()["filtered"] == 98
    assert writer.stats()["written"] == 102


# -- swinging door --------------------------------------------------------------------


def interpolate(kept: list[Sample], ts: float) -> float:
    times = [s.ts for s in kept]
    return float(np.interp(ts, times, [s.value for s in kept]))


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(st.floats(-5, 5, allow_nan=False), min_size=2, max_size=300),
    band=st.floats(0.01, 3.0),
    gaps=st.lists(st.sampled_from([0.5, 1.0, 1.0, 2.0, 90.0]), min_size=300, max_size=300),
)
def test_swinging_door_reconstructs_every_sample_within_the_band(steps, band, gaps):
    door = StorageDeadband({"T": band}, long_gap=60.0, swinging_door={"T"})
    samples, value, ts = [], 0.0, T0
    for step, gap in zip(steps, gaps, strict=False):
        value += step
        ts += gap
        samples.append(Sample.good(value, ts))
    kept = [s for _, s in door.filter(("T", s) for s in samples) + door.flush()]
    assert kept[0] == samples[0] and kept[-1] == samples[-1]
    assert len(kept) + door.skipped == len(samples)
    for sample in samples:
        assert abs(interpolate(kept, sample.ts) - sample.value) <= band * (1 + 1e-9) + 1e-9


def test_swinging_door_stores_a_ramp_as_its_ends_and_breaks_at_quality_changes():
    door = StorageDeadband({"T": 0.1}, long_gap=1e9, swinging_door={"T"})
    ramp = [Sample.good(2.0 * i, T0 + i) for i in range(1000)]
    assert [s.ts - T0 for _, s in door.filter(("T", s) for s in ramp) + door.flush()] == [0, 999]
    plain = StorageDeadband({"T": 0.1})
    assert len(plain.filter(("T", s) for s in ramp) + plain.flush()) == 1000  # a deadband keeps them all

    samples = [*ramp[:10], Sample.bad(Reason.COMM_FAILURE, ts=T0 + 10), Sample.good(20.0, T0 + 11)]
    door = StorageDeadband({"T": 0.1}, swinging_door={"T"})
    kept = door.filter(("T", s) for s in samples) + door.flush()
    assert [(s.ts - T0, s.quality) for _, s in kept] == [
        (0, Quality.GOOD),
        (9, Quality.GOOD),
        (10, Quality.BAD),
        (11, Quality.GOOD),
    ]


# -- retention ------------------------------------------------------------------------


def fill(path: Path, days: int, per_day: int, tags: int = 3, start: float = T0, **options) -> HistoryWriter:
    writer = HistoryWriter(path, commit_interval=0.05, **options)
    writer.start()
    step = 86_400 / per_day
    writer.extend(
        (f"T{t}", Sample.good(float(i), start + i * step)) for i in range(days * per_day) for t in range(tags)
    )
    return writer


def test_retention_by_age_purges_in_chunks_and_keeps_rollups_in_step(tmp_path):
    path = tmp_path / "h.db"
    fill(path, days=10, per_day=2_000).stop()
    conn = open_for_writing(path)
    try:
        retention = Retention(max_age=3 * 86_400, chunk=1_000)
        assert retention.run(conn, budget=60.0, now=T0 + 10 * 86_400)
        assert retention.purged == 3 * 7 * 2_000
        oldest = conn.execute("SELECT min(ts) FROM samples").fetchone()[0] / 1e6
        assert oldest >= T0 + 7 * 86_400
        for table in ("rollup_10s", "rollup_1m", "rollup_1h"):
            assert (
                conn.execute(f"SELECT min(bucket) FROM {table}").fetchone()[0] / 1e6 >= T0 + 7 * 86_400 - 3600
            )
    finally:
        conn.close()


def test_a_pass_with_too_little_time_reports_it_is_not_finished(tmp_path):
    path = tmp_path / "h.db"
    fill(path, days=2, per_day=5_000).stop()
    conn = open_for_writing(path)
    try:
        retention = Retention(max_age=1.0, chunk=100)
        assert not retention.run(conn, budget=0.0, now=T0 + 3 * 86_400)
        assert retention.purged == 0
    finally:
        conn.close()


def test_retention_by_size_removes_the_oldest_and_the_file_shrinks(tmp_path):
    path = tmp_path / "h.db"
    fill(path, days=6, per_day=5_000).stop()
    conn = open_for_writing(path)
    try:
        assert conn.execute("PRAGMA auto_vacuum").fetchone() == (2,)  # incremental
        before_used, before_file = used_bytes(conn), path.stat().st_size
        retention = Retention(max_size=before_used // 2, chunk=5_000)
        assert retention.run(conn, budget=60.0)
        assert used_bytes(conn) <= before_used // 2
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert path.stat().st_size < before_file * 0.75
        newest = conn.execute("SELECT max(ts) FROM samples").fetchone()[0] / 1e6
        assert newest == pytest.approx(T0 + (6 * 5_000 - 1) * 86_400 / 5_000)  # the newest data stays
    finally:
        conn.close()


def test_the_writer_enforces_retention_between_commits(tmp_path):
    start = time.time() - 3 * 86_400
    writer = fill(
        tmp_path / "h.db", days=3, per_day=1_000, start=start, retention=86_400.0, retention_every=0.0
    )
    wait_until(lambda: writer.stats()["purged"] >= 6_000 and writer.stats()["pending"] == 0)
    writer.stop()
    reader = HistoryReader(tmp_path / "h.db")
    assert reader.count() + writer.stats()["purged"] == 9_000
    assert reader.range("T0", start, time.time())[0].ts >= time.time() - 86_400 - 60


# -- a full disk ----------------------------------------------------------------------


def test_a_full_disk_is_reported_the_batch_kept_and_the_file_stays_sound(tmp_path, caplog):
    path = tmp_path / "h.db"
    writer = HistoryWriter(path, commit_interval=0.05, max_file_bytes=400_000)
    writer.start()
    try:
        writer.extend(("T", Sample.good(float(i), T0 + i)) for i in range(200))
        wait_until(lambda: writer.stats()["written"] == 200)
        texts = (("T", Sample(f"long text {i}" * 20, Quality.GOOD, T0 + 1000 + i)) for i in range(20_000))
        writer.extend(texts)
        wait_until(lambda: writer.stats()["disk_full"])
        stats = writer.stats()
        assert stats["running"] and stats["failing"] and stats["pending"] == 20_000
        assert "disk full" in stats["last_error"] and str(path) in stats["last_error"]
        # the flag is published after its log line, so whoever sees one finds the other
        assert any("disk full" in r.getMessage() for r in caplog.records)
    finally:
        writer.stop()
    assert writer.stats()["dropped"] == 20_000  # counted, never silent
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT count(*) FROM samples").fetchone() == (200,)


# -- configuration --------------------------------------------------------------------

PROJECT = """\
name: Deadband Plant
connections:
  plc1: {driver: modbus, host: 127.0.0.1, port: 5020}
tags:
  FLOW: {connection: plc1, address: "hr:0", type: float32, history_deadband: 0.5}
  LEVEL: {connection: plc1, address: "hr:2", type: float32, limits: [0.0, 400.0],
          history_deadband_percent: 0.5}
"""


def test_project_files_configure_the_storage_deadband(tmp_path):
    from hmi.project.loader import check_project, load_project

    (tmp_path / "project.yaml").write_text(PROJECT, encoding="utf-8")
    assert storage_deadbands(load_project(tmp_path).tags.values()) == {"FLOW": 0.5, "LEVEL": 2.0}
    (tmp_path / "project.yaml").write_text(
        PROJECT.replace(" limits: [0.0, 400.0],", "")
        + '  RUN: {connection: plc1, address: "co:0", type: bool,'
        " history_deadband: 1.0}\n",
        encoding="utf-8",
    )
    errors = [f"{e.line}: {e.message}" for e in check_project(tmp_path)]
    assert any(e.startswith("7:") and "needs limits" in e for e in errors), errors
    assert any(e.startswith("8:") and "numeric tags only" in e for e in errors), errors


def test_the_swinging_door_is_configured_per_tag_and_needs_a_band(tmp_path):
    from hmi.project.loader import check_project, load_project

    text = PROJECT.replace("history_deadband: 0.5}", "history_deadband: 0.5, history_swinging_door: true}")
    (tmp_path / "project.yaml").write_text(text, encoding="utf-8")
    assert swinging_door_tags(load_project(tmp_path).tags.values()) == {"FLOW"}
    (tmp_path / "project.yaml").write_text(text.replace("history_deadband: 0.5, ", ""), encoding="utf-8")
    errors = [f"{e.line}: {e.message}" for e in check_project(tmp_path)]
    assert errors == [
        "5: tag 'FLOW': history_swinging_door: needs history_deadband or history_deadband_percent:"
        " the deviation it allows"
    ]


def test_the_writer_stores_a_swinging_door_tag_as_line_ends(tmp_path):
    writer = HistoryWriter(tmp_path / "h.db", commit_interval=0.05, deadbands={"R": 0.5}, swinging_door={"R"})
    writer.start()
    writer.extend(("R", Sample.good(0.25 * i, T0 + i)) for i in range(50))
    writer.stop()
    assert [row.value for row in HistoryReader(tmp_path / "h.db").range("R", T0, T0 + 100)] == [0.0, 12.25]
    assert writer.stats()["filtered"] == 48
