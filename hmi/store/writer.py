"""ONE batch writer thread per store file, shared by every stream that writes into it.

Each stream (history samples, alarm events, later audit and events) keeps its
own bounded queue with a named overflow policy (:mod:`hmi.store.queues`). Once
per commit interval, or sooner when a stream's queue asks, the thread takes
every stream's pending batch and writes them all in ONE transaction, numbering
each stream's rows from its sequence (:mod:`hmi.store.sequences`).

A failed commit rolls back for every stream; each keeps its batch and the thread
retries with a capped exponential backoff. A full disk (SQLITE_FULL) is such a
failure, flagged as ``disk_full`` for the station to raise as an alarm.

The thread never dies of an error: anything unexpected in a cycle (a bug, a
setting no file should hold) is a *fault*, logged with its traceback, counted,
shown in ``stats().fault`` until a cycle runs clean, and the loop carries on
after a backoff. The station raises an alarm while a fault stands.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any, Protocol

from hmi.store.migrations import Component, MigrationRegistry
from hmi.store.sequences import SequenceBlock
from hmi.store.stats import StreamStats, WriterStats

log = logging.getLogger(__name__)

THREAD_NAME = "hmi-store-writer"
CACHE_KIB = 256 * 1024  # the writer connection's page cache (an upper bound: SQLite grows it as used)
UPKEEP_SHARE = 0.25  # of each commit interval, at most, spent on upkeep such as retention
STOP_GRACE = 30.0  # past stop()'s timeout, for the one bounded commit in progress to end


class Stream(Protocol):
    """What the writer needs from a stream. Every method but ``close`` runs on the writer thread."""

    name: str
    component: Component  # the tables it writes, in the file's migration registry

    def read_since(self, conn: sqlite3.Connection, seq: int, limit: int) -> list[dict[str, Any]]:
        """Rows committed after ``seq`` in seq order, at most ``limit``, on the caller's connection."""
        ...

    def prepare(self, final: bool) -> bool:
        """Gather the batch to commit (the retried one first); True when there is anything."""
        ...

    def write(self, conn: sqlite3.Connection, block: SequenceBlock) -> None:
        """Insert the batch inside the writer's open transaction."""
        ...

    def committed(self) -> None:
        """The transaction holding the batch committed."""
        ...

    def failed(self) -> None:
        """The transaction rolled back: keep the batch for the next attempt."""
        ...

    def connected(self, conn: sqlite3.Connection) -> None:
        """A fresh connection: reload whatever the stream caches from the file."""
        ...

    def upkeep(self, connect: Callable[[], sqlite3.Connection], budget: float) -> None:
        """Between commits, within ``budget`` seconds (e.g. retention); must not raise."""
        ...

    def close(self) -> None:
        """Refuse further entries (any thread); each one offered afterwards is counted."""
        ...

    def abandon(self, reason: str) -> int:
        """The store stops and cannot commit: count what is pending as lost; returns how many."""
        ...

    def stream_stats(self) -> StreamStats:
        """A consistent snapshot (any thread)."""
        ...


