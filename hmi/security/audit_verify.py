"""Check an audit trail's chain and name the first record that breaks it."""

from __future__ import annotations

import hmac
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from hmi.security.audit import _FIELDS, AUDIT_STREAM, GENESIS, key_fingerprint, record_hash
from hmi.security.audit_key import AuditKey
from hmi.store import sequences

_PAGE = 10_000


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of a verification: ``broken_at`` is the first bad record's seq (None when intact)."""

    records: int
    broken_at: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        """True when every record is where the chain says it should be."""
        return self.broken_at is None


def verify_trail(path: Path, key: AuditKey) -> Verdict:
    """Walk the chain of the trail in ``path`` from its first record (read-only, page by page)."""
    conn = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True, timeout=5.0)
    try:
        return verify_connection(conn, key)
    finally:
        conn.close()


def verify_connection(conn: sqlite3.Connection, key: AuditKey) -> Verdict:
    """Verify the ``audit`` table reachable through ``conn`` with the installation's ``key``."""
    known = key_fingerprint(conn)
    if known is not None and known != key.fingerprint:
        problem = f"the trail is keyed with key {known}, not this installation's key {key.fingerprint}"
        return Verdict(0, 1, problem)
    expected_seq, prev, count = 1, GENESIS, 0
    columns = ", ".join((*_FIELDS, "prev_hash", "hash"))
    last_seq = 0
    while True:
        rows = conn.execute(
            f"SELECT {columns} FROM audit WHERE seq >= ? ORDER BY seq LIMIT ?", (expected_seq, _PAGE)
        ).fetchall()
        if not rows:
            break
        for row in rows:
            fields, prev_hash, digest = row[: len(_FIELDS)], row[-2], row[-1]
            seq = fields[0]
            if seq != expected_seq:
                return Verdict(count, expected_seq, f"record {expected_seq} is missing (next is {seq})")
            if prev_hash != prev:
                return Verdict(
                    count,
                    seq,
                    f"record {seq} does not follow record {seq - 1} (a record was "
                    "inserted, deleted or changed before it)",
                )
            if not hmac.compare_digest(record_hash(fields, prev_hash, key.secret), digest):
                return Verdict(count, seq, f"record {seq} was changed after it was written")
            prev, expected_seq, last_seq, count = digest, seq + 1, seq, count + 1
    first = conn.execute("SELECT min(seq) FROM audit").fetchone()[0]
    if first is not None and first != 1:
        return Verdict(0, 1, f"record 1 is missing (the first is {first})")
    issued = sequences.last(conn, AUDIT_STREAM)
    if issued > last_seq:
        return Verdict(count, last_seq + 1, f"records {last_seq + 1}..{issued} were written and are missing")
    return Verdict(count)
