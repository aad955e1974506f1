"""Operator activity for the idle log-off: key presses and mouse input anywhere in the application.

One event filter on the QApplication sees every input event before its widget does. It only
compares a time and, at most once per ``interval`` seconds, tells the session: cheap enough for
every mouse move.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject

ACTIVITY_EVENTS = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseButtonDblClick,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
    }
)
"""Input an operator makes at the workstation (key releases and hover follow these, so they add nothing)."""


class ActivityFilter(QObject):
    """Calls ``on_activity`` when the operator uses keys or mouse, at most once per ``interval`` seconds."""

    def __init__(
        self,
        on_activity: Callable[[], None],
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._on_activity = on_activity
        self._interval = interval
        self._clock = clock
        self._last = float("-inf")
        self.noticed = 0
        """How many times the session was told (for tests and diagnostics)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Note the input and let it through unchanged."""
        if event.type() in ACTIVITY_EVENTS:
            now = self._clock()
            if now - self._last >= self._interval:
                self._last = now
                self.noticed += 1
                self._on_activity()
        return False
