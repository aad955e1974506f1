"""The history stream: a cheap hand-off from the runtime loop, written by the store's batch writer.

Overflow policy ``DROP_OLDEST``: at most ``max_pending`` samples wait for the
next commit. When one more arrives, the oldest waiting sample is dropped and
counted in ``stats()['dropped']``: the newest data matters most to an operator,
and a writer that cannot keep up must never grow without bound. A batch whose
commit failed stays waiting (inside the same bound) and is retried.

On the writer thread, between commits, this stream applies the storage deadband
(before conversion) and retention (after a commit, in small chunks within a time
budget). A full disk (SQLITE_FULL) keeps the batch and sets ``stats()['disk_full']``
for the runtime to raise as an alarm (see :mod:`hmi.store.writer`).

Alone (no ``writer`` given) a HistoryWriter runs a store writer of its own; in
a station it is one stream of the project's shared :class:`hmi.store.Store`.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hmi.historian import closing, ingest, sequence
from hmi.historian.deadband import StorageDeadband
from hmi.historian.handoff import SampleQueue
from hmi.historian.retention import Retention
from hmi.historian.schema import HISTORY_COMPONENT, HISTORY_STREAM, MICROS_PER_SECOND
from hmi.model import Sample
from hmi.store.queues import OverflowPolicy
from hmi.store.sequences import SequenceBlock
from hmi.store.stats import StreamStats
from hmi.store.writer import StoreWriter

log = logging.getLogger(__name__)

COMMIT_CHUNK = 250_000
"""The most samples one commit takes: a backlog goes out in commits of this size, one after another."""


class HistoryWriter:
    """Writes samples to the history file in one transaction per commit interval.

    ``append`` may be called from any thread (the runtime loop in practice);
    every SQLite call happens on the store writer's thread.
    """

    name = HISTORY_STREAM
    component = HISTORY_COMPONENT

    @staticmethod
    def read_since(conn: sqlite3.Connection, seq: int, limit: int) -> list[dict[str, Any]]:
        """Samples committed after ``seq`` (see :func:`hmi.historian.sequence.read_since`)."""
        return sequence.read_since(conn, seq, limit)

    @staticmethod
    def read_rows_since(conn: sqlite3.Connection, seq: int, limit: int) -> list[sequence.SampleRow]:
        """The same samples as tuples (see :func:`hmi.historian.sequence.read_rows_since`)."""
        return sequence.read_rows_since(conn, seq, limit)

    def __init__(
        self,
        path: Path,
        commit_interval: float = 1.0,
        max_pending: int = 2_000_000,
        *,
        busy_timeout: float = 5.0,
        deadbands: Mapping[str, float] | None = None,
        swinging_door: Collection[str] = (),
        retention: float | None = None,
        max_size: int | None = None,
        max_file_bytes: int | None = None,
        retention_every: float = 10.0,
        writer: StoreWriter | None = None,
    ) -> None:
        """``deadbands``: absolute storage deadband per tag, used as the swinging-door
        deviation for the tags in ``swinging_door`` (see :mod:`hmi.historian.deadband`).
        ``retention`` (seconds) and ``max_size`` (bytes): what retention purges beyond.
        ``retention_every``: seconds between retention passes while nothing is left over.
        ``max_file_bytes``: a hard ceiling the file never grows past; reaching it
        behaves exactly as a full disk does. ``writer``: the store's shared writer
        (its own settings then apply); without one this stream runs its own.
        """
        if commit_interval <= 0 or max_pending <= 0:
            raise ValueError("commit_interval and max_pending must be positive")
        self.path = Path(path)
        self._owns_writer = writer is None
        self.writer = writer or StoreWriter(
            self.path, commit_interval, busy_timeout=busy_timeout, max_file_bytes=max_file_bytes
        )
        self.commit_interval = self.writer.commit_interval
        self.max_pending = max_pending
        self._lock = threading.Lock()
        # A half-full queue wakes the writer early rather than waiting out the interval and dropping.
        self._queue = SampleQueue(max_pending, self.writer.wake)
        # Owned by the writer thread; the counters below are read under the lock.
        self._tag_ids: dict[str, int] = {}
        self._newest: dict[int, int] = {}  # tag id -> latest stored ts, to tell appends from late samples
        self._deadband = StorageDeadband(deadbands or {}, swinging_door=swinging_door)
        self._retention = Retention(retention, max_size)
        self._retention_every = retention_every
        self._retention_due = 0.0  # time.monotonic() of the next pass
        self._batch: list[tuple[str, Sample]] = []
        self._backlog: list[tuple[str, Sample]] = []  # taken, not yet in a batch (see prepare)
        self._taken = 0  # every sample the writer took off the queue
        self._retry: list[tuple[str, Sample]] = []
        self._columns: ingest.Columns | None = None
        self._new_ids: dict[str, int] = {}
        self._written_newest: dict[int, int] = {}
        # What this process committed of the open rollup buckets (None: load from the file at the next write).
        self._buckets: closing.OpenBuckets | None = None
        self._buckets_next: closing.OpenBuckets | None = None
        self._refused_now = 0
        self._taken_at = 0.0
        self._flags_now = 0
        self._flags_restamped = 0  # stale flags stored at their detection time (hmi.historian.flags)
        self._in_flight = 0
        self._written = 0
        self._dropped = 0
        self._rejected = 0
        self._last_seq = 0
        self._pending_last_seq = 0
        self.writer.add(self)

    # -- any thread ---------------------------------------------------------------

    @property
    def append(self) -> Callable[[str, Sample], None]:
        """``append(tag, sample)`` queues one sample for the next commit; never blocks.

        The queue's own method, so that a caller holding it (the runtime's
        subscription) pays one call per sample (see :mod:`hmi.historian.handoff`).
        """
        return self._queue.append

    def extend(self, samples: Iterable[tuple[str, Sample]]) -> None:
        """Queue many (tag, sample) pairs at once."""
        self._queue.extend(samples)

    def stream_stats(self) -> StreamStats:
        """This stream's typed counters."""
        with self._lock:
            return StreamStats(
                name=self.name,
                policy=OverflowPolicy.DROP_OLDEST.value,
                pending=len(self._queue) + self._in_flight + len(self._backlog),
                written=self._written,
                dropped=self._dropped + self._queue.dropped,
                refused=self._rejected,
                last_seq=self._last_seq,
            )

    def stats(self) -> dict[str, Any]:
        """Counters for the status bar and the logs, as one consistent snapshot (the writer's included)."""
        stream, writer = self.stream_stats(), self.writer.stats()
        with self._lock:
            offered = self._taken + self._queue.dropped + len(self._queue)
        return {
            "offered": offered,
            "written": stream.written,
            "dropped": stream.dropped,
            "rejected": stream.refused,
            "pending": stream.pending,
            "last_seq": stream.last_seq,
            "filtered": self._deadband.skipped,
            "purged": self._retention.purged,
            "stale_flags": self._flags_restamped,
        } | {key: value for key, value in asdict(writer).items() if key != "retry_in_s"}

    def start(self) -> None:
        """Alone: create or migrate the file, then launch the writer thread (blocking file IO).

        In a store, the store's ``open`` does this for every stream at once.
        """
        if self._owns_writer:
            self.writer.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Alone: commit what is pending and end the thread. In a store: the store's ``close`` does."""
        if self._owns_writer:
            self.writer.stop(timeout)

    def close(self) -> None:
        """Refuse further samples; each one offered from now on is counted as dropped."""
        self._queue.close()

    # -- writer thread ------------------------------------------------------------

    def prepare(self, final: bool) -> bool:
        """Take what is queued behind the retried batch, at most COMMIT_CHUNK samples per commit.

        The deadband sees each new sample once, as it enters a batch. What is left over waits in
        the backlog (inside the same bound) and the writer is woken to commit it straight away:
        one commit stays bounded in time, so a stop never waits on a commit of millions.
        """
        taken = self._queue.take()
        self._taken_at = time.time()  # when a stale flag in this batch is stored (see hmi.historian.flags)
        with self._lock:
            self._taken += len(taken)
            retried, self._retry = self._retry, []
            backlog = self._backlog + taken if self._backlog else taken
            # A failed batch, the backlog and the new samples share one bound; the oldest go first.
            overflow = max(0, len(retried) + len(backlog) - self.max_pending)
            self._dropped += overflow
            if overflow:
                cut = min(overflow, len(retried))
                retried, backlog = retried[cut:], backlog[overflow - cut :]
            room = max(0, COMMIT_CHUNK - len(retried))
            if len(backlog) > room:
                entering, self._backlog = backlog[:room], backlog[room:]
            else:
                entering, self._backlog = backlog, []
            self._in_flight = len(retried) + len(entering)
        fresh = self._deadband.filter(entering)  # a retried batch was filtered already
        batch = retried + fresh if retried else fresh
        if final and not self._backlog:
            batch.extend(self._deadband.flush())  # each tag's last value, held back by its deadband
        if self._deadband.deadbands or final:
            with self._lock:
                self._in_flight = len(batch)
        if self._backlog:
            self.writer.wake.set()
        self._batch = batch
        return bool(batch)

    def write(self, conn: sqlite3.Connection, block: SequenceBlock) -> None:
        """Tags, raw rows numbered from the history sequence, and rollups, inside the open transaction."""
        batch = self._batch
        columns, refused = self._columns_of(conn, batch)
        if refused:
            log.warning("history: rejected %d samples that cannot be stored, first %s", *refused)
        self._refused_now = refused[0] if refused else 0
        self._flags_now = ingest.restamp_stale_flags(
            conn, columns, self._newest, round(self._taken_at * MICROS_PER_SECOND)
        )
        count = len(columns.stored)
        first_seq = block.take(self.name, count)
        self._pending_last_seq = first_seq + count - 1
        self._written_newest, self._buckets_next = ingest.insert(
            conn, columns, self._newest, first_seq, self._buckets
        )
        self._columns = columns

    def _columns_of(
        self, conn: sqlite3.Connection, batch: list[tuple[str, Sample]]
    ) -> tuple[ingest.Columns, tuple[int, str] | None]:
        """The batch's columns; new tag names get their ids first (inside the open transaction).

        A running plant's batches name only known tags: the conversion's own id lookup finds that out,
        so the common commit makes no second pass over the batch's names. Only a batch with a name
        the file does not know yet (or a sample that cannot be stored) takes the slow path.
        """
        self._new_ids = {}
        try:
            return ingest.to_columns(batch, self._tag_ids), None
        except (TypeError, ValueError, OverflowError, KeyError):
            pass
        self._new_ids = ingest.insert_new_tags(conn, batch, self._tag_ids)
        known = self._tag_ids | self._new_ids if self._new_ids else self._tag_ids
        return ingest.to_columns_refusing(batch, known)

    def committed(self) -> None:
        """Adopt the new tag ids and newest timestamps; count the batch."""
        self._tag_ids.update(self._new_ids)
        self._newest.update(self._written_newest)
        if self._buckets_next is not None:
            self._buckets, self._buckets_next = self._buckets_next, None
        written = len(self._columns.stored) if self._columns is not None else 0
        with self._lock:
            self._written += written
            self._rejected += self._refused_now
            self._flags_restamped += self._flags_now
            self._in_flight = 0
            self._last_seq = max(self._last_seq, self._pending_last_seq)
        self._batch, self._columns, self._new_ids, self._written_newest = [], None, {}, {}

    def failed(self) -> None:
        """Keep the batch (already filtered) for the next attempt."""
        with self._lock:
            self._retry = self._batch
        self._buckets_next = None
        self._batch, self._columns, self._new_ids, self._written_newest = [], None, {}, {}

    def connected(self, conn: sqlite3.Connection) -> None:
        """Reload the tag ids; forget newest timestamps (the file may have been replaced)."""
        self._tag_ids = {name: tag_id for tag_id, name in conn.execute("SELECT id, name FROM tags")}
        self._newest = {}
        self._buckets = self._buckets_next = None
        last = conn.execute("SELECT last FROM store_sequences WHERE stream = ?", (self.name,)).fetchone()
        with self._lock:
            self._last_seq = max(self._last_seq, last[0] if last else 0)

    def upkeep(self, connect: Callable[[], sqlite3.Connection], budget: float) -> None:
        """Retention: purge what is past the limits within ``budget``; a failure waits a turn."""
        if not self._retention.active or time.monotonic() < self._retention_due:
            return
        try:
            conn = connect()
            purged = self._retention.purged
            finished = self._retention.run(conn, budget)
            # A pass that ran out of time carries on after the next commit, else it rests a while.
            self._retention_due = time.monotonic() + (0.0 if not finished else self._retention_every)
            if self._retention.purged > purged:
                sequence.prune(conn)  # the boxes that located the purged rows
                self._buckets = None  # purged rows may have been in open buckets: recount from the file
        except sqlite3.Error as error:
            log.warning("history retention failed, will retry: %s", error)

    def abandon(self, reason: str) -> int:
        """Count everything not committed as dropped, and log how many, of which tags, over what time."""
        held = self._deadband.drop_held()
        with self._lock:
            unsent = self._retry + self._batch + self._backlog
            queued = self._queue.drain()  # the queue counts these in its own dropped
            self._dropped += len(unsent) + len(held)
            self._retry, self._batch, self._backlog = [], [], []
            self._in_flight = 0
        lost = [*unsent, *held, *queued]
        if lost:
            log.error(
                "history: %d samples not committed at stop (%s): %s",
                len(lost),
                describe(lost),
                reason or "never started",
            )
        return len(lost)


def describe(pairs: list[tuple[str, Sample]]) -> str:
    """How many tags and which source-time range a list of samples covers, for a log line."""
    stamps = [s.ts for _, s in pairs if type(s.ts) in (int, float) and math.isfinite(s.ts)]
    tags = len({tag for tag, _ in pairs})
    if not stamps:
        return f"{tags} tags"
    return f"{tags} tags, source time {_utc(min(stamps))} to {_utc(max(stamps))}"


def _utc(ts: float) -> str:
    try:
        return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")
    except (OverflowError, OSError, ValueError):
        return repr(ts)
