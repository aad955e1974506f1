"""Deliver the result of work done on another thread back to the GUI thread."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

Callback = Callable[[concurrent.futures.Future[Any]], None]


class FutureRelay(QObject):
    """Calls a callback on the GUI thread when a future finishes on a runtime or worker thread."""

    sig_done = Signal(object, object)
    """(callback, future): emitted from the finishing thread; Qt queues it to the GUI thread."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.sig_done.connect(self._deliver)
        self._alive = True

    def watch(self, future: concurrent.futures.Future[Any], callback: Callback) -> None:
        """Call ``callback(future)`` on this object's thread once ``future`` is done."""
        future.add_done_callback(lambda done: self._alive and self.sig_done.emit(callback, done))

    def close(self) -> None:
        """Drop results that arrive after the window closed."""
        self._alive = False

    @Slot(object, object)
    def _deliver(self, callback: Callback, future: concurrent.futures.Future[Any]) -> None:
        callback(future)
