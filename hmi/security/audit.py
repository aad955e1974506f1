"""The audit trail: an append-only stream of records, each chained to the one before by its hash.

Every row carries the hash of the row before it (``prev_hash``) and its own hash over its fields
and that link, so editing, deleting or inserting a row breaks the chain at that row, and removing
the newest rows is caught by the stream's sequence in ``store_sequences`` running past the table.

The tip of the chain is read inside the inserting transaction, never cached, so a second process
(``hmi write`` beside ``hmi run``) appends to the same file in its own short transactions and the
chain stays one line: SQLite's write lock orders the appenders.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hmi.security.audit_key import AuditKey, NoAuditKey
from hmi.store import sequences
from hmi.store.event_stream import EventStream
from hmi.store.migrations import Component
from hmi.store.sequences import SequenceBlock
from hmi.store.writer import StoreWriter

AUDIT_STREAM = "audit"
GENESIS = "0" * 64
"""The ``prev_hash`` of the first record."""

# Configuration changes the running HMI makes, besides the command path's steps (write, acknowledge,
# shelve, ...), the log-ons and the users store's own changes (add_user, set_password, configure, ...).
SAVE_TREND = "save_trend"
ENABLE_RULE, DISABLE_RULE = "enable_rule", "disable_rule"
TRUST_CERTIFICATE, REJECT_CERTIFICATE = "trust_certificate", "reject_certificate"
SYNC_RESEND = "sync_resend"
CONFIG_ACTIONS = (SAVE_TREND, ENABLE_RULE, DISABLE_RULE, TRUST_CERTIFICATE, REJECT_CERTIFICATE, SYNC_RESEND)

_FIELDS = (
    "seq", "ts", "actor", "origin", "action", "target",
    "old", "value", "read_back", "stage", "detail", "request_id",
)  # fmt: skip
COLUMNS = (*_FIELDS, "prev_hash", "hash")

_DDL = """
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY,      -- append-only, no gaps: a missing number is a deleted record
    ts INTEGER NOT NULL,          -- microseconds since the epoch, UTC
    actor TEXT NOT NULL,          -- the user, or the OS user in commissioning mode
    origin TEXT NOT NULL,         -- screen | faceplate | cli | rule
    action TEXT NOT NULL,         -- write | acknowledge | log_on | ...
    target TEXT NOT NULL,         -- the tag, the alarm, the user
    old TEXT NOT NULL,            -- JSON: a write's target value before it (null when unknown)
    value TEXT NOT NULL,          -- JSON: the value asked for, exact (an int64 stays an int)
    read_back TEXT NOT NULL,      -- JSON: what the device held after a write
    stage TEXT NOT NULL,          -- refused | sending | done | failed | ok
    detail TEXT NOT NULL,         -- the refusal, the device's error, the read-back
    request_id TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
)
"""


def _create_version_1(conn: sqlite3.Connection) -> None:
    conn.execute(_DDL)


def _create_meta_version_2(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE audit_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


AUDIT_COMPONENT = Component(AUDIT_STREAM, (_create_version_1, _create_meta_version_2))
"""The audit table in the file's migration registry."""

_INSERT = f"INSERT INTO audit ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
_SINCE = f"SELECT {', '.join(COLUMNS)} FROM audit WHERE seq > ? ORDER BY seq LIMIT ?"


class WrongAuditKey(Exception):
    """The trail was started with another installation's key."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audited step, as the command path or a log-on reports it."""

    actor: str
    origin: str
    action: str
    target: str
    stage: str
    value: Any = None
    detail: str = ""
    request_id: str = ""
    old: Any = None
    read_back: Any = None
    ts: float = field(default=0.0)


def record_hash(fields: Sequence[Any], prev_hash: str, key: bytes) -> str:
    """HMAC-SHA-256 under ``key`` over the record's fields (in ``_FIELDS`` order) and the previous hash."""
    text = json.dumps([*fields, prev_hash], separators=(",", ":"), ensure_ascii=True)
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def key_fingerprint(conn: sqlite3.Connection) -> str | None:
    """The fingerprint of the key the trail's records are keyed with (None before the first record)."""
    row = conn.execute("SELECT value FROM audit_meta WHERE key = 'key_fingerprint'").fetchone()
    return None if row is None else str(row[0])


def _tip(conn: sqlite3.Connection) -> tuple[int, str]:
    row = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    last_seq = max(row[0] if row else 0, sequences.last(conn, AUDIT_STREAM))
    return last_seq, (row[1] if row else GENESIS)


def chain_rows(
    conn: sqlite3.Connection, entries: Sequence[AuditEntry], key: AuditKey
) -> list[tuple[Any, ...]]:
    """Insert ``entries`` after the chain's tip inside the caller's open write transaction."""
    known = key_fingerprint(conn)
    if known is None:
        conn.execute("INSERT INTO audit_meta (key, value) VALUES ('key_fingerprint', ?)", (key.fingerprint,))
    elif known != key.fingerprint:
        raise WrongAuditKey(
            f"the trail is keyed with key {known}; this installation's key is {key.fingerprint}"
        )
    last_seq, prev = _tip(conn)
    rows = []
    for seq, entry in enumerate(entries, last_seq + 1):
        fields = (
            seq,
            round(entry.ts * 1e6),
            entry.actor,
            entry.origin,
            entry.action,
            entry.target,
            json.dumps(entry.old, default=str),
            json.dumps(entry.value, default=str),
            json.dumps(entry.read_back, default=str),
            entry.stage,
            entry.detail,
            entry.request_id,
        )
        digest = record_hash(fields, prev, key.secret)
        rows.append((*fields, prev, digest))
        prev = digest
    conn.executemany(_INSERT, rows)
    if rows:
        sequences.advance_to(conn, AUDIT_STREAM, rows[-1][0])
    return rows


class AuditStream(EventStream[AuditEntry]):
    """The audit trail as one stream of a store writer (the station's, or a short one for the CLI)."""

    def __init__(self, writer: StoreWriter, bound: int = 100_000) -> None:
        """Attach to ``writer``; at most ``bound`` records wait for a commit (then refused and flagged)."""
        super().__init__(writer, AUDIT_STREAM, AUDIT_COMPONENT, _INSERT, _no_rows, bound)
        self.key: AuditKey | None = None  # set before the writer starts (loading it is blocking)

    def write(self, conn: sqlite3.Connection, block: SequenceBlock) -> None:
        """Chain the batch after the tip found in this transaction (another process may have added)."""
        if self.key is None:
            raise NoAuditKey("the audit stream has no key")  # the writer keeps the batch and retries
        rows = chain_rows(conn, self._batch, self.key)
        if rows:
            self._pending_last = rows[-1][0]

    def read_since(self, conn: sqlite3.Connection, seq: int, limit: int) -> list[dict[str, Any]]:
        """Records committed after ``seq``, in seq order."""
        return read_records(conn, seq, limit)


def _no_rows(_entries: Sequence[AuditEntry], _first: int) -> list[tuple[Any, ...]]:
    raise AssertionError("AuditStream numbers its rows itself")  # pragma: no cover


def read_records(conn: sqlite3.Connection, seq: int = 0, limit: int = 1_000_000) -> list[dict[str, Any]]:
    """Records after ``seq`` as dicts of the table's columns."""
    cursor = conn.execute(_SINCE, (seq, limit))
    return [dict(zip(COLUMNS, row, strict=True)) for row in cursor]
