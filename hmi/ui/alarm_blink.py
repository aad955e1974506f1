"""The one blink rhythm of the alarm views: about 1 Hz, running only while something blinks.

The banner and the marks on the graphics share one clock so that they blink together;
the timer stops when nothing is unacknowledged (no idle ticks, no busy loop).
"""

from __future__ import annotations

from collections.abc import Hashable

from PySide6.QtCore import QObject, QTimer, Signal

BLINK_HALF_PERIOD_MS = 500
"""On for half a second, off for half a second: 1 Hz, well under the 3 Hz flash limit."""


class BlinkClock(QObject):
    """Emits the blink phase on every half period while at least one owner needs blinking."""

    sig_phase = Signal(bool)
    """(on): the new phase; ``True`` when the clock stops, so nothing stays hollow."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.on = True
        self._needed: set[Hashable] = set()
        self._timer = QTimer(self)
        self._timer.setInterval(BLINK_HALF_PERIOD_MS)
        self._timer.timeout.connect(self.tick)

    @property
    def running(self) -> bool:
        """True while the clock ticks."""
        return self._timer.isActive()

    def need(self, owner: Hashable, blinking: bool) -> None:
        """``owner`` has something to blink (or no longer has); the timer runs while anyone does."""
        if blinking:
            self._needed.add(owner)
        else:
            self._needed.discard(owner)
        if self._needed and not self._timer.isActive():
            self._timer.start()
        elif not self._needed and self._timer.isActive():
            self._timer.stop()
            self.on = True
            self.sig_phase.emit(True)

    def tick(self) -> None:
        """Flip the phase (the timer calls it; tests may call it to step the rhythm)."""
        self.on = not self.on
        self.sig_phase.emit(self.on)

    def stop(self) -> None:
        """Stop for good (on detach)."""
        self._needed.clear()
        self._timer.stop()
