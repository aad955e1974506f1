"""The durable side of sync: per endpoint and stream a cursor, the in-flight batch and the quarantine.

One SQLite file beside the history (``history.db`` -> ``history.sync.db``), so the
history's single writer thread never waits for a sync commit. Every function here is
blocking file IO: the forwarder calls it through ``asyncio.to_thread``.

The guarantee rests on two writes: a batch's key, seq range and body are committed as a
``ready`` segment (fsync) *before* it can be sent (the forwarder encodes each span of rows
as it is committed), and the cursor moves in the same transaction that forgets (delivered)
or quarantines (rejected) the batch. With several batches in flight a later one may be
taken first: it is forgotten at once, ``done_upto`` remembers how far the taken batches
reach, and the cursor moves only up to the oldest batch still pending (a contiguous prefix).
A crash at any point leaves either the cursor before the range with the batch still pending
(resent with the same key and bytes), or the cursor past it. Batches recorded ``inflight``
without a body come from an older version: their rows are re-read from the history.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hmi.store.migrations import Component, MigrationRegistry

_CURSORS = """
CREATE TABLE sync_cursors (
    endpoint TEXT NOT NULL,
    stream TEXT NOT NULL,
    seq INTEGER NOT NULL,             -- every row up to here is delivered or quarantined
    delivered_rows INTEGER NOT NULL DEFAULT 0,
    delivered_batches INTEGER NOT NULL DEFAULT 0,
    last_success REAL,                -- epoch seconds
    last_error TEXT NOT NULL DEFAULT '',
    last_error_at REAL,
    rows_per_s REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (endpoint, stream)
)
"""

_BATCHES = """
CREATE TABLE sync_batches (
    key TEXT PRIMARY KEY,             -- the idempotency key: the same on every attempt, across restarts
    endpoint TEXT NOT NULL,
    stream TEXT NOT NULL,
    seq_first INTEGER NOT NULL,
    seq_last INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('inflight', 'quarantined')),
    created REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    status INTEGER,                   -- the HTTP status that quarantined it
    error TEXT NOT NULL DEFAULT '',
    content_type TEXT NOT NULL DEFAULT '',
    content_encoding TEXT NOT NULL DEFAULT '',
    body BLOB                         -- kept for a quarantined batch: a resend is byte for byte
)
"""

_ONE_INFLIGHT = (
    "CREATE UNIQUE INDEX sync_one_inflight ON sync_batches (endpoint, stream) WHERE state = 'inflight'"
)


def _version_1(conn: sqlite3.Connection) -> None:
    conn.execute(_CURSORS)
    conn.execute(_BATCHES)
    conn.execute(_ONE_INFLIGHT)


_BATCHES_V2 = _BATCHES.replace(
    "CHECK (state IN ('inflight', 'quarantined'))", "CHECK (state IN ('ready', 'inflight', 'quarantined'))"
).replace(
    "    body BLOB ",
    "    recipe TEXT NOT NULL DEFAULT '',  -- how the body was encoded: Encoder.recipe\n"
    "    ts_first INTEGER,                 -- the oldest source timestamp of its rows (µs)\n"
    "    ts_last INTEGER,                  -- the newest (µs): retention forgets the batch once it is older\n"
    "    body BLOB ",
)


def _version_2(conn: sqlite3.Connection) -> None:
    """Ready segments: batches encoded as their rows were committed, body kept until delivered."""
    conn.execute("ALTER TABLE sync_batches RENAME TO sync_batches_v1")
    conn.execute("DROP INDEX sync_one_inflight")
    conn.execute(_BATCHES_V2)
    conn.execute(f"INSERT INTO sync_batches ({_V1_COLUMNS}) SELECT {_V1_COLUMNS} FROM sync_batches_v1")
    conn.execute("DROP TABLE sync_batches_v1")
    conn.execute(_ONE_INFLIGHT)
    conn.execute("ALTER TABLE sync_cursors ADD COLUMN lost_rows INTEGER NOT NULL DEFAULT 0")
    # Partial: the sender's "oldest pending" walks it in order, without sorting the bodies of a backlog.
    conn.execute(f"CREATE INDEX sync_pending ON sync_batches (endpoint, stream, seq_first) WHERE {_PENDING}")


def _version_3(conn: sqlite3.Connection) -> None:
    """Batches taken out of order (several in flight): how far the taken ones reach, past the cursor."""
    conn.execute("ALTER TABLE sync_cursors ADD COLUMN done_upto INTEGER NOT NULL DEFAULT 0")
    conn.execute("UPDATE sync_cursors SET done_upto = seq")


_PENDING = "state IN ('inflight', 'ready')"
MMAP_BYTES = 256 * 1024**2  # of the state file mapped for reading; the rest is read as usual
_KEYS_PER_STATEMENT = 500  # well under SQLite's smallest limit on bound parameters (999)
_V1_COLUMNS = (
    "key, endpoint, stream, seq_first, seq_last, rows, bytes, state, created, attempts, status, error,"
    " content_type, content_encoding, body"
)

SYNC_COMPONENT = Component("sync", (_version_1, _version_2, _version_3))


def outbox_path(history_path: Path) -> Path:
    """The sync state file beside a history file: ``history.db`` -> ``history.sync.db``."""
    return history_path.with_name(history_path.stem + ".sync" + (history_path.suffix or ".db"))


@dataclass(frozen=True, slots=True)
class Batch:
    """A batch as recorded: its key, stream, seq range and (quarantined) body."""

    key: str
    endpoint: str
    stream: str
    seq_first: int
    seq_last: int
    rows: int
    size: int  # bytes of the body as sent
    state: str
    created: float
    attempts: int = 0
    status: int | None = None
    error: str = ""
    content_type: str = ""
    content_encoding: str = ""
    body: bytes | None = None
    recipe: str = ""
    ts_first: int | None = None
    ts_last: int | None = None


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where one endpoint's stream stands."""

    endpoint: str
    stream: str
    seq: int = 0
    delivered_rows: int = 0
    delivered_batches: int = 0
    last_success: float | None = None
    last_error: str = ""
    last_error_at: float | None = None
    rows_per_s: float = 0.0
    lost_rows: int = 0  # pending rows retention forgot before they could be delivered
    done_upto: int = 0  # how far the batches taken reach, some maybe ahead of one still pending


