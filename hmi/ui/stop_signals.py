"""Close the window gracefully on SIGINT/SIGTERM, so that a service stop still flushes history.

Python runs signal handlers only between bytecodes, and Qt's event loop runs in C++; the
wake-up fd makes the signal readable on a socket that a QSocketNotifier watches.
"""

from __future__ import annotations

import contextlib
import signal
import socket
from collections.abc import Callable

from PySide6.QtCore import QObject, QSocketNotifier


class StopSignals(QObject):
    """Calls ``on_stop`` on the GUI thread when the process receives SIGINT or SIGTERM."""

    def __init__(self, on_stop: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno())
        self._previous = {sig: signal.signal(sig, _ignore_in_python) for sig in _stop_signals()}
        self._notifier = QSocketNotifier(self._reader.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._on_readable)
        self._on_stop = on_stop

    def _on_readable(self) -> None:
        with contextlib.suppress(BlockingIOError):
            self._reader.recv(64)
        self._on_stop()

    def restore(self) -> None:
        """Put the previous handlers back and close the sockets."""
        self._notifier.setEnabled(False)
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(self._previous_fd)
        self._reader.close()
        self._writer.close()


def _stop_signals() -> list[signal.Signals]:
    return [signal.SIGINT, signal.SIGTERM]


def _ignore_in_python(_signum: int, _frame: object) -> None:
    """The wake-up fd does the work; the Python-level handler only keeps the default from killing us."""