class StoreWriter:
    """Commits every stream's batch in one transaction per interval, on its own thread."""

    def __init__(
        self,
        path: Path,
        commit_interval: float = 1.0,
        *,
        busy_timeout: float = 5.0,
        max_file_bytes: int | None = None,
        max_backoff: float | None = None,
    ) -> None:
        """``max_file_bytes``: a ceiling the file never grows past; reaching it behaves as a full disk.
        ``max_backoff``: the longest wait between retries (default 8 commit intervals, 1 s to 30 s).
        """
        if commit_interval <= 0:
            raise ValueError("commit_interval must be positive")
        if max_file_bytes is not None and max_file_bytes <= 0:
            raise ValueError("max_file_bytes must be positive")
        self.path = Path(path)
        self.commit_interval = commit_interval
        self.busy_timeout = busy_timeout
        self.max_file_bytes = max_file_bytes  # applied at each (re)connect: a test may raise it later
        self.max_backoff = max_backoff or min(30.0, max(1.0, 8 * commit_interval))
        self.registry = MigrationRegistry()
        self.wake = threading.Event()  # any stream's queue may set it to ask for an early commit
        self._streams: list[Stream] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._sequences: dict[str, int] = {}  # stream -> last committed number, owned by the thread
        self._commits = 0
        self._failed_attempts = 0
        self._consecutive_failures = 0
        self._last_commit_ms = 0.0
        self._last_error = ""
        self._failing = False
        self._disk_full = False
        self._faults = 0
        self._fault = ""
        self._idle = True  # the last commit found nothing to write
        self._deadline = math.inf  # set by stop(): the final drain gives up then

    # -- any thread ---------------------------------------------------------------

    @property
    def streams(self) -> tuple[Stream, ...]:
        """The streams in the order they are written."""
        return tuple(self._streams)

    def add(self, stream: Stream) -> None:
        """Attach a stream (before ``start``) and register its tables' migrations."""
        if self._thread is not None:
            raise RuntimeError("streams are added before the writer starts")
        if any(s.name == stream.name for s in self._streams):
            raise ValueError(f"a stream named {stream.name!r} writes to {self.path} already")
        if all(c.name != stream.component.name for c in self.registry.components):
            self.registry.register(stream.component)
        self._streams.append(stream)

    def stats(self) -> WriterStats:
        """The writer's counters as one snapshot."""
        with self._lock:
            return WriterStats(
                running=self._thread is not None and self._thread.is_alive(),
                commits=self._commits,
                failed_attempts=self._failed_attempts,
                last_commit_ms=self._last_commit_ms,
                last_error=self._last_error,
                failing=self._failing,
                disk_full=self._disk_full,
                retry_in_s=self._backoff() if self._failing else 0.0,
                faults=self._faults,
                fault=self._fault,
            )

    def start(self) -> None:
        """Create or migrate every stream's tables, then launch the thread.

        Blocking file IO done here on purpose, so that a bad path or a newer
        file fails at start-up: call it before the loop runs or through
        ``asyncio.to_thread``.
        """
        if self._thread is not None or self._stop.is_set():
            raise RuntimeError("a StoreWriter starts once, and not after stop()")
        self.registry.ensure(self.path, self.busy_timeout)
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Commit what is pending within ``timeout`` seconds and end the thread.

        Whatever cannot be committed by then (a backlog too large, a failing disk) is counted
        as dropped and logged by each stream with how many, which tags and what time range.
        Entries offered after the queues close are counted too. The wait goes past ``timeout``
        only by the one bounded commit in progress, so the counts stay true.
        """
        self._deadline = time.monotonic() + timeout
        for stream in self._streams:
            stream.close()
        self._stop.set()
        self.wake.set()
        if self._thread is None:
            self._abandon("the store never opened")
            return
        self._thread.join(timeout + STOP_GRACE)
        if self._thread.is_alive():
            pending = {stream.name: stream.stream_stats().pending for stream in self._streams}
            log.error(
                "store writer still committing %.0f s after the stop's deadline; not known to be"
                " committed: %s",
                STOP_GRACE,
                ", ".join(f"{name} {count}" for name, count in pending.items()),
            )
        else:
            self._abandon(self._last_error or "offered while stopping")  # the instant the queues closed

    # -- writer thread ------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    self._cycle()
                except Exception as error:  # the thread must outlive any error: report it and go on
                    self._record_fault(error)
                    self._stop.wait(self._backoff())
                else:
                    self._clear_fault()
            self._abandon(self._drain())
        finally:
            self._disconnect()

    def _drain(self) -> str:
        """At a stop: commit what the streams hold, a bounded commit at a time, until the deadline.

        Returns why something is left ("" when nothing is), for the streams to log with what they drop.
        """
        pause = threading.Event()  # never set: a bounded wait between two failed attempts
        first = True  # one final commit at least: a stream may hold back entries it does not count pending
        while first or self._pending() > 0:
            first = False
            if time.monotonic() >= self._deadline:
                why = self._last_error or "commits too slow for the backlog"
                return f"the stop's deadline passed ({why})"
            try:
                committed = self._commit(final=True)
            except Exception as error:
                self._record_fault(error)
                committed = False
            if committed and self._idle:
                return ""  # nothing more any stream would take
            if not committed:
                pause.wait(min(self._backoff(), max(0.0, self._deadline - time.monotonic())))
        return ""

    def _pending(self) -> int:
        return sum(stream.stream_stats().pending for stream in self._streams)

    def _cycle(self) -> None:
        """Wait for the interval (or a wake-up), commit, and do upkeep when the commit went through."""
        if self._failing:
            # Not the wake event: a full queue would otherwise retry a failing disk in a tight loop.
            self._stop.wait(self._backoff())
        else:
            self.wake.wait(self.commit_interval)
        self.wake.clear()
        if self._commit():
            self._upkeep()

    def _backoff(self) -> float:
        doublings = min(max(0, self._consecutive_failures - 1), 16)
        return min(self.commit_interval * 2**doublings, self.max_backoff)

    def _commit(self, final: bool = False) -> bool:
        """One transaction for every stream's batch; False when it failed and the batches wait."""
        active = [stream for stream in self._streams if stream.prepare(final)]
        self._idle = not active
        if not active:
            return True
        began = time.perf_counter()
        try:
            conn = self._conn or self._connect()
            conn.execute("BEGIN IMMEDIATE")
            try:
                block = SequenceBlock(conn, self._sequences)
                for stream in active:
                    stream.write(conn, block)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with suppress(sqlite3.Error):  # keep the original error, the one worth reporting
                        conn.execute("ROLLBACK")
                raise
        except Exception as error:  # any failure keeps the batches: the thread must live on
            for stream in active:
                stream.failed()
            self._record_failure(error, sum(s.stream_stats().pending for s in active))
            return False
        self._sequences.update(block.taken)
        for stream in active:
            stream.committed()
        self._record_success((time.perf_counter() - began) * 1000.0)
        return True

    def _upkeep(self) -> None:
        budget = self.commit_interval * UPKEEP_SHARE
        for stream in self._streams:
            stream.upkeep(self._connection, budget)

    def _connection(self) -> sqlite3.Connection:
        return self._conn or self._connect()

    def _connect(self) -> sqlite3.Connection:
        # Re-checking the schema on every (re)connect heals a file that was deleted or replaced.
        self.registry.ensure(self.path, self.busy_timeout)
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        # NORMAL in WAL mode never corrupts the file; a power cut loses at most the last commits.
        conn.execute("PRAGMA synchronous=NORMAL")
        # Every commit touches each tag's newest rows in four tables: at 100k tags SQLite's default 2 MB
        # page cache re-read and spilled them on every commit (measured: most of the writer's wall time).
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        if self.max_file_bytes is not None:
            page_size = conn.execute("PRAGMA page_size").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {max(1, self.max_file_bytes // page_size)}")
        self._sequences = dict(conn.execute("SELECT stream, last FROM store_sequences"))
        for stream in self._streams:
            stream.connected(conn)
        self._conn = conn
        return conn

    def _disconnect(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except sqlite3.Error as error:
                log.warning("store %s: closing the database failed: %s", self.path, error)
            self._conn = None

    def _record_success(self, elapsed_ms: float) -> None:
        recovered = self._failing
        with self._lock:
            self._commits += 1
            self._consecutive_failures = 0
            self._last_commit_ms = elapsed_ms
            self._failing = False
            self._disk_full = False
        if recovered:
            log.warning("store %s: writes recovered", self.path)

    def _record_failure(self, error: Exception, kept: int) -> None:
        disk_full = getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
        message = f"{type(error).__name__}: {error}"
        if disk_full:
            message = (
                f"history disk full: {self.path} cannot grow ({error}); pending rows are kept in memory"
                " and retried; free disk space or lower history retention/max_size"
            )
        # Only this writer's thread records failures, so reading the last error first and
        # publishing the new state after the log line is safe; the order means anyone who sees
        # the failure flag in stats() also finds its log record.
        with self._lock:
            repeated = self._failing and message == self._last_error
        if repeated:
            log.debug("store write still failing: %s", message)
        else:
            log.error("store write failed, %d rows kept for retry: %s", kept, message)
        with self._lock:
            self._failed_attempts += 1
            self._consecutive_failures += 1
            self._last_error = message
            self._failing = True
            self._disk_full = disk_full
        self._disconnect()  # a fresh connection next time: the old one may be unusable after an IO error

    def _record_fault(self, error: Exception) -> None:
        message = f"{type(error).__name__}: {error}"
        with self._lock:
            self._faults += 1
            self._consecutive_failures += 1
            repeated = message == self._fault
            self._fault = message
        if repeated:
            log.debug("store writer %s: still failing: %s", self.path, message)
        else:
            log.error("store writer %s: unexpected error, going on: %s", self.path, message, exc_info=error)

    def _clear_fault(self) -> None:
        if not self._fault:
            return
        with self._lock:
            self._fault = ""
            if not self._failing:
                self._consecutive_failures = 0
        log.warning("store writer %s: running clean again", self.path)

    def _abandon(self, reason: str) -> None:
        for stream in self._streams:
            stream.abandon(reason)  # each counts and logs its own loss
