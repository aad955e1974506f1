"""The multi-row insert stores every sample exactly as executemany did: same rows, same types, same bits."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hmi.historian import ingest
from hmi.historian.schema import ensure_schema, open_for_writing
from hmi.model import Quality, Reason, Sample

TAGS = [f"T{i}" for i in range(6)]
IDS = {name: i for i, name in enumerate(TAGS, 1)}
T0 = 1_700_000_000.0

values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, math.nan, math.inf, -math.inf, 5e-324, 1.7976931348623157e308]),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.integers(min_value=2**63, max_value=2**64 + 5),  # uint64 above int64: decimal text
    st.integers(max_value=-(2**63) - 1, min_value=-(2**70)),
    st.booleans(),
    st.none(),
    st.text(max_size=8),
    st.sampled_from([np.float32(1.5), np.int64(-7), np.uint64(2**64 - 1), np.bool_(True)]),
)
samples = st.builds(
    Sample,
    values,
    st.sampled_from(list(Quality)),
    # Few distinct stamps per tag, so a batch often repeats a (tag, ts) and the later row must win.
    st.integers(min_value=0, max_value=5).map(lambda n: T0 + n * 0.25),
    st.sampled_from(list(Reason)),
)
batches = st.lists(st.tuples(st.sampled_from(TAGS), samples), max_size=60)


def _file(path: Path) -> sqlite3.Connection:
    ensure_schema(path)
    conn = open_for_writing(path)
    conn.executemany("INSERT INTO tags (id, name) VALUES (?, ?)", [(i, n) for n, i in IDS.items()])
    return conn


def _rows(conn: sqlite3.Connection) -> list[tuple[object, ...]]:
    """Every row with its value's storage class and its exact Python value (repr tells -0.0 from 0.0)."""
    found = conn.execute(
        "SELECT tag_id, ts, typeof(value), value, typeof(quality), quality, reason, seq FROM samples"
        " ORDER BY tag_id, ts"
    ).fetchall()
    return [(*row[:3], repr(row[3]), *row[4:]) for row in found]


def _write_both(tmp: Path, batch: list[tuple[str, Sample]], largest: int | None) -> tuple[list, list]:
    columns, _ = ingest.to_columns_refusing(batch, IDS)
    seq = np.arange(1, len(columns.stored) + 1, dtype=np.int64)
    old, new = _file(tmp / "old.db"), _file(tmp / "new.db")
    try:
        old.execute("BEGIN")
        old.executemany(ingest.INSERT_SAMPLE, columns.rows(seq))
        old.execute("COMMIT")
        new.execute("BEGIN")
        ingest.insert_samples(new, columns, seq, largest=largest)
        new.execute("COMMIT")
        return _rows(old), _rows(new)
    finally:
        old.close()
        new.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=batches, largest=st.sampled_from([None, 1, 3, 4, 16, 16384]))
def test_same_rows_as_executemany(
    tmp_path_factory, batch: list[tuple[str, Sample]], largest: int | None
) -> None:
    tmp = tmp_path_factory.mktemp("bulk")
    old, new = _write_both(tmp, batch, largest)
    assert new == old


def test_a_plant_commit_spans_several_statements(tmp_path: Path) -> None:
    """40,001 rows at the default size: nine full statements and a remainder in smaller ones, in order."""
    tags = [f"P{i}" for i in range(40_001)]
    ids = {name: i for i, name in enumerate(tags, 1)}
    batch = [(name, Sample.good(i * 0.5 if i % 3 else i, ts=T0 + i * 1e-3)) for i, name in enumerate(tags)]
    columns = ingest.to_columns(batch, ids)
    seq = np.arange(10, 10 + len(batch), dtype=np.int64)
    ensure_schema(tmp_path / "h.db")
    conn = open_for_writing(tmp_path / "h.db")
    conn.execute("BEGIN")
    ingest.insert_samples(conn, columns, seq)
    conn.execute("COMMIT")
    rows = conn.execute("SELECT tag_id, ts, value, typeof(value), seq FROM samples ORDER BY seq").fetchall()
    conn.close()
    assert len(rows) == len(batch)
    assert [row[4] for row in rows] == seq.tolist()
    assert [row[3] for row in rows[:4]] == ["integer", "real", "real", "integer"]
    assert [row[2] for row in rows[:4]] == [0, 0.5, 1.0, 3]
