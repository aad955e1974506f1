"""The history writer: a cheap hand-off from the runtime loop, batched commits on its own thread.

Overflow policy: at most ``max_pending`` samples wait for the next commit. When
one more arrives, the oldest waiting sample is dropped and counted in
``stats()['dropped']``: the newest data matters most to an operator, and a
writer that cannot keep up must never grow without bound. A batch whose commit
failed stays waiting (inside the same bound) and is retried every interval.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path
from typing import Any

from hmi.historian.schema import SampleRow, ensure_schema, open_for_writing, sample_rows
from hmi.model import Sample

log = logging.getLogger(__name__)

THREAD_NAME = "hmi-historian"

_INSERT_SAMPLE = "INSERT OR REPLACE INTO samples (tag_id, ts, value, quality, reason) VALUES (?, ?, ?, ?, ?)"


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
    ) -> None:
        if commit_interval <= 0 or max_pending <= 0:
            raise ValueError("commit_interval and max_pending must be positive")
        self.path = Path(path)
        self.commit_interval = commit_interval
        self.max_pending = max_pending
        self.busy_timeout = busy_timeout
        self._lock = threading.Lock()
        self._pending: deque[tuple[str, Sample]] = deque(maxlen=max_pending)
        # A full queue wakes the thread early rather than waiting out the interval and dropping.
        self._early_flush_at = max(1, max_pending // 2)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._accepting = True
        self._thread: threading.Thread | None = None
        # Owned by the writer thread; the counters below are read under the lock.
        self._conn: sqlite3.Connection | None = None
        self._tag_ids: dict[str, int] = {}
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

    # -- any thread ---------------------------------------------------------------

    def append(self, tag: str, sample: Sample) -> None:
        """Queue one sample for the next commit; never blocks on IO."""
        with self._lock:
            if not self._accepting:
                self._dropped += 1
                return
            if len(self._pending) == self.max_pending:
                self._dropped += 1  # the deque's maxlen drops the oldest on this append
            self._pending.append((tag, sample))
            if len(self._pending) == self._early_flush_at:
                self._wake.set()

    def extend(self, samples: Iterable[tuple[str, Sample]]) -> None:
        """Queue many (tag, sample) pairs under one lock acquisition."""
        items = list(samples)
        with self._lock:
            if not self._accepting:
                self._dropped += len(items)
                return
            overflow = len(self._pending) + len(items) - self.max_pending
            if overflow > 0:
                self._dropped += overflow
            self._pending.extend(items)
            if len(self._pending) >= self._early_flush_at:
                self._wake.set()

    def stats(self) -> dict[str, Any]:
        """Counters for the status bar and the logs, as one consistent snapshot."""
        with self._lock:
            return {
                "written": self._written,
                "dropped": self._dropped,
                "rejected": self._rejected,
                "pending": len(self._pending) + self._in_flight,
                "commits": self._commits,
                "failed_attempts": self._failed_attempts,
                "last_commit_ms": self._last_commit_ms,
                "last_error": self._last_error,
                "failing": self._failing,
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
        with self._lock:
            self._accepting = False
        self._stop.set()
        self._wake.set()
        if self._thread is None:
            self._give_up_on_pending()
            return
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("history writer still committing after %.1f s; leaving it to finish", timeout)

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
                self._commit_pending()
            if not self._commit_pending():
                self._give_up_on_pending()
        finally:
            self._disconnect()

    def _take_batch(self) -> list[tuple[str, Sample]]:
        with self._lock:
            taken, self._pending = self._pending, deque(maxlen=self.max_pending)
            batch, self._retry = self._retry, []
            # A failed batch and the new samples share one bound; the oldest go first.
            overflow = max(0, len(batch) + len(taken) - self.max_pending)
            self._dropped += overflow
            self._in_flight = len(batch) + len(taken) - overflow
        # Copied outside the lock: nobody else holds `taken` now, and appends must not wait for this.
        batch.extend(taken)
        del batch[:overflow]
        return batch

    def _commit_pending(self) -> bool:
        """One transaction for everything waiting; False when it failed and the batch waits for a retry."""
        batch = self._take_batch()
        if not batch:
            return True
        began = time.perf_counter()
        try:
            conn = self._conn or self._connect()
            conn.execute("BEGIN IMMEDIATE")
            try:
                new_ids = self._insert_new_tags(conn, batch)
                rows, rejected = self._rows(batch, new_ids)
                conn.executemany(_INSERT_SAMPLE, rows)
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
        self._record_success(len(rows), rejected, (time.perf_counter() - began) * 1000.0)
        return True

    def _insert_new_tags(self, conn: sqlite3.Connection, batch: list[tuple[str, Sample]]) -> dict[str, int]:
        """Insert tag names not yet in the file, inside the open transaction; returns their ids."""
        known = self._tag_ids
        names = {tag for tag, _ in batch if tag not in known}
        if not names:
            return {}
        # Ids are cached only after COMMIT, so a rolled-back batch never leaves a stale id behind.
        next_id = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM tags").fetchone()[0]
        new_ids = {name: next_id + offset for offset, name in enumerate(sorted(names))}
        conn.executemany("INSERT INTO tags (id, name) VALUES (?, ?)", [(i, n) for n, i in new_ids.items()])
        return new_ids

    def _rows(self, batch: list[tuple[str, Sample]], new_ids: dict[str, int]) -> tuple[list[SampleRow], int]:
        ids = self._tag_ids | new_ids if new_ids else self._tag_ids
        try:
            return sample_rows(batch, ids), 0
        except (TypeError, ValueError, OverflowError, KeyError):
            pass
        # Slow path only when some sample cannot be stored (NaN or absurd timestamp, foreign quality).
        rows: list[SampleRow] = []
        first_refusal = ""
        for tag, sample in batch:
            try:
                rows.extend(sample_rows([(tag, sample)], ids))
            except (TypeError, ValueError, OverflowError, KeyError) as error:
                first_refusal = first_refusal or f"{tag} at ts={sample.ts!r}: {error}"
        rejected = len(batch) - len(rows)
        log.warning("history: rejected %d samples that cannot be stored, first %s", rejected, first_refusal)
        return rows, rejected

    def _connect(self) -> sqlite3.Connection:
        # Re-checking the schema on every (re)connect heals a file that was deleted or replaced.
        ensure_schema(self.path, self.busy_timeout)
        conn = open_for_writing(self.path, self.busy_timeout)
        self._tag_ids = {name: tag_id for tag_id, name in conn.execute("SELECT id, name FROM tags")}
        self._conn = conn
        return conn

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
        if recovered:
            log.warning("history writes recovered; %d samples committed", written)

    def _record_failure(self, batch: list[tuple[str, Sample]], error: Exception) -> None:
        message = f"{type(error).__name__}: {error}"
        with self._lock:
            self._retry = batch
            self._failed_attempts += 1
            repeated = self._failing and message == self._last_error
            self._last_error = message
            self._failing = True
        if repeated:
            log.debug("history write still failing: %s", message)
        else:
            log.error("history write failed, %d samples kept for retry: %s", len(batch), message)
        self._disconnect()  # a fresh connection next time: the old one may be unusable after an IO error

    def _give_up_on_pending(self) -> None:
        with self._lock:
            lost = len(self._retry) + len(self._pending)
            self._retry = []
            self._pending.clear()
            self._in_flight = 0
            self._dropped += lost
        if lost:
            log.error(
                "history writer stopped with %d samples not committed: %s",
                lost,
                self._last_error or "never started",
            )
