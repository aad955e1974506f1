"""The one bridge from the runtime thread to the GUI: latest sample per tag, handed over at a frame rate.

The runtime calls ``offer_*`` on its own loop thread; they only store the newest
item under a lock. A timer on the GUI thread collects what changed since the last
frame and emits it once. However fast the PLC changes, the GUI sees at most one
update per tag per frame and never one signal per sample.

Everything held between frames is bounded, even while the GUI thread stalls: values and
connection states are coalesced per tag and per connection, the alarm summary is one
snapshot (the newest replaces the older), and alarm events wait in a queue of at most
``MAX_PENDING_ALARM_EVENTS`` that keeps the newest and counts what it dropped
(``OverflowPolicy.KEEP_NEWEST``); the snapshot still carries the truth about every alarm.

Only the tags the GUI shows cross (:meth:`RuntimeBridge.show_only`, fed by the panels through
:class:`hmi.ui.panels.PanelContext`): a sample of any other tag costs the runtime loop one set
lookup and is not kept. A tag newly shown is read at once from the runtime's current-value table
(:meth:`RuntimeBridge.follow_table`), so a screen never waits blank for the next change. That read
needs no lock because the runtime stores a sample in its table *before* it notifies listeners:
whichever way the two threads interleave, a change is either in the table when the GUI reads it or
offered after the tag joined the shown set.
"""

from __future__ import annotations

import enum
import threading
from collections import deque
from collections.abc import Mapping, Sequence

from PySide6.QtCore import QObject, QTimer, Signal

from hmi.alarms.engine import AlarmEvent, AlarmStatus
from hmi.model import ConnectionStatus, Sample

FRAME_RATE_HZ = 15
MAX_PENDING_ALARM_EVENTS = 1000


class OverflowPolicy(enum.StrEnum):
    """What a bounded queue does when it is full."""

    KEEP_NEWEST = "keep newest"
    """Drop the oldest item and count it."""


