"""Loads trend data from the history file in a worker: debounced, one query at a time, stale results dropped.

Panning fires a range change per mouse move; only the range the operator
settles on (``DEBOUNCE_MS`` after the last change) is queried. Every request
gets a generation number; a result whose generation is no longer the newest
is discarded, so a slow query for an old range never overwrites a newer one.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from hmi.historian.reader import HistoryReader
from hmi.ui.futures import FutureRelay

log = logging.getLogger(__name__)

DEBOUNCE_MS = 150
T = TypeVar("T")
Columns = tuple[np.ndarray, np.ndarray, np.ndarray]
"""ts (epoch s, float64), value (float64, NaN gaps), quality (int8)."""


@dataclass(frozen=True, slots=True)
class RangeRequest:
    """What to load: pens over start–end with at most ``max_points`` per pen; ``live`` says where it goes."""

    pens: tuple[str, ...]
    start: float
    end: float
    max_points: int
    live: bool = False


@dataclass(frozen=True, slots=True)
class LoadedRange:
    """A finished query: the request, and the columns of each pen the history file knows."""

    request: RangeRequest
    series: dict[str, Columns]


def read_range(reader: HistoryReader, request: RangeRequest) -> dict[str, Columns]:
    """Each pen's columns, downsampled by the historian when it can (``plot_series``), else raw."""
    plot_series = getattr(reader, "plot_series", None)
    known = set(reader.tag_names())
    series: dict[str, Columns] = {}
    for pen in request.pens:
        if pen not in known:
            continue
        if plot_series is not None:
            series[pen] = plot_series(pen, request.start, request.end, request.max_points)
        else:
            series[pen] = reader.arrays(pen, request.start, request.end)
    return series


class HistoryLoader(QObject):
    """Runs range queries on one worker thread and hands the newest result back on the GUI thread."""

    sig_loaded = Signal(object)
    """(LoadedRange): the newest requested range arrived."""

    sig_failed = Signal(str)
    """(message): the newest query failed."""

    def __init__(self, relay: FutureRelay, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._relay = relay
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="hmi-trend")
        self._reader: HistoryReader | None = None
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self._load_pending)
        self._pending: RangeRequest | None = None
        self._running: concurrent.futures.Future[dict[str, Columns]] | None = None
        self.generation = 0
        self.queries = 0  # queries started (tests count them)
        self.stale_dropped = 0  # results that arrived after a newer request

    @property
    def history_path(self) -> Path | None:
        """The history file queried, or None before it is known."""
        return self._reader.path if self._reader is not None else None

    @property
    def reader(self) -> HistoryReader | None:
        """The reader of the history file (its queries must run on the worker, see ``run``)."""
        return self._reader

    def set_history_path(self, path: Path | None) -> None:
        """Query this file from now on (None: nothing to query)."""
        self._reader = HistoryReader(path) if path is not None else None

    @property
    def debouncing(self) -> bool:
        """True while a request waits for the view to settle."""
        return self._debounce.isActive()

    def request(self, request: RangeRequest) -> None:
        """Load ``request`` once no newer one came for ``DEBOUNCE_MS``."""
        self._pending = request
        self.generation += 1  # a result for an older view is stale from now on
        self._debounce.start()

    def load_now(self, request: RangeRequest) -> None:
        """Load ``request`` at once (a preset, the first backfill), superseding any pending one."""
        self._debounce.stop()
        self._pending = request
        self.generation += 1
        self._load_pending()

    def run(self, function: Callable[..., T], *args: object) -> concurrent.futures.Future[T]:
        """Run another history job (an export) on the same worker, after the queries before it."""
        return self._executor.submit(function, *args)

    def close(self) -> None:
        """Drop what is pending and stop the worker (waits for a running query to finish)."""
        self._debounce.stop()
        self._pending = None
        self.generation += 1
        self._executor.shutdown(wait=True, cancel_futures=True)

    def _load_pending(self) -> None:
        request, self._pending = self._pending, None
        if request is None or self._reader is None or not self._reader.path.exists():
            return
        if self._running is not None:
            self._running.cancel()  # not started yet: never run it; running: its result will be stale
        generation, reader = self.generation, self._reader
        self.queries += 1
        self._running = future = self._executor.submit(read_range, reader, request)
        self._relay.watch(future, lambda done: self._on_done(generation, request, done))

    def _on_done(
        self, generation: int, request: RangeRequest, future: concurrent.futures.Future[dict[str, Columns]]
    ) -> None:
        if future.cancelled():
            return
        if generation != self.generation:
            self.stale_dropped += 1
            return
        try:
            series = future.result()
        except Exception as exc:
            log.exception("trend history query failed")
            self.sig_failed.emit(f"history query failed: {exc}")
            return
        self.sig_loaded.emit(LoadedRange(request, series))
