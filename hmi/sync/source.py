"""Where sync reads: the store's committed rows after a seq, and each stream's last seq (blocking)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

ReadSince = Callable[[str, int, int], list[dict[str, Any]]]
"""``(stream, after_seq, limit) -> rows`` in seq order: ``Store.read_since``."""


class StoreSource:
    """The rows of a store file along its per-stream sequences."""

    def __init__(
        self, path: Path, read_since: ReadSince, streams: frozenset[str], busy_timeout: float = 5.0
    ) -> None:
        """``streams``: the streams the store has; ``read_since`` reads one of them."""
        self.path = Path(path)
        self.streams = streams
        self._read_since = read_since
        self.busy_timeout = busy_timeout

    def read(self, stream: str, after: int, limit: int) -> list[dict[str, Any]]:
        """Rows of ``stream`` committed after seq ``after``, at most ``limit``."""
        return self._read_since(stream, after, limit)

    def last(self, stream: str) -> int:
        """The last seq committed on ``stream`` (0 before its first commit)."""
        return last_seq(self.path, stream, self.busy_timeout)


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