class RuntimeBridge(QObject):
    """Coalesces runtime updates and emits them on the GUI thread at ``FRAME_RATE_HZ``."""

    sig_values_changed = Signal(dict)
    """dict[str, Sample]: the latest sample of each tag that changed since the last frame."""

    sig_status_changed = Signal(dict)
    """dict[str, ConnectionStatus]: connections whose state changed since the last frame."""

    sig_alarms_changed = Signal(list)
    """list[AlarmStatus]: snapshot of the alarms to show, most important first."""

    sig_alarm_events = Signal(list)
    """list[AlarmEvent]: the alarm events since the last frame, oldest first (for "new alarm" cues)."""

    alarm_event_policy = OverflowPolicy.KEEP_NEWEST

    def __init__(
        self,
        parent: QObject | None = None,
        frame_rate_hz: float = FRAME_RATE_HZ,
        max_pending_alarm_events: int = MAX_PENDING_ALARM_EVENTS,
    ) -> None:
        super().__init__(parent)
        self.frame_s = 1 / frame_rate_hz
        self._lock = threading.Lock()
        self._values: dict[str, Sample] = {}
        self._shown: frozenset[str] | None = None  # None: carry every tag (a bridge no window filters)
        self._table: Mapping[str, Sample] | None = None
        self._statuses: dict[str, ConnectionStatus] = {}
        self._alarms: list[AlarmStatus] | None = None
        self._events: deque[AlarmEvent] = deque(maxlen=max_pending_alarm_events)
        self.frames = 0
        self.samples_offered = 0
        self.samples_not_shown = 0
        """Samples offered for a tag no panel shows: skipped with one set lookup, never kept."""
        self.alarm_events_offered = 0
        self.alarm_events_dropped = 0
        """Alarm events dropped (oldest first) because the GUI did not take them in time."""
        self._timer = QTimer(self)
        self._timer.setInterval(round(1000 / frame_rate_hz))
        self._timer.timeout.connect(self.flush)

    def start(self) -> None:
        """Start emitting frames."""
        self._timer.start()

    def stop(self) -> None:
        """Stop emitting frames."""
        self._timer.stop()

    @property
    def shown(self) -> frozenset[str] | None:
        """The tags carried to the GUI; None while every tag is (no window declared what it shows)."""
        return self._shown

    # -- runtime thread ----------------------------------------------------------
    def offer_sample(self, tag: str, sample: Sample) -> None:
        """Runtime listener: remember the newest sample of ``tag`` if the GUI shows it."""
        # Counters are written by the runtime thread only; the set is swapped whole by the GUI thread.
        self.samples_offered += 1
        shown = self._shown
        if shown is not None and tag not in shown:
            self.samples_not_shown += 1
            return
        with self._lock:
            if shown is self._shown or self._shown is None or tag in self._shown:  # not dropped meanwhile
                self._values[tag] = sample

    def offer_samples(self, samples: Mapping[str, Sample]) -> None:
        """A batch of changes (tag → newest sample): one set intersection and one lock for the lot."""
        self.samples_offered += len(samples)
        shown = self._shown
        if shown is None:
            with self._lock:
                self._values.update(samples)
            return
        wanted = samples.keys() & shown
        self.samples_not_shown += len(samples) - len(wanted)
        if wanted:
            with self._lock:
                if shown is not self._shown:  # the GUI changed the set meanwhile: keep only what it shows now
                    wanted &= self._shown if self._shown is not None else wanted
                for tag in wanted:
                    self._values[tag] = samples[tag]

    def offer_batch(self, batch: Sequence[tuple[str, Sample]]) -> None:
        """Runtime batch listener: the (tag, sample) pairs of one read, the newest per tag kept."""
        self.offer_samples(dict(batch))

    def follow_table(self, table: Mapping[str, Sample]) -> None:
        """Read newly shown tags from ``table`` (the runtime's current values); the shown ones go out now."""
        self._table = table
        shown = self._shown
        current = _read(table, shown if shown is not None else ())
        with self._lock:
            for tag, sample in current.items():
                self._values.setdefault(tag, sample)  # a change offered meanwhile is newer: keep it

    def offer_status(self, status: ConnectionStatus) -> None:
        """Runtime status listener."""
        with self._lock:
            self._statuses[status.name] = status

    def offer_alarm_event(self, event: AlarmEvent) -> None:
        """Queue one alarm event; when the queue is full the oldest is dropped and counted."""
        with self._lock:
            self.alarm_events_offered += 1
            if len(self._events) == self._events.maxlen:
                self.alarm_events_dropped += 1
            self._events.append(event)

    def offer_alarm_snapshot(self, shown: list[AlarmStatus]) -> None:
        """The alarms to show, copied on the runtime thread; replaces a snapshot not yet emitted."""
        with self._lock:
            self._alarms = shown

    @property
    def pending_alarm_events(self) -> int:
        """Alarm events waiting for the next frame (never more than the queue's bound)."""
        with self._lock:
            return len(self._events)

    # -- GUI thread --------------------------------------------------------------
    def show_only(self, tags: frozenset[str]) -> dict[str, Sample]:
        """Carry only ``tags`` from now on; returns the current sample of each tag newly carried.

        The set is swapped before the table is read (see the module docstring for why that order
        loses no change); pending samples of tags no longer shown are dropped, not delivered late.
        """
        before = self._shown
        self._shown = tags
        added = tags if before is None else tags - before
        if before is None or before - tags:
            with self._lock:
                self._values = {tag: s for tag, s in self._values.items() if tag in tags}
        table = self._table
        return _read(table, added) if table is not None else {}

    def flush(self) -> None:
        """Emit what changed since the last frame (called by the frame timer)."""
        with self._lock:
            values, self._values = self._values, {}
            statuses, self._statuses = self._statuses, {}
            alarms, self._alarms = self._alarms, None
            events = list(self._events)
            self._events.clear()
        self.frames += 1
        if statuses:
            self.sig_status_changed.emit(statuses)
        if values:
            self.sig_values_changed.emit(values)
        if events:
            self.sig_alarm_events.emit(events)
        if alarms is not None:
            self.sig_alarms_changed.emit(alarms)


def _read(table: Mapping[str, Sample], tags: frozenset[str] | tuple[()]) -> dict[str, Sample]:
    """The samples ``table`` holds for ``tags`` (a tag it does not know is left out)."""
    found = {}
    for tag in tags:
        sample = table.get(tag)
        if sample is not None:
            found[tag] = sample
    return found
