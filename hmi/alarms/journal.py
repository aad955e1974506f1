"""The alarm journal: every alarm event appended to SQLite by a writer thread, never on the loop."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

from hmi.alarms.engine import AlarmEvent, AlarmStatus

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alarm_events (
    ts INTEGER NOT NULL,          -- microseconds since the epoch, UTC
    alarm TEXT NOT NULL,
    kind TEXT NOT NULL,           -- raised | cleared | acknowledged | quality bad | quality good
    state TEXT NOT NULL,
    priority TEXT NOT NULL,
    value,
    message TEXT NOT NULL,
    user TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS alarm_events_ts ON alarm_events (ts);
"""


class AlarmJournal:
    """Appends alarm events to the ``alarm_events`` table of the history database."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._pending: list[AlarmEvent] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="hmi-alarm-journal", daemon=True)
        self.written = 0
        self.last_error = ""

    def start(self) -> None:
        """Create the table if needed and start the writer thread."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._thread.start()

    def on_event(self, event: AlarmEvent, _status: AlarmStatus) -> None:
        """Alarm engine listener: queue the event (non-blocking)."""
        with self._lock:
            self._pending.append(event)
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Write what is pending and join the thread."""
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        db = sqlite3.connect(self.path, timeout=10)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            while True:
                self._wake.wait()
                self._wake.clear()
                self._flush(db)
                if self._stopping:
                    self._flush(db)
                    return
        finally:
            db.close()

    def _flush(self, db: sqlite3.Connection) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return
        rows = [
            (
                round(e.ts * 1e6),
                e.alarm,
                e.kind.value,
                e.state.value,
                e.priority,
                _storable(e.value),
                e.message,
                e.user,
            )
            for e in batch
        ]
        try:
            with db:
                db.executemany("INSERT INTO alarm_events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            self.written += len(rows)
        except sqlite3.Error as exc:
            # Keep the events for the next wake-up rather than lose them.
            self.last_error = str(exc)
            log.error("alarm journal %s: %s", self.path, exc)
            with self._lock:
                self._pending[:0] = batch


def _storable(value: object) -> object:
    return value if isinstance(value, int | float | str) or value is None else str(value)
