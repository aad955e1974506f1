"""Run Python's cyclic garbage collector on the GUI thread only.

Automatic collection runs in whichever thread happens to allocate when a threshold
trips: the runtime, the historian, an asyncua worker. When that collection frees a
cycle holding Qt objects, PySide defers their destruction to the GUI thread, and a
destructor there can then wait on a Qt lock the collecting thread holds while that
thread waits for the GIL: the whole process freezes (seen in the test suite). Collecting
on a GUI timer instead keeps every Qt destruction on the GUI thread, in order.

Still needed with :class:`hmi.ui.futures.FutureRelay` holding nothing of the GUI on the
worker's side: the relay was one source of Qt garbage reachable from other threads, but
any cycle through a Qt object (a panel and a lambda connected to its signal, a pyqtgraph
item and its view) is freed by whichever thread trips the next automatic collection;
``tests/test_futures.py`` shows a worker's allocations freeing a GUI thread's QObject.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

COLLECT_EVERY_MS = 500


class MainThreadGarbageCollector(QObject):
    """Disables automatic collection and collects, generation by generation, from a GUI timer."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        self._was_enabled = gc.isenabled()
        self._timer = QTimer(self)
        self._timer.setInterval(COLLECT_EVERY_MS)
        self._timer.timeout.connect(self.collect_due)

    def start(self) -> None:
        """Take over collection."""
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        """Collect once more and give collection back to the interpreter."""
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()

    def collect_due(self) -> None:
        """Collect the generations whose allocation counts passed their thresholds, as Python would."""
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > self._thresholds[generation]:
                gc.collect(generation)
                return
