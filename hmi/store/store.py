"""One project's store: the single-writer lock, the shared batch writer, and reads along a sequence."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hmi.store.lock import StoreLock
from hmi.store.writer import StoreWriter


class Store:
    """The SQLite file of one project, written by this process alone.

    Streams attach to ``writer`` before ``open``; ``open`` takes the lock (or
    raises StoreLocked naming the process that has it) and then migrates and
    starts the writer; ``close`` commits what is pending and lets go of the lock.
    """

    def __init__(
        self,
        path: Path,
        commit_interval: float = 1.0,
        *,
        busy_timeout: float = 5.0,
        max_file_bytes: int | None = None,
    ) -> None:
        """A closed store for ``path``; nothing touches the disk until ``open``."""
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self.lock = StoreLock(self.path)
        self.writer = StoreWriter(
            self.path, commit_interval, busy_timeout=busy_timeout, max_file_bytes=max_file_bytes
        )

    def open(self) -> None:
        """Lock, migrate, start writing. Blocking file IO: call it off any event loop."""
        self.lock.acquire()
        try:
            self.writer.start()
        except BaseException:
            self.lock.release()
            raise

    def close(self, timeout: float = 5.0) -> None:
        """Commit what is pending (bounded by ``timeout``), stop the writer and release the lock."""
        try:
            self.writer.stop(timeout)
        finally:
            self.lock.release()

    def read_since(self, stream: str, seq: int, limit: int = 1000) -> list[dict[str, Any]]:
        """Rows of ``stream`` committed after ``seq``, in seq order, at most ``limit``.

        Each row is a dict with its ``seq`` and the stream's columns. A cursor
        that keeps the last ``seq`` it handled and asks again from there sees
        every committed row once, including samples that arrived late with old
        timestamps. Blocking: call it off any event loop; any thread may.
        """
        by_name = {s.name: s for s in self.writer.streams}
        if stream not in by_name:
            raise KeyError(f"{self.path} has no stream {stream!r}; it has {', '.join(sorted(by_name))}")
        return read_since(self.path, by_name[stream].read_since, seq, limit, self.busy_timeout)


def read_since(
    path: Path,
    reader: Callable[[sqlite3.Connection, int, int], list[dict[str, Any]]],
    seq: int,
    limit: int,
    busy_timeout: float = 5.0,
) -> list[dict[str, Any]]:
    """Run a stream's reader on a read-only connection of its own (any process, any thread)."""
    if limit <= 0:
        raise ValueError("limit must be positive")
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=busy_timeout)
    try:
        conn.row_factory = sqlite3.Row
        return reader(conn, seq, limit)
    finally:
        conn.close()
