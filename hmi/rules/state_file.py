"""The rules' state across a restart: a small SQLite file beside the project's history.

One row per key of ``RulesEngine.persistent_state()`` (a counter, a totaliser, a rule), its value as
JSON. The station writes the rows that changed at the history's commit cadence, each save one
transaction, so a crash (SIGKILL included) loses at most the last interval. Blocking: call it off the
runtime loop (``asyncio.to_thread``); one save at a time.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_SCHEMA = "CREATE TABLE IF NOT EXISTS rule_state (key TEXT PRIMARY KEY, value TEXT NOT NULL, saved REAL)"


def rule_state_path(history_path: Path) -> Path:
    """The rules' state file of a project: a file of its own beside the history database."""
    return history_path.with_name(f"{history_path.stem}-rules.db")


class RuleStateFile:
    """Reads and writes the rules' state file (one connection, used by one thread at a time)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=5.0, check_same_thread=False, isolation_level=None)
            # WAL: a commit is one append, and a killed process leaves every committed save intact.
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
            self._conn = conn
        return self._conn

    def load(self) -> dict[str, dict[str, Any]]:
        """Every saved entry (empty when there is no file yet); a row that is not JSON is skipped."""
        if not self.path.exists():
            return {}
        with self._lock:
            rows = self._connection().execute("SELECT key, value FROM rule_state").fetchall()
        loaded: dict[str, dict[str, Any]] = {}
        for key, text in rows:
            try:
                value = json.loads(text)
            except ValueError:
                continue
            if isinstance(value, dict):
                loaded[key] = value
        return loaded

    def save(self, changed: Mapping[str, Mapping[str, Any]], now: float) -> None:
        """Write ``changed`` entries in one transaction."""
        rows = [(key, json.dumps(value), now) for key, value in changed.items()]
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    "INSERT INTO rule_state (key, value, saved) VALUES (?, ?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value, saved = excluded.saved",
                    rows,
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close the connection (a later call opens it again)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
