"""The audit trail on a real file: appended by a store writer, chained by hash, verified record by record."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from hmi.security.audit import AuditEntry, record_hash
from hmi.security.audit_verify import verify_trail
from hmi.security.trail import AuditTrail


def entry(n: int, actor: str = "ada") -> AuditEntry:
    return AuditEntry(actor, "cli", "write", f"TAG{n}", "done", value=n, detail="", request_id=f"r{n}")


def fill(path: Path, count: int, actor: str = "ada") -> None:
    trail = AuditTrail(path, commit_interval=0.05)
    trail.start()
    try:
        for n in range(count):
            assert trail.record(entry(n, actor))
    finally:
        trail.stop()


def edit(path: Path, sql: str, *params: object) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(sql, params)


def test_an_untouched_trail_verifies_and_values_stay_exact(tmp_path):
    path = tmp_path / "audit.db"
    fill(path, 5)
    trail = AuditTrail(path, commit_interval=0.05)
    trail.start()
    trail.record(AuditEntry("ada", "cli", "write", "COUNTER", "done", value=2**60 + 1))
    trail.stop()
    verdict = verify_trail(path)
    assert verdict.ok and verdict.records == 6
    with sqlite3.connect(path) as conn:
        seqs = [row[0] for row in conn.execute("SELECT seq FROM audit ORDER BY seq")]
        last_value = conn.execute("SELECT value FROM audit WHERE seq = 6").fetchone()[0]
    assert seqs == [1, 2, 3, 4, 5, 6]
    assert json.loads(last_value) == 2**60 + 1


def test_an_edited_record_is_named(tmp_path):
    path = tmp_path / "audit.db"
    fill(path, 6)
    edit(path, "UPDATE audit SET actor = 'mallory' WHERE seq = 4")
    verdict = verify_trail(path)
    assert (verdict.ok, verdict.broken_at, verdict.records) == (False, 4, 3)
    assert verdict.problem == "record 4 was changed after it was written"


def test_an_edit_that_also_rewrites_its_own_hash_breaks_the_next_link(tmp_path):
    path = tmp_path / "audit.db"
    fill(path, 6)
    with sqlite3.connect(path) as conn:
        row = conn.execute(
            "SELECT seq, ts, actor, origin, action, target, value, stage, detail, request_id, prev_hash"
            " FROM audit WHERE seq = 3"
        ).fetchone()
        forged = (*row[:2], "mallory", *row[3:10])
        conn.execute(
            "UPDATE audit SET actor = 'mallory', hash = ? WHERE seq = 3", (record_hash(forged, row[10]),)
        )
    verdict = verify_trail(path)
    assert verdict.broken_at == 4 and "does not follow record 3" in verdict.problem


def test_a_deleted_record_is_named(tmp_path):
    path = tmp_path / "audit.db"
    fill(path, 6)
    edit(path, "DELETE FROM audit WHERE seq = 3")
    verdict = verify_trail(path)
    assert (verdict.broken_at, verdict.problem) == (3, "record 3 is missing (next is 4)")


def test_deleting_the_first_or_the_newest_records_is_caught(tmp_path):
    first, newest = tmp_path / "first.db", tmp_path / "newest.db"
    fill(first, 4)
    fill(newest, 4)
    edit(first, "DELETE FROM audit WHERE seq = 1")
    edit(newest, "DELETE FROM audit WHERE seq >= 3")
    assert verify_trail(first).broken_at == 1
    verdict = verify_trail(newest)
    assert verdict.broken_at == 3 and verdict.problem == "records 3..4 were written and are missing"


def test_an_inserted_record_is_named(tmp_path):
    path = tmp_path / "audit.db"
    fill(path, 4)
    with sqlite3.connect(path) as conn:
        # Renumber to make room, then slip a well-formed record in between 2 and 3.
        conn.execute("UPDATE audit SET seq = seq + 100 WHERE seq >= 3")
        conn.execute("UPDATE audit SET seq = seq - 99 WHERE seq >= 103")
        prev = conn.execute("SELECT hash FROM audit WHERE seq = 2").fetchone()[0]
        fields = (3, 0, "mallory", "cli", "write", "PUMP1.RUN", "true", "done", "", "x")
        conn.execute(
            "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*fields, prev, record_hash(fields, prev)),
        )
    verdict = verify_trail(path)
    assert verdict.broken_at == 4 and "does not follow record 3" in verdict.problem


def test_two_writers_of_one_file_keep_one_chain(tmp_path):
    """The station and `hmi write` append side by side: each commit reads the tip it follows."""
    path = tmp_path / "audit.db"
    station, cli = AuditTrail(path, commit_interval=0.02), AuditTrail(path, commit_interval=0.02)
    station.start()
    cli.start()
    try:
        for n in range(40):
            (station if n % 2 else cli).record(entry(n, "station" if n % 2 else "cli"))
    finally:
        station.stop()
        cli.stop()
    verdict = verify_trail(path)
    assert verdict.ok and verdict.records == 40


@pytest.mark.parametrize("count", [0, 1])
def test_a_new_or_single_record_trail_verifies(tmp_path, count):
    path = tmp_path / "audit.db"
    fill(path, count)
    assert verify_trail(path).ok
