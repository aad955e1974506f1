"""The audit trail on a real file: appended by a store writer, chained by hash, verified record by record."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from hmi.security.audit import AuditEntry, record_hash
from hmi.security.audit_key import AuditKey, load_key
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
    verdict = verify_trail(path, load_key())
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
    verdict = verify_trail(path, load_key())
    assert (verdict.ok, verdict.broken_at, verdict.records) == (False, 4, 3)
    assert verdict.problem == "record 4 was changed after it was written"


def test_an_edit_that_also_rewrites_its_own_hash_breaks_the_next_link(tmp_path):
    path = tmp_path / "audit.db"
    fill(path, 6)
    with sqlite3.connect(path) as conn:
        row = conn.execute(
            "SELECT seq, ts, actor, origin, action, target, old, value, read_back, stage, detail, request_id,"
            " prev_hash"
            " FROM audit WHERE seq = 3"
        ).fetchone()
        forged = (*row[:2], "mallory", *row[3:12])
        conn.execute(
            "UPDATE audit SET actor = 'mallory', hash = ? WHERE seq = 3",
            (record_hash(forged, row[12], load_key().secret),),
        )
    verdict = verify_trail(path, load_key())
    assert verdict.broken_at == 4 and "does not follow record 3" in verdict.problem


def test_a_deleted_record_is_named(tmp_path):
    path = tmp_path / "audit.db"
    fill(path, 6)
    edit(path, "DELETE FROM audit WHERE seq = 3")
    verdict = verify_trail(path, load_key())
    assert (verdict.broken_at, verdict.problem) == (3, "record 3 is missing (next is 4)")


def test_deleting_the_first_or_the_newest_records_is_caught(tmp_path):
    first, newest = tmp_path / "first.db", tmp_path / "newest.db"
    fill(first, 4)
    fill(newest, 4)
    edit(first, "DELETE FROM audit WHERE seq = 1")
    edit(newest, "DELETE FROM audit WHERE seq >= 3")
    assert verify_trail(first, load_key()).broken_at == 1
    verdict = verify_trail(newest, load_key())
    assert verdict.broken_at == 3 and verdict.problem == "records 3..4 were written and are missing"


def test_an_inserted_record_is_named(tmp_path):
    path = tmp_path / "audit.db"
    fill(path, 4)
    with sqlite3.connect(path) as conn:
        # Renumber to make room, then slip a well-formed record in between 2 and 3.
        conn.execute("UPDATE audit SET seq = seq + 100 WHERE seq >= 3")
        conn.execute("UPDATE audit SET seq = seq - 99 WHERE seq >= 103")
        prev = conn.execute("SELECT hash FROM audit WHERE seq = 2").fetchone()[0]
        fields = (3, 0, "mallory", "cli", "write", "PUMP1.RUN", "false", "true", "true", "done", "", "x")
        conn.execute(
            f"INSERT INTO audit VALUES ({', '.join('?' * 14)})",
            (*fields, prev, record_hash(fields, prev, load_key().secret)),
        )
    verdict = verify_trail(path, load_key())
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
    verdict = verify_trail(path, load_key())
    assert verdict.ok and verdict.records == 40


@pytest.mark.parametrize("count", [0, 1])
def test_a_new_or_single_record_trail_verifies(tmp_path, count):
    path = tmp_path / "audit.db"
    fill(path, count)
    assert verify_trail(path, load_key()).ok


def rewrite_whole_chain(path: Path, key: bytes) -> None:
    """What a forger with the database but not the key can do: change a record and rehash every link."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT seq, ts, actor, origin, action, target, old, value, read_back, stage, detail, request_id"
            " FROM audit ORDER BY seq"
        ).fetchall()
        prev = "0" * 64
        for row in rows:
            fields = (*row[:2], "mallory" if row[0] == 2 else row[2], *row[3:])
            digest = record_hash(fields, prev, key)
            conn.execute(
                "UPDATE audit SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                (fields[2], prev, digest, row[0]),
            )
            prev = digest


def test_a_whole_chain_rewritten_without_the_key_is_caught_at_its_first_record(tmp_path):
    path = tmp_path / "audit.db"
    fill(path, 4)
    rewrite_whole_chain(path, b"a guess at the key")
    verdict = verify_trail(path, load_key())
    assert (verdict.broken_at, verdict.problem) == (1, "record 1 was changed after it was written")


def test_the_same_rewrite_with_the_key_would_pass_so_the_key_is_what_protects_it(tmp_path):
    path = tmp_path / "audit.db"
    fill(path, 4)
    rewrite_whole_chain(path, load_key().secret)
    assert verify_trail(path, load_key()).ok


def test_another_installations_key_is_named_not_taken_for_tampering(tmp_path):
    path = tmp_path / "audit.db"
    fill(path, 2)
    stranger = AuditKey(b"x" * 32, "elsewhere")
    verdict = verify_trail(path, stranger)
    assert verdict.broken_at == 1
    assert (
        verdict.problem.startswith("the trail is keyed with key ") and stranger.fingerprint in verdict.problem
    )


def test_without_a_keyring_the_key_file_is_readable_by_its_owner_only(tmp_path):
    import keyring
    from keyring.backends.fail import Keyring as NoKeyring

    previous = keyring.get_keyring()
    keyring.set_keyring(NoKeyring())  # whatever backend this machine or an earlier test has: none here
    try:
        _key_file_only(tmp_path)
    finally:
        keyring.set_keyring(previous)


def _key_file_only(tmp_path: Path) -> None:
    fill(tmp_path / "audit.db", 1)
    key = load_key()
    assert key.source.endswith("audit.key")
    assert Path(key.source).stat().st_mode & 0o777 == 0o600
    assert load_key().secret == key.secret and len(key.secret) == 32
