"""The audible horn: sounds for a new unacknowledged alarm at or above a priority, until silenced.

It repeats every ``REPEAT_MS`` while sounding; the operator silences it (the banner's
"Silence" button or F12), which holds until the next new alarm at or above the threshold.
It also stops when no such alarm waits for an acknowledgement any more. The sound is a
``QSoundEffect`` when Qt Multimedia is installed and a sound file is given, else the
system beep.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, QUrl, Signal
from PySide6.QtWidgets import QApplication

from hmi.alarms.engine import AlarmEvent, AlarmState, AlarmStatus, EventKind
from hmi.alarms.states import PRIORITY_RANK
from hmi.ui.panels import SignalLinks

if TYPE_CHECKING:
    from hmi.ui.panels import PanelContext

log = logging.getLogger(__name__)

REPEAT_MS = 2000
DEFAULT_HORN_PRIORITY = "high"
"""Alarms of this priority and more important sound the horn, unless the project says otherwise."""
SILENCE_KEY = "F12"


class HornState(enum.StrEnum):
    """What the horn does now."""

    QUIET = "quiet"
    SOUNDING = "sounding"
    SILENCED = "silenced"


def beep_sound() -> Callable[[], None]:
    """The system beep (always there)."""
    return QApplication.beep


def effect_sound(path: Path) -> Callable[[], None] | None:
    """A ``QSoundEffect`` playing ``path``, or None when Qt Multimedia is not installed."""
    try:
        from PySide6.QtMultimedia import QSoundEffect
    except ImportError:
        return None
    effect: Any = QSoundEffect()
    effect.setSource(QUrl.fromLocalFile(str(path)))
    return effect.play  # type: ignore[no-any-return]


class Horn(QObject):
    """Panel: alarm events start the horn, the operator silences it, the summary may end it."""

    sig_state_changed = Signal(str)
    """(HornState value): the horn started, was silenced or went quiet."""

    def __init__(
        self,
        threshold: str = DEFAULT_HORN_PRIORITY,
        sound: Callable[[], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.threshold = threshold
        self.state = HornState.QUIET
        self.sounded = 0
        """Times the sound played (tests check this, not audio)."""
        self._given_sound = sound is not None
        self._sound = sound or beep_sound()
        self._repeat = QTimer(self)
        self._repeat.setInterval(REPEAT_MS)
        self._repeat.timeout.connect(self._play)
        self._seen: set[str] = set()
        """Alarms at or above the threshold already sounded for while they stay unacknowledged."""
        self._links = SignalLinks()

    def attach(self, context: PanelContext) -> None:
        """Follow the alarm events (new alarms) and the summary (nothing left to acknowledge)."""
        settings = context.project.alarm_settings
        self.threshold = settings.horn_priority
        if settings.horn_sound is not None and not self._given_sound:
            self._sound = effect_sound(settings.horn_sound) or self._sound
        self._links.connect(context.bridge.sig_alarm_events, self.on_events)
        self._links.connect(context.bridge.sig_alarms_changed, self.on_alarms)

    def detach(self) -> None:
        """Undo ``attach`` and stop sounding."""
        self._links.disconnect_all()
        self._repeat.stop()

    def sounds_for(self, priority: str) -> bool:
        """True when an alarm of ``priority`` sounds the horn."""
        return PRIORITY_RANK.get(priority, 99) <= PRIORITY_RANK.get(self.threshold, 1)

    def on_events(self, events: list[AlarmEvent]) -> None:
        """A new unacknowledged alarm at or above the threshold (re)starts the horn, a re-raise too."""
        raised = {
            e.alarm
            for e in events
            if e.kind is EventKind.RAISED and e.state is AlarmState.UNACKED and self.sounds_for(e.priority)
        }
        if raised:
            self._seen |= raised
            self._sound_now()

    def on_alarms(self, rows: list[AlarmStatus]) -> None:
        """An unacknowledged alarm not yet sounded for starts the horn; none left waiting ends it.

        The summary catches an alarm raised before the window followed the events (at start-up).
        """
        pressing = {r.name for r in rows if r.unacked and self.sounds_for(r.definition.priority)}
        new, self._seen = pressing - self._seen, pressing
        if new:
            self._sound_now()
        elif self.state is not HornState.QUIET and not pressing:
            self._repeat.stop()
            self._set(HornState.QUIET)

    def silence(self) -> None:
        """The operator silenced the horn (the alarms stay unacknowledged)."""
        if self.state is HornState.SOUNDING:
            self._repeat.stop()
            self._set(HornState.SILENCED)

    def _sound_now(self) -> None:
        self._set(HornState.SOUNDING)
        self._play()
        self._repeat.start()

    def _play(self) -> None:
        self.sounded += 1
        try:
            self._sound()
        except Exception:  # no sound device must never stop the alarm views
            log.exception("the horn could not sound")

    def _set(self, state: HornState) -> None:
        if state is not self.state:
            self.state = state
            self.sig_state_changed.emit(state.value)
