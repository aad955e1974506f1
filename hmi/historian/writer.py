"""The history writer: a cheap hand-off from the runtime loop, batched commits on its own thread.

Overflow policy: at most ``max_pending`` samples wait for the next commit. When
one more arrives, the oldest waiting sample is dropped and counted in
``stats()['dropped']``: the newest data matters most to an operator, and a
writer that cannot keep up must never grow without bound. A batch whose commit
failed stays waiting (inside the same bound) and is retried every interval.

Between commits the same thread applies the storage deadband (before
conversion) and retention (after a commit, in small chunks within a time
budget). A full disk (SQLITE_FULL) keeps the batch, sets ``stats()['disk_full']``
for the runtime to raise as an alarm, and is retried like any other failure.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from contextlib import suppress
from itertools import islice
from pathlib import Path
from typing import Any

from hmi.historian import ingest
from hmi.historian.deadband import StorageDeadband
from hmi.historian.handoff import SampleQueue
from hmi.historian.retention import Retention
from hmi.historian.schema import ensure_schema, open_for_writing
from hmi.model import Sample

log = logging.getLogger(__name__)

THREAD_NAME = "hmi-historian"
_RETENTION_SHARE = 0.25  # of each commit interval, at most, spent purging


class HistoryWriter:
    """Writes samples to the history file in one transaction per commit interval.

    ``append`` may be called from any thread (the runtime loop in practice);
    every SQLite call happens on the thread ``start`` launches.
    """

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
    ) -> None:
        """``deadbands``: absolute storage deadband per tag, used as the swinging-door
        deviation for the tags in ``swinging_door`` (see :mod:`hmi.historian.deadband`).
        ``retention`` (seconds) and ``max_size`` (bytes): what retention purges beyond.
        ``retention_every``: seconds between retention passes while nothing is left over.
        ``max_file_bytes``: a hard ceiling the file never grows past; reaching it
        behaves exactly as a full disk does.
        """
        if commit_interval <= 0 or max_pending <= 0:
            raise ValueError("commit_interval and max_pending must be positive")
        if max_file_bytes is not None and max_file_bytes <= 0:
            raise ValueError("max_file_bytes must be positive")
        self.path = Path(path)
        self.commit_interval = commit_interval
        self.max_pending = max_pending
        self.busy_timeout = busy_timeout
        self._lock = threading.Lock()
        self._queue = SampleQueue(max_pending)
        # A half-full queue wakes the thread early rather than waiting out the interval and dropping.
        self._wake = self._queue.wake
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Owned by the writer thread; the counters below are read under the lock.
        self._conn: sqlite3.Connection | None = None
        self._tag_ids: dict[str, int] = {}
        self._newest: dict[int, int] = {}  # tag id -> latest stored ts, to tell appends from late samples
        self._deadband = StorageDeadband(deadbands or {}, swinging_door=swinging_door)
        self._retention = Retention(retention, max_size)
        self._retention_every = retention_every
        self._retention_due = 0.0  # time.monotonic() of the next pass
        self._max_file_bytes = max_file_bytes
        self._retry: list[tuple[str, Sample]] = []
        self._in_flight = 0
        self._written = 0
        self._dropped = 0
        self._rejected = 0
        self._commits = 0
        self._failed_attempts = 0
        self._last_commit_ms = 0.0
        self._last_error = ""
        self._failing = False
        self._disk_full = False

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

    def stats(self) -> dict[str, Any]:
        """Counters for the status bar and the logs, as one consistent snapshot."""
        with self._lock:
            return {
                "written": self._written,
                "dropped": self._dropped + self._queue.dropped,
                "rejected": self._rejected,
                "pending": len(self._queue) + self._in_flight,
                "commits": self._commits,
                "failed_attempts": self._failed_attempts,
                "last_commit_ms": self._last_commit_ms,
                "last_error": self._last_error,
                "failing": self._failing,
                "disk_full": self._disk_full,
                "filtered": self._deadband.skipped,
                "purged": self._retention.purged,
                "running": self._thread is not None and self._thread.is_alive(),
            }

    def start(self) -> None:
        """Create or migrate the file, then launch the writer thread.

        The schema check is blocking file IO done here on purpose, so that a
        bad path fails at start-up: call it before the loop runs or through
        ``asyncio.to_thread``.
        """
        if self._thread is not None or self._stop.is_set():
            raise RuntimeError("a HistoryWriter starts once, and not after stop()")
        ensure_schema(self.path, self.busy_timeout)
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Commit what is pending and end the thread; samples appended afterwards are counted as dropped."""
        self._queue.close()
        self._stop.set()
        self._wake.set()
        if self._thread is None:
            self._give_up_on_pending()
            return
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("history writer still committing after %.1f s; leaving it to finish", timeout)
        elif len(self._queue):
            self._give_up_on_pending()  # appended in the instant the queue closed, after the last take

    # -- writer thread ------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if self._failing:
                    # Not the wake event: a full queue would otherwise retry a failing disk in a tight loop.
                    self._stop.wait(self.commit_interval)
                else:
                    self._wake.wait(self.commit_interval)
                self._wake.clear()
                if (
                    self._commit_pending()
                    and self._retention.active
                    and time.monotonic() >= self._retention_due
                ):
                    self._enforce_retention()
            if not self._commit_pending(final=True):
                self._give_up_on_pending()
        finally:
            self._disconnect()

    def _take_batch(self) -> list[tuple[str, Sample]]:
        taken = self._queue.take()
        with self._lock:
            retried, self._retry = self._retry, []
            # A failed batch and the new samples share one bound; the oldest go first.
            overflow = max(0, len(retried) + len(taken) - self.max_pending)
            self._dropped += overflow
            self._in_flight = len(retried) + len(taken) - overflow
        # The deadband sees each new sample once, in order; a retried batch was filtered already.
        fresh = self._deadband.filter(islice(taken, max(0, overflow - len(retried)), None))
        batch = retried[overflow:] + fresh if retried else fresh
        if self._deadband.deadbands:
            with self._lock:
                self._in_flight = len(batch)
        return batch

    def _commit_pending(self, final: bool = False) -> bool:
        """One transaction for everything waiting; False when it failed and the batch waits for a retry."""
        batch = self._take_batch()
        if final:
            batch.extend(self._deadband.flush())  # each tag's last value, held back by its deadband
        if not batch:
            return True
        began = time.perf_counter()
        try:
            conn = self._conn or self._connect()
            conn.execute("BEGIN IMMEDIATE")
            try:
                new_ids = ingest.insert_new_tags(conn, batch, self._tag_ids)
                columns, rejected = self._columns(batch, new_ids)
                newest = ingest.insert(conn, columns, self._newest)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with suppress(sqlite3.Error):  # keep the original error, the one worth reporting
                        conn.execute("ROLLBACK")
                raise
        except Exception as error:  # any failure keeps the batch: the thread must live on
            self._record_failure(batch, error)
            return False
        self._tag_ids.update(new_ids)
        self._newest.update(newest)
        self._record_success(len(columns.stored), rejected, (time.perf_counter() - began) * 1000.0)
        return True

    def _columns(
        self, batch: list[tuple[str, Sample]], new_ids: dict[str, int]
    ) -> tuple[ingest.Columns, int]:
        columns, refused = ingest.to_columns_refusing(
            batch, self._tag_ids | new_ids if new_ids else self._tag_ids
        )
        if refused:
            log.warning("history: rejected %d samples that cannot be stored, first %s", *refused)
        return columns, refused[0] if refused else 0

    def _connect(self) -> sqlite3.Connection:
        # Re-checking the schema on every (re)connect heals a file that was deleted or replaced.
        ensure_schema(self.path, self.busy_timeout)
        conn = open_for_writing(self.path, self.busy_timeout)
        if self._max_file_bytes is not None:
            page_size = conn.execute("PRAGMA page_size").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {max(1, self._max_file_bytes // page_size)}")
        self._tag_ids = {name: tag_id for tag_id, name in conn.execute("SELECT id, name FROM tags")}
        self._newest = {}
        self._conn = conn
        return conn

    def _enforce_retention(self) -> None:
        """Purge what is past the limits in a bounded share of the interval; a failure waits a turn."""
        try:
            budget = self.commit_interval * _RETENTION_SHARE
            finished = self._retention.run(self._conn or self._connect(), budget)
            # A pass that ran out of time carries on after the next commit, else it rests a while.
            self._retention_due = time.monotonic() + (0.0 if not finished else self._retention_every)
        except sqlite3.Error as error:
            with self._lock:
                self._last_error = f"retention: {type(error).__name__}: {error}"
            log.warning("history retention failed, will retry: %s", error)

    def _disconnect(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except sqlite3.Error as error:
                log.warning("history: closing the database failed: %s", error)
            self._conn = None

    def _record_success(self, written: int, rejected: int, elapsed_ms: float) -> None:
        recovered = self._failing
        with self._lock:
            self._written += written
            self._rejected += rejected
            self._commits += 1
            self._in_flight = 0
            self._last_commit_ms = elapsed_ms
            self._failing = False
            self._disk_full = False
        if recovered:
            log.warning("history writes recovered; %d samples committed", written)

    def _record_failure(self, batch: list[tuple[str, Sample]], error: Exception) -> None:
        disk_full = getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
        message = f"{type(error).__name__}: {error}"
        if disk_full:
            message = (
                f"history disk full: {self.path} cannot grow ({error}); samples are kept in memory"
                " and retried; free disk space or lower history retention/max_size"
            )
        with self._lock:
            self._retry = batch
            self._failed_attempts += 1
            repeated = self._failing and message == self._last_error
            self._last_error = message
            self._failing = True
            self._disk_full = disk_full
        if repeated:
            log.debug("history write still failing: %s", message)
        else:
            log.error("history write failed, %d samples kept for retry: %s", len(batch), message)
        self._disconnect()  # a fresh connection next time: the old one may be unusable after an IO error

    def _give_up_on_pending(self) -> None:
        with self._lock:
            lost = len(self._retry) + self._queue.drop_all()
            self._dropped += len(self._retry)
            self._retry = []
            self._in_flight = 0
        if lost:
            log.error(
                "history writer stopped with %d samples not committed: %s",
                lost,
                self._last_error or "never started",
            )
