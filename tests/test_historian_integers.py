"""Integers in history: exact INTEGER rows beside REAL ones, and every reader still works on the mix."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from hmi.historian import HistoryReader, HistoryWriter
from hmi.historian.export import export_csv
from hmi.historian.schema import storable_value
from hmi.model import Quality, Sample

T0 = 1_700_000_000.0
BIG = 2**60 + 1  # a float would make it 2**60


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "history.db"


@pytest.fixture
def write_all(db_path: Path) -> Iterator:
    writers: list[HistoryWriter] = []

    def write(samples: list[tuple[str, Sample]]) -> None:
        writer = HistoryWriter(db_path, commit_interval=0.05)
        writers.append(writer)
        writer.start()
        writer.extend(samples)
        writer.stop()
        assert writer.stats()["written"] == len(samples)

    yield write
    for writer in writers:
        writer.stop()


def stored_rows(db_path: Path, tag: str) -> list[tuple[object, str]]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(
            "SELECT value, typeof(value) FROM history WHERE tag = ? ORDER BY ts", (tag,)
        ).fetchall()


def test_storable_value_keeps_int64_exact_and_never_rounds_a_larger_uint64():
    assert storable_value(BIG) == BIG and type(storable_value(BIG)) is int
    assert storable_value(np.int64(-(2**63))) == -(2**63)
    assert type(storable_value(np.int64(7))) is int
    assert storable_value(2**63 - 1) == 2**63 - 1
    assert storable_value(2**64 - 1) == "18446744073709551615"  # past INTEGER: exact text, not rounded
    assert storable_value(True) == 1.0 and type(storable_value(True)) is float


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # ints only: the column path that binds them as they are
        (
            [BIG, -(2**63), 2**63 - 1, 7],
            [(BIG, "integer"), (-(2**63), "integer"), (2**63 - 1, "integer"), (7, "integer")],
        ),
        # a mix: the per-value path
        (
            [BIG, 1.5, None, 2**64 - 1, True, "text"],
            [
                (BIG, "integer"),
                (1.5, "real"),
                (None, "null"),
                ("18446744073709551615", "text"),
                (1.0, "real"),
                ("text", "text"),
            ],
        ),
    ],
)
def test_integers_are_stored_as_exact_integer_rows(write_all, db_path, values, expected):
    write_all([("T", Sample.good(v, T0 + i)) for i, v in enumerate(values)])
    assert stored_rows(db_path, "T") == expected


def test_readers_export_and_rollups_work_on_mixed_integer_and_real_rows(write_all, db_path):
    samples = [("C", Sample.good(v, T0 + i)) for i, v in enumerate([BIG, 2.5, 10, None, 4])]
    samples.append(("C", Sample(3, Quality.BAD, T0 + 5)))
    write_all(samples)
    reader = HistoryReader(db_path)
    rows = reader.range("C", T0, T0 + 10)
    assert [row.value for row in rows] == [BIG, 2.5, 10, None, 4, 3]
    assert type(rows[0].value) is int
    assert reader.last("C").value == 3
    assert reader.value_at("C", T0 + 2.5).value == 10
    _ts, values, _quality = reader.arrays("C", T0, T0 + 10)
    assert values.dtype == np.float64 and values[0] == float(BIG) and np.isnan(values[3])
    stats = reader.aggregate("C", T0, T0 + 4)
    assert stats["min"] == 2.5 and stats["max"] == float(BIG)  # rollups are REAL statistics
    out = io.StringIO()
    export_csv(reader, "C", None, None, out)
    lines = out.getvalue().splitlines()
    assert lines[1].split(",")[2] == "1152921504606846977"  # exact in the export
    assert lines[2].split(",")[2] == "2.5"
    reader.close()


def test_a_batch_of_ints_floats_and_bools_keeps_each_kind(write_all, db_path):
    write_all([("M", Sample.good(v, T0 + i)) for i, v in enumerate([True, BIG, 0.5, False, None])])
    assert stored_rows(db_path, "M") == [
        (1.0, "real"),
        (BIG, "integer"),
        (0.5, "real"),
        (0.0, "real"),
        (None, "null"),
    ]
