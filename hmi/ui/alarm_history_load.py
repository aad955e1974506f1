"""Reads the alarm journal for the summary's history view on a worker thread, never the GUI's.

One query at a time on one worker; every request carries a generation and a result whose
generation is no longer the newest is dropped, so a slow old query never overwrites a newer one.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import sqlite3
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from hmi.alarms.history import HistoryQuery, read_events
from hmi.ui.futures import FutureRelay

MAX_HISTORY_ROWS = 5000
"""The newest events the view shows; a wider range is for ``hmi alarms history``."""


def newest_events(path: Path, query: HistoryQuery, limit: int = MAX_HISTORY_ROWS) -> list[dict[str, Any]]:
    """The newest ``limit`` journal events matching ``query``, newest first ([] with no journal yet)."""
    if not path.exists():
        return []
    newest: list[dict[str, Any]] = []
    for event in read_events(path, query):
        newest.append(event)
        if len(newest) > 2 * limit:  # bounded memory whatever the range
            del newest[:limit]
    return newest[-limit:][::-1]


class AlarmHistoryLoader(QObject):
    """Runs journal reads on one worker thread; results come back on the GUI thread."""

    sig_loaded = Signal(list)
    """list[dict]: the journal events of the newest request, newest first."""

    sig_failed = Signal(str)
    """(message): the newest request failed (a damaged or foreign file)."""

    def __init__(self, relay: FutureRelay, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._relay = relay
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="hmi-alarm-history"
        )
        self._generation = itertools.count(1)
        self._newest = 0
        self.path: Path | None = None
        self.loading = False

    def load(self, query: HistoryQuery) -> bool:
        """Read ``query`` from the journal in the background; False when no journal is known yet."""
        if self.path is None:
            return False
        generation = self._newest = next(self._generation)
        self.loading = True
        future = self._executor.submit(newest_events, self.path, query)

        def done(finished: concurrent.futures.Future[list[dict[str, Any]]]) -> None:
            if generation != self._newest:
                return
            self.loading = False
            try:
                self.sig_loaded.emit(finished.result())
            except (sqlite3.Error, OSError) as exc:
                self.sig_failed.emit(f"alarm history could not be read: {exc}")

        self._relay.watch(future, done)
        return True

    def close(self) -> None:
        """Stop the worker (a running read finishes on its own; its result is dropped)."""
        self._newest = -1
        self._executor.shutdown(wait=False, cancel_futures=True)