_BATCH_COLUMNS = (
    "key, endpoint, stream, seq_first, seq_last, rows, bytes, state, created, attempts, status, error,"
    " content_type, content_encoding, body, recipe, ts_first, ts_last"
)


class Outbox:
    """The sync state file: one connection shared by the threads of this process, a call at a time."""

    def __init__(self, path: Path, busy_timeout: float = 5.0) -> None:
        """Create or migrate the file (blocking)."""
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        registry = MigrationRegistry()
        registry.register(SYNC_COMPONENT)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        registry.ensure(self.path, busy_timeout)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def close(self) -> None:
        """Close the connection (a later call opens a new one)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    @contextlib.contextmanager
    def _use(self) -> Iterator[sqlite3.Connection]:
        """The one connection, for one caller at a time (any thread); dropped after an error."""
        with self._lock:
            conn = self._conn
            if conn is None:
                conn = sqlite3.connect(
                    self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
                )
                # A delivered batch's pages are freed, not overwritten with zeros (SQLite builds that delete
                # securely by default would write every page of its body again): its rows are in the
                # history anyway, and a drain deletes megabytes a second.
                conn.execute("PRAGMA secure_delete = FAST")
                # A drain reads every stored body (tens of kB, a chain of pages each) and then deletes it,
                # which walks the chain again: through a memory map each page is a copy, not a read()
                # call. Half the state file's CPU in a drain (docs/performance.md, "Sync drain").
                conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
                self._conn = conn
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                conn.close()
                self._conn = None  # it may be unusable after an IO error: a fresh one next time
                raise

    @contextlib.contextmanager
    def _write(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction: BEGIN IMMEDIATE ... COMMIT, rolled back on error."""
        with self._use() as conn:
            # FULL: a batch's key must be on disk before it is sent, or a power cut could send its rows
            # again under a new key. A delivery may be lost instead (NORMAL): the batch is then still in
            # flight and goes again under its key, which the receiver drops; the next FULL commit makes
            # it durable anyway.
            conn.execute("PRAGMA synchronous=FULL" if durable else "PRAGMA synchronous=NORMAL")
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute("COMMIT")

    # -- cursors ------------------------------------------------------------------

    def cursor(self, endpoint: str, stream: str) -> Cursor:
        """The cursor of ``endpoint``'s ``stream`` (seq 0 when it never ran)."""
        with self._use() as conn:
            row = conn.execute(
                "SELECT endpoint, stream, seq, delivered_rows, delivered_batches, last_success, last_error,"
                " last_error_at, rows_per_s, lost_rows, done_upto FROM sync_cursors"
                " WHERE endpoint = ? AND stream = ?",
                (endpoint, stream),
            ).fetchone()
        return Cursor(*row) if row else Cursor(endpoint, stream)

    def cursors(self) -> list[Cursor]:
        """Every cursor, by endpoint then stream."""
        with self._use() as conn:
            rows = conn.execute(
                "SELECT endpoint, stream, seq, delivered_rows, delivered_batches, last_success, last_error,"
                " last_error_at, rows_per_s, lost_rows, done_upto FROM sync_cursors ORDER BY endpoint, stream"
            ).fetchall()
        return [Cursor(*row) for row in rows]

    def reset_cursor(self, endpoint: str, stream: str, seq: int) -> None:
        """Move a cursor back (a history file that starts its numbers again), dropping its in-flight batch."""
        with self._write() as conn:
            self._advance(conn, endpoint, stream, seq, force=True)
            conn.execute(
                "UPDATE sync_cursors SET done_upto = ? WHERE endpoint = ? AND stream = ?",
                (seq, endpoint, stream),
            )
            conn.execute(
                f"DELETE FROM sync_batches WHERE endpoint = ? AND stream = ? AND {_PENDING}",
                (endpoint, stream),
            )

    def skip_to(self, endpoint: str, stream: str, seq: int) -> None:
        """Move a cursor forward over numbers that hold no row (replaced or purged rows)."""
        with self._write() as conn:
            self._settle(conn, endpoint, stream, seq)

    def record_error(self, endpoint: str, stream: str, error: str) -> None:
        """Remember the last failure of an attempt (for status), keeping the cursor where it is."""
        with self._write() as conn:
            self._ensure_cursor(conn, endpoint, stream)
            conn.execute(
                "UPDATE sync_cursors SET last_error = ?, last_error_at = ? WHERE endpoint = ? AND stream = ?",
                (error, time.time(), endpoint, stream),
            )

    # -- batches ------------------------------------------------------------------

    def inflight(self, endpoint: str, stream: str) -> Batch | None:
        """The batch sent (or the next to go) when the last run stopped, if any: the oldest pending one."""
        found = self.pending(endpoint, stream, 1)
        return found[0] if found else None

    def pending(
        self, endpoint: str, stream: str, limit: int = 1, after: int = 0, max_bytes: int | None = None
    ) -> list[Batch]:
        """The oldest ``limit`` batches not delivered yet (in flight or ready) that start after seq
        ``after``, with their bodies; with ``max_bytes``, no more than fit in it (at least one)."""
        where = f"endpoint = ? AND stream = ? AND {_PENDING} AND seq_first > ?"
        if max_bytes is None:
            return self._batches(where, (endpoint, stream, after), "seq_first", limit)
        found: list[Batch] = []
        held = 0
        with self._use() as conn:
            # Row by row: the bodies past the bound are not read (but the one that crosses it).
            rows = conn.execute(
                f"SELECT {_BATCH_COLUMNS} FROM sync_batches WHERE {where}"
                f" ORDER BY seq_first LIMIT {int(limit)}",
                (endpoint, stream, after),
            )
            for row in rows:
                batch = Batch(*row)
                held += batch.size
                if found and held > max_bytes:
                    break
                found.append(batch)
        return found

    def add_segment(self, batch: Batch) -> None:
        """Record an encoded batch, body and key, ready to send (durable before it can be sent)."""
        with self._write() as conn:
            conn.execute(
                f"INSERT INTO sync_batches ({_BATCH_COLUMNS}) VALUES"
                " (?, ?, ?, ?, ?, ?, ?, 'ready', ?, 0, NULL, '', ?, ?, ?, ?, ?, ?)",
                (
                    batch.key, batch.endpoint, batch.stream, batch.seq_first, batch.seq_last, batch.rows,
                    batch.size, batch.created, batch.content_type, batch.content_encoding, batch.body,
                    batch.recipe, batch.ts_first, batch.ts_last,
                ),
            )  # fmt: skip

    def pending_summary(self, endpoint: str, stream: str) -> tuple[int, int, int, int | None]:
        """(batches, rows, bytes, oldest source timestamp in µs) of what is encoded and not delivered yet."""
        with self._use() as conn:
            row = conn.execute(
                "SELECT count(*), coalesce(sum(rows), 0), coalesce(sum(bytes), 0), min(ts_first)"
                f" FROM sync_batches WHERE endpoint = ? AND stream = ? AND {_PENDING}",
                (endpoint, stream),
            ).fetchone()
        return int(row[0]), int(row[1]), int(row[2]), row[3]

    def encoded_upto(self, endpoint: str, stream: str) -> int:
        """The last seq already in a pending batch or a taken one (0 when none): where encoding goes on."""
        with self._use() as conn:
            row = conn.execute(
                f"SELECT max(seq_last) FROM sync_batches WHERE endpoint = ? AND stream = ? AND {_PENDING}",
                (endpoint, stream),
            ).fetchone()
            done = conn.execute(
                "SELECT done_upto FROM sync_cursors WHERE endpoint = ? AND stream = ?", (endpoint, stream)
            ).fetchone()
        # A batch taken ahead of an older one still pending is forgotten, but its rows are not to be encoded
        # again: the encoding goes on after it.
        return max(int(row[0] or 0), int(done[0]) if done else 0)

    def drop_stale(self, endpoint: str, stream: str, recipe: str, keep: int = 1) -> int:
        """Forget the pending batches from the first one after the oldest ``keep`` that was encoded under
        another ``recipe`` (never sent: encoded again from the history); the oldest ``keep`` (a window's
        worth) may have been sent and stay."""
        with self._write() as conn:
            row = conn.execute(
                f"SELECT seq_first FROM sync_batches WHERE endpoint = ? AND stream = ? AND {_PENDING}"
                " ORDER BY seq_first LIMIT 1 OFFSET ?",
                (endpoint, stream, max(1, keep) - 1),
            ).fetchone()
            if row is None:
                return 0
            head = row[0]
            stale = conn.execute(
                f"SELECT min(seq_first) FROM sync_batches WHERE endpoint = ? AND stream = ? AND {_PENDING}"
                " AND seq_first > ? AND recipe != ?",
                (endpoint, stream, head, recipe),
            ).fetchone()[0]
            if stale is None:
                return 0
            return int(
                conn.execute(
                    f"DELETE FROM sync_batches WHERE endpoint = ? AND stream = ? AND {_PENDING}"
                    " AND seq_first >= ?",
                    (endpoint, stream, stale),
                ).rowcount
            )

    def drop_expired(self, endpoint: str, stream: str, before_us: int) -> list[Batch]:
        """Forget the pending batches whose every row is older than ``before_us`` (history retention),
        counting their rows as lost; returned so that the caller can name them."""
        return self._drop(endpoint, stream, "ts_last < ?", (before_us,))

    def drop_over(self, endpoint: str, stream: str, max_bytes: int) -> list[Batch]:
        """Forget the oldest pending batches until the rest hold at most ``max_bytes``, counting their
        rows as lost; returned so that the caller can name them."""
        with self._use() as conn:
            where = f"endpoint = ? AND stream = ? AND {_PENDING}"
            total = conn.execute(
                f"SELECT coalesce(sum(bytes), 0) FROM sync_batches WHERE {where}", (endpoint, stream)
            ).fetchone()[0]
            if total <= max_bytes:  # the common case: one sum, nothing to walk
                return []
            upto = None
            oldest_first = f"SELECT seq_first, bytes FROM sync_batches WHERE {where} ORDER BY seq_first"
            for seq_first, size in conn.execute(oldest_first, (endpoint, stream)):
                upto = seq_first
                total -= size
                if total <= max_bytes:
                    break
        return self._drop(endpoint, stream, "seq_first <= ?", (upto,))

    def _drop(self, endpoint: str, stream: str, condition: str, params: tuple[object, ...]) -> list[Batch]:
        where = f"endpoint = ? AND stream = ? AND {_PENDING} AND {condition}"
        with self._write() as conn:
            rows = conn.execute(
                f"SELECT {_BATCH_COLUMNS} FROM sync_batches WHERE {where} ORDER BY seq_first",
                (endpoint, stream, *params),
            ).fetchall()
            lost = [Batch(*row) for row in rows]
            if not lost:
                return lost
            conn.executemany("DELETE FROM sync_batches WHERE key = ?", [(batch.key,) for batch in lost])
            # Past the lost rows, but never past a batch still waiting (a late sample's batch is older).
            self._settle(conn, endpoint, stream, max(batch.seq_last for batch in lost))
            conn.execute(
                "UPDATE sync_cursors SET lost_rows = lost_rows + ? WHERE endpoint = ? AND stream = ?",
                (sum(batch.rows for batch in lost), endpoint, stream),
            )
        return lost

    def delivered(self, batch: Batch, rows_per_s: float = 0.0) -> None:
        """The receiver took ``batch``: forget it and move the cursor past it, in one transaction."""
        self.delivered_all([batch], rows_per_s)

    def delivered_all(self, batches: list[Batch], rows_per_s: float = 0.0) -> None:
        """The receiver took ``batches`` (in any order): one transaction for them all.

        A few statements per stream, whatever the number of batches: each statement is a hand-off of
        the interpreter's lock between this worker thread and the event loop posting the next batch.
        """
        streams: dict[tuple[str, str], list[Batch]] = {}
        for batch in batches:
            streams.setdefault((batch.endpoint, batch.stream), []).append(batch)
        now = time.time()
        with self._write(durable=False) as conn:
            for (endpoint, stream), taken in streams.items():
                for first in range(0, len(taken), _KEYS_PER_STATEMENT):
                    keys = [batch.key for batch in taken[first : first + _KEYS_PER_STATEMENT]]
                    conn.execute(
                        f"DELETE FROM sync_batches WHERE key IN ({', '.join('?' * len(keys))})", keys
                    )
                # A resent quarantined batch is already behind the cursor: it does not move it.
                ahead = [batch.seq_last for batch in taken if batch.state != "quarantined"]
                if ahead:
                    self._settle(conn, endpoint, stream, max(ahead))
                conn.execute(
                    "UPDATE sync_cursors SET delivered_rows = delivered_rows + ?,"
                    " delivered_batches = delivered_batches + ?, last_success = ?,"
                    " rows_per_s = CASE WHEN ? > 0 THEN ? ELSE rows_per_s END"
                    " WHERE endpoint = ? AND stream = ?",
                    (sum(b.rows for b in taken), len(taken), now, rows_per_s, rows_per_s, endpoint, stream),
                )

    def quarantine(self, batch: Batch, status: int, error: str, body: bytes, attempts: int = 1) -> None:
        """The receiver refused ``batch`` for good: keep it (with its body) and move the cursor past it (once
        every older batch is taken too)."""
        with self._write() as conn:
            conn.execute(
                "UPDATE sync_batches SET state = 'quarantined', status = ?, error = ?, body = ?, attempts = ?"
                " WHERE key = ?",
                (status, error, body, attempts, batch.key),
            )
            self._settle(conn, batch.endpoint, batch.stream, batch.seq_last)
            conn.execute(
                "UPDATE sync_cursors SET last_error = ?, last_error_at = ? WHERE endpoint = ? AND stream = ?",
                (error, time.time(), batch.endpoint, batch.stream),
            )

    def still_quarantined(self, key: str, status: int, error: str) -> None:
        """A resend was refused again: keep the batch quarantined with the new answer."""
        with self._write() as conn:
            conn.execute(
                "UPDATE sync_batches SET status = ?, error = ?, attempts = attempts + 1 WHERE key = ?",
                (status, error, key),
            )

    def quarantined(self, endpoint: str | None = None) -> list[Batch]:
        """Quarantined batches (of one endpoint, or all), oldest first."""
        if endpoint is None:
            return self._batches("state = 'quarantined'", ())
        return self._batches("state = 'quarantined' AND endpoint = ?", (endpoint,))

    def batch(self, key: str) -> Batch | None:
        """One batch by its key."""
        found = self._batches("key = ?", (key,))
        return found[0] if found else None

    def _batches(
        self, where: str, params: tuple[object, ...], order: str = "created, seq_first", limit: int = -1
    ) -> list[Batch]:
        with self._use() as conn:
            rows = conn.execute(
                f"SELECT {_BATCH_COLUMNS} FROM sync_batches WHERE {where}"
                f" ORDER BY {order} LIMIT {int(limit)}",
                params,
            ).fetchall()
        return [Batch(*row) for row in rows]

    @staticmethod
    def _ensure_cursor(conn: sqlite3.Connection, endpoint: str, stream: str) -> None:
        conn.execute(
            "INSERT OR IGNORE INTO sync_cursors (endpoint, stream, seq) VALUES (?, ?, 0)", (endpoint, stream)
        )

    def _settle(self, conn: sqlite3.Connection, endpoint: str, stream: str, upto: int) -> None:
        """Every row up to ``upto`` is taken (delivered, quarantined, lost or empty): the cursor moves over
        the contiguous prefix of taken batches, up to the oldest batch still pending; ``done_upto`` keeps how
        far the taken ones reach beyond it, so that the cursor catches up once that batch is taken."""
        self._ensure_cursor(conn, endpoint, stream)
        conn.execute(
            "UPDATE sync_cursors SET done_upto = max(done_upto, seq, ?) WHERE endpoint = ? AND stream = ?",
            (upto, endpoint, stream),
        )
        done = conn.execute(
            "SELECT done_upto FROM sync_cursors WHERE endpoint = ? AND stream = ?", (endpoint, stream)
        ).fetchone()[0]
        left = conn.execute(
            f"SELECT min(seq_first) FROM sync_batches WHERE endpoint = ? AND stream = ? AND {_PENDING}",
            (endpoint, stream),
        ).fetchone()[0]
        self._advance(conn, endpoint, stream, done if left is None else min(done, left - 1))

    def _advance(
        self, conn: sqlite3.Connection, endpoint: str, stream: str, seq: int, force: bool = False
    ) -> None:
        self._ensure_cursor(conn, endpoint, stream)
        # Never backwards unless asked: a resent old batch must not rewind the stream.
        condition = "" if force else " AND seq < ?"
        params: tuple[object, ...] = (seq, endpoint, stream) if force else (seq, endpoint, stream, seq)
        conn.execute(f"UPDATE sync_cursors SET seq = ? WHERE endpoint = ? AND stream = ?{condition}", params)
