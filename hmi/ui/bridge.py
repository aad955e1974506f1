"""The one bridge from the runtime thread to the GUI: latest sample per tag, handed over at a frame rate.

The runtime calls ``offer_*`` on its own loop thread; they only store the newest
item under a lock. A timer on the GUI thread collects what changed since the last
frame and emits it once. However fast the PLC changes, the GUI sees at most one
update per tag per frame and never one signal per sample.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QTimer, Signal

from hmi.alarms.engine import AlarmEvent, AlarmStatus
from hmi.model import ConnectionStatus, Sample

FRAME_RATE_HZ = 15


class RuntimeBridge(QObject):
    """Coalesces runtime updates and emits them on the GUI thread at ``FRAME_RATE_HZ``."""

    sig_values_changed = Signal(dict)
    """dict[str, Sample]: the latest sample of each tag that changed since the last frame."""

    sig_status_changed = Signal(dict)
    """dict[str, ConnectionStatus]: connections whose state changed since the last frame."""

    sig_alarms_changed = Signal(list)
    """list[AlarmStatus]: snapshot of the alarms to show, most important first."""

    sig_alarm_event = Signal(object)
    """AlarmEvent: each alarm event, in order (for the journal view and sounds)."""

    def __init__(self, parent: QObject | None = None, frame_rate_hz: float = FRAME_RATE_HZ) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._values: dict[str, Sample] = {}
        self._statuses: dict[str, ConnectionStatus] = {}
        self._alarms: list[AlarmStatus] | None = None
        self._events: list[AlarmEvent] = []
        self.frames = 0
        self.samples_offered = 0
        self._timer = QTimer(self)
        self._timer.setInterval(round(1000 / frame_rate_hz))
        self._timer.timeout.connect(self.flush)

    def start(self) -> None:
        """Start emitting frames."""
        self._timer.start()

    def stop(self) -> None:
        """Stop emitting frames."""
        self._timer.stop()

    # -- runtime thread ----------------------------------------------------------
    def offer_sample(self, tag: str, sample: Sample) -> None:
        """Runtime listener: remember the newest sample of ``tag``."""
        with self._lock:
            self._values[tag] = sample
            self.samples_offered += 1

    def offer_status(self, status: ConnectionStatus) -> None:
        """Runtime status listener."""
        with self._lock:
            self._statuses[status.name] = status

    def offer_alarms(self, event: AlarmEvent, shown: list[AlarmStatus]) -> None:
        """Alarm listener: the event and a snapshot of the shown alarms taken on the runtime thread."""
        with self._lock:
            self._alarms = shown
            self._events.append(event)

    # -- GUI thread --------------------------------------------------------------
    def flush(self) -> None:
        """Emit what changed since the last frame (called by the frame timer)."""
        with self._lock:
            values, self._values = self._values, {}
            statuses, self._statuses = self._statuses, {}
            alarms, self._alarms = self._alarms, None
            events, self._events = self._events, []
        self.frames += 1
        if statuses:
            self.sig_status_changed.emit(statuses)
        if values:
            self.sig_values_changed.emit(values)
        for event in events:
            self.sig_alarm_event.emit(event)
        if alarms is not None:
            self.sig_alarms_changed.emit(alarms)
