"""A stream of low-rate records (alarm events, audit records) written by the store's shared writer.

The queue follows ``REFUSE_AND_FLAG`` (see :mod:`hmi.store.queues`): nothing
queued is ever discarded while the store runs. A batch whose commit failed is
kept whole and retried first; while it waits, new records collect in the queue
up to its bound.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from hmi.store import sequences
from hmi.store.migrations import Component
from hmi.store.queues import FlaggingQueue
from hmi.store.sequences import SequenceBlock
from hmi.store.stats import StreamStats
from hmi.store.writer import StoreWriter

Record = TypeVar("Record")
log = logging.getLogger(__name__)

RowsOf = Callable[[Sequence[Record], int], Sequence[tuple[Any, ...]]]
"""The rows for a batch of records, numbered from the given first sequence number."""


class EventStream(Generic[Record]):
    """Records queued from any thread, inserted by the writer with one seq each, in arrival order."""

    def __init__(
        self,
        writer: StoreWriter,
        name: str,
        component: Component,
        insert_sql: str,
        rows_of: RowsOf[Record],
        bound: int = 100_000,
    ) -> None:
        """Attach to ``writer``; ``insert_sql`` takes the rows ``rows_of`` makes."""
        self.name = name
        self.component = component
        self._insert_sql = insert_sql
        self._rows_of = rows_of
        self.bound = bound
        self._queue: FlaggingQueue[Record] = FlaggingQueue(bound, writer.wake)
        self._lock = threading.Lock()
        self._batch: list[Record] = []
        self._retrying = False
        self._written = 0
        self._lost = 0
        self._last_seq = 0
        self._pending_last = 0
        writer.add(self)

    def read_since(self, conn: sqlite3.Connection, seq: int, limit: int) -> list[dict[str, Any]]:
        """Rows committed after ``seq`` in seq order, at most ``limit``: each event stream knows its table."""
        raise NotImplementedError(f"{type(self).__name__} does not say how its rows are read")

    # -- any thread ---------------------------------------------------------------

    def append(self, record: Record) -> bool:
        """Queue one record without blocking; False when refused (counted, health flag raised)."""
        return self._queue.append(record)

    def close(self) -> None:
        """Refuse further records (each one counted)."""
        self._queue.close()

    def stream_stats(self) -> StreamStats:
        """A consistent snapshot of this stream."""
        with self._lock:
            return StreamStats(
                name=self.name,
                policy=self._queue.policy.value,
                pending=len(self._queue) + len(self._batch),
                written=self._written,
                dropped=self._lost,
                refused=self._queue.refused,
                full=self._queue.full,
                last_seq=self._last_seq,
            )

    # -- writer thread ------------------------------------------------------------

    def prepare(self, final: bool) -> bool:
        """The retried batch alone while commits fail (the queue holds the rest within its bound);
        otherwise, and at the final commit, the retried batch followed by everything queued."""
        if not self._retrying or final:
            taken = self._queue.take()
            with self._lock:
                self._batch = self._batch + taken if self._retrying else taken
        return bool(self._batch)

    def write(self, conn: sqlite3.Connection, block: SequenceBlock) -> None:
        """Insert the batch, numbered in arrival order."""
        first = block.take(self.name, len(self._batch))
        conn.executemany(self._insert_sql, self._rows_of(self._batch, first))
        self._pending_last = first + len(self._batch) - 1

    def committed(self) -> None:
        """Count the batch as written."""
        with self._lock:
            self._written += len(self._batch)
            self._last_seq = self._pending_last
            self._batch = []
            self._retrying = False
        self._queue.lower_flag_if_drained()

    def failed(self) -> None:
        """Keep the batch, in order, for the next attempt."""
        self._retrying = True

    def connected(self, conn: sqlite3.Connection) -> None:
        """Learn the last number committed before, so stats show the sequence continuing."""
        last = sequences.last(conn, self.name)
        with self._lock:
            self._last_seq = max(self._last_seq, last)

    def upkeep(self, connect: Callable[[], sqlite3.Connection], budget: float) -> None:
        """Nothing to purge (the journal keeps its events)."""

    def abandon(self, reason: str) -> int:
        """Count what could not be committed at a stop as lost."""
        with self._lock:
            lost = len(self._batch) + self._queue.drop_all()
            self._batch = []
            self._lost += lost
        if lost:
            log.error(
                "%s: stopped with %d records not committed: %s", self.name, lost, reason or "never started"
            )
        return lost
