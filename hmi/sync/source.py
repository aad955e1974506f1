"""Where sync reads: the store's committed rows after a seq, and each stream's last seq (blocking).

Each worker thread keeps one read-only connection to the store file: opening one costs
more than reading a batch, and a drain reads hundreds of batches.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hmi.store import Store

Reader = Callable[[sqlite3.Connection, int, int], list[Any]]
"""A stream's ``read_since(conn, seq, limit)``: its rows committed after ``seq``, in seq order."""


class StoreSource:
    """The rows of a store file along its per-stream sequences."""

    def __init__(
        self,
        path: Path,
        readers: Mapping[str, Reader],
        busy_timeout: float = 5.0,
        tuple_readers: Mapping[str, Reader] | None = None,
    ) -> None:
        """``readers``: each stream's reader (``Stream.read_since``) by stream name; ``tuple_readers``: the
        streams that can also read their rows as tuples (``Stream.read_rows_since``)."""
        self.path = Path(path)
        self.readers = dict(readers)
        self.tuple_readers = dict(tuple_readers or {})
        self.streams = frozenset(self.readers)
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []

    @classmethod
    def of(cls, store: Store) -> StoreSource:
        """The streams of ``store`` (history, alarm journal, ...)."""
        streams = store.writer.streams
        tuples = {s.name: s.read_rows_since for s in streams if hasattr(s, "read_rows_since")}
        return cls(store.path, {s.name: s.read_since for s in streams}, store.busy_timeout, tuples)

    def read(self, stream: str, after: int, limit: int, tuples: bool = False) -> list[Any]:
        """Rows of ``stream`` committed after seq ``after``, at most ``limit``: dicts, or with ``tuples``
        the stream's sample tuples when it has them (see :meth:`has_tuples`)."""
        reader = self.tuple_readers[stream] if tuples else self.readers[stream]
        return reader(self._connection(), after, limit)

    def has_tuples(self, stream: str) -> bool:
        """Whether ``stream`` reads its rows as tuples too."""
        return stream in self.tuple_readers

    def last(self, stream: str) -> int:
        """The last seq committed on ``stream`` (0 before its first commit)."""
        try:
            row = (
                self._connection()
                .execute("SELECT last FROM store_sequences WHERE stream = ?", (stream,))
                .fetchone()
            )
        except sqlite3.OperationalError:  # not a store yet
            return 0
        return int(row[0]) if row else 0

    def close(self) -> None:
        """Close every thread's connection (any thread; the readers must be done)."""
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            uri = self.path.resolve().as_uri() + "?mode=ro"
            conn = sqlite3.connect(uri, uri=True, timeout=self.busy_timeout, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn


def last_seq(path: Path, stream: str, busy_timeout: float = 5.0) -> int:
    """The last seq committed on ``stream`` in the store file at ``path`` (0 if none or no file)."""
    if not Path(path).exists():
        return 0
    conn = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True, timeout=busy_timeout)
    try:
        row = conn.execute("SELECT last FROM store_sequences WHERE stream = ?", (stream,)).fetchone()
    except sqlite3.OperationalError:  # a file from before sequences, or not a store yet
        return 0
    finally:
        conn.close()
    return int(row[0]) if row else 0
