"""Append-only sequences, one per stream, kept in ``store_sequences``.

A number is handed out at commit, inside the commit's transaction, so a sync
cursor that remembers "the last seq I sent" sees every row committed after it,
whatever the row's own timestamp. Numbers only grow: a rolled-back commit gives
its numbers back (nobody saw them), a deleted row never returns its number.
"""

from __future__ import annotations

import sqlite3


def last(conn: sqlite3.Connection, stream: str) -> int:
    """The last number handed out on ``stream`` (0 before the first)."""
    row = conn.execute("SELECT last FROM store_sequences WHERE stream = ?", (stream,)).fetchone()
    return 0 if row is None else int(row[0])


def advance_to(conn: sqlite3.Connection, stream: str, value: int) -> None:
    """Record ``value`` as the last number of ``stream``; a lower value than stored changes nothing."""
    conn.execute(
        "INSERT INTO store_sequences (stream, last) VALUES (?, ?)"
        " ON CONFLICT (stream) DO UPDATE SET last = max(last, excluded.last)",
        (stream, value),
    )


class SequenceBlock:
    """Hands out numbers for one commit; the writer adopts them only once the commit succeeded."""

    def __init__(self, conn: sqlite3.Connection, known: dict[str, int]) -> None:
        self._conn = conn
        self._known = known
        self.taken: dict[str, int] = {}

    def take(self, stream: str, count: int) -> int:
        """Reserve ``count`` numbers on ``stream``; returns the first of them."""
        current = self.taken.get(stream)
        if current is None:
            current = self._known.get(stream)
            if current is None:
                current = last(self._conn, stream)
        if count > 0:
            advance_to(self._conn, stream, current + count)
        self.taken[stream] = current + count
        return current + 1
