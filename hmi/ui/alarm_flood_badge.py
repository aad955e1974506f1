"""The banner's flood badge: more than 10 alarms raised in 10 minutes (EEMUA 191 / ISA-18.2).

A GUI-side counter of the raise events the bridge already hands over; the alarm system's
own flood analysis (KPIs, reports) lives with the runtime. A slow timer lets a flood end by
itself when no event comes.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QWidget

from hmi.alarms.engine import AlarmEvent, EventKind
from hmi.ui.panels import SignalLinks

if TYPE_CHECKING:
    from hmi.ui.panels import PanelContext

FLOOD_WINDOW_S = 600.0
FLOOD_THRESHOLD = 10
"""A flood is *more than* this many alarms raised within ``FLOOD_WINDOW_S``."""
RECHECK_MS = 5000


class FloodCounter:
    """Raise times in a sliding window; Qt-free."""

    def __init__(self, window_s: float = FLOOD_WINDOW_S, threshold: int = FLOOD_THRESHOLD) -> None:
        self.window_s = window_s
        self.threshold = threshold
        self._raised: deque[float] = deque()

    def add(self, events: Iterable[AlarmEvent]) -> None:
        """Count the raise events among ``events``."""
        self._raised.extend(e.ts for e in events if e.kind is EventKind.RAISED)

    def count(self, now: float) -> int:
        """Alarms raised in the window ending at ``now`` (older ones are forgotten)."""
        while self._raised and self._raised[0] < now - self.window_s:
            self._raised.popleft()
        return len(self._raised)

    def flooding(self, now: float) -> bool:
        """True during a flood."""
        return self.count(now) > self.threshold


class FloodBadge(QLabel):
    """ "ALARM FLOOD: N in 10 min" in the banner while a flood lasts; hidden otherwise."""

    def __init__(self, parent: QWidget | None = None, clock: Callable[[], float] = time.time) -> None:
        super().__init__(parent)
        self.setObjectName("alarm-flood-badge")
        self.counter = FloodCounter()
        self.clock = clock
        self.flooding = False
        self._recheck = QTimer(self)
        self._recheck.setInterval(RECHECK_MS)
        self._recheck.timeout.connect(self.refresh)
        self._links = SignalLinks()
        self.setVisible(False)

    def attach(self, context: PanelContext) -> None:
        """Count the bridge's alarm events."""
        self._links.connect(context.bridge.sig_alarm_events, self.add_events)

    def detach(self) -> None:
        """Undo ``attach``."""
        self._links.disconnect_all()
        self._recheck.stop()

    def add_events(self, events: list[AlarmEvent]) -> None:
        """A frame's alarm events."""
        self.counter.add(events)
        self.refresh()

    def refresh(self) -> None:
        """Show or hide the badge for the window ending now."""
        count = self.counter.count(self.clock())
        self.flooding = count > self.counter.threshold
        minutes = round(self.counter.window_s / 60)
        self.setText(f"ALARM FLOOD: {count} in {minutes} min" if self.flooding else "")
        self.setToolTip(
            f"More than {self.counter.threshold} alarms raised in {minutes} minutes" if self.flooding else ""
        )
        self.setVisible(self.flooding)
        if count and not self._recheck.isActive():
            self._recheck.start()
        elif not count:
            self._recheck.stop()
