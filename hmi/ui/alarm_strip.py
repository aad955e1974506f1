"""The strip across the top of the window: the most important alarm, always in view.

It blinks (the shared ~1 Hz :class:`BlinkClock`, colours swapped on the off phase) while any
announced alarm is unacknowledged, shows the counts per state and priority, the flood badge,
and the horn's "Silence" button while the horn sounds.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget

from hmi.alarms.engine import AlarmStatus
from hmi.alarms.ordering import banner_alarm, counts
from hmi.ui.alarm_blink import BlinkClock
from hmi.ui.alarm_flood_badge import FloodBadge
from hmi.ui.alarm_horn import SILENCE_KEY, Horn, HornState
from hmi.ui.panels import SignalLinks
from widgets.palette import ALARM_INACTIVE, NO_ALARM, PriorityLook, priority_look

if TYPE_CHECKING:
    from hmi.ui.panels import PanelContext


class ElidedLabel(QLabel):
    """A one-line label drawn with "…" where its text does not fit, so that a cut message never reads as
    whole; ``text()`` stays the whole text."""

    def paintEvent(self, event: QPaintEvent) -> None:
        rect = self.contentsRect()
        shown = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, rect.width())
        align = self.alignment() | Qt.AlignmentFlag.AlignVCenter
        painter = QPainter(self)
        self.style().drawItemText(
            painter, rect, int(align.value), self.palette(), self.isEnabled(), shown, self.foregroundRole()
        )


class AlarmStrip(QWidget):
    """One line: the top alarm's priority, time and message, how many others, and an acknowledge button."""

    sig_acknowledge_requested = Signal(object)
    """(alarm name): acknowledge the alarm shown."""

    def __init__(
        self,
        parent: QWidget | None = None,
        clock: BlinkClock | None = None,
        horn: Horn | None = None,
    ) -> None:
        super().__init__(parent)
        self.clock = clock or BlinkClock(self)
        self.horn = horn
        self.flood = FloodBadge(self)
        self.silence = QPushButton("Silence")
        self.silence.setToolTip(f"Silence the horn ({SILENCE_KEY}); the alarms stay unacknowledged")
        self.silence.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.silence.setVisible(False)
        if horn is not None:
            self.silence.clicked.connect(horn.silence)
        self.setObjectName("alarm-strip")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.text = ElidedLabel("No active alarms")
        self.text.setObjectName("alarm-strip-text")
        # A long message ends in "…" (its whole text is the tooltip), never a reason for the window to widen.
        self.text.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.others = QLabel("")
        self.ack = QPushButton("Acknowledge")
        # Clicked only, never reached by Tab; when it hides it hands the focus to the strip (see _hide_ack).
        self.ack.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.ack.setVisible(False)
        self.ack.clicked.connect(self._acknowledge)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 2)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.flood)
        layout.addWidget(self.others)
        layout.addWidget(self.silence)
        layout.addWidget(self.ack)
        self.shown: AlarmStatus | None = None
        self.blinking = False
        """True while an announced alarm is unacknowledged: the strip blinks."""
        self._steady_look = NO_ALARM
        self._attached = False  # the blink clock runs only for an attached strip: a detached one stops it
        self._style(NO_ALARM)
        self.setFixedHeight(34)
        self._links = SignalLinks()

    def attach(self, context: PanelContext) -> None:
        """Follow the bridge's alarm summary; acknowledge through the command path."""
        self._links.connect(context.bridge.sig_alarms_changed, self.set_alarms)
        self._links.connect(self.sig_acknowledge_requested, context.commands.acknowledge)
        self._links.connect(self.clock.sig_phase, self._blink)
        if self.horn is not None:
            self._links.connect(self.horn.sig_state_changed, self._horn_changed)
        self.flood.attach(context)
        self._attached = True
        self.clock.need(self, self.blinking)

    def detach(self) -> None:
        """Undo ``attach``."""
        self._attached = False
        self.flood.detach()
        self._links.disconnect_all()
        self.clock.need(self, False)

    def set_alarms(self, rows: list[AlarmStatus]) -> None:
        """Show the alarm that most needs the operator (never a returned one above an active one)."""
        self.shown = banner_alarm(rows)
        self.others.setText(count_text(rows))
        self.blinking = any(row.shown and row.unacked for row in rows)
        if self._attached:
            self.clock.need(self, self.blinking)
        if self.shown is None:
            self.text.setText("No active alarms")
            self.text.setToolTip("")
            self._show_ack(False)
            self._steady_look = NO_ALARM
            self._style(NO_ALARM)
            return
        top = self.shown
        when = time.strftime("%H:%M:%S", time.localtime(top.raised_at)) if top.raised_at else ""
        # The state before the message: a clipped long message never hides whether it is still active.
        self.text.setText(f"{when}  {top.definition.priority.upper()}  [{top.state.value}]  {top.message}")
        self.text.setToolTip(self.text.text())
        self._show_ack(top.unacked)
        self._steady_look = priority_look(top.definition.priority) if top.active else ALARM_INACTIVE
        self._style(self._steady_look if self.clock.on or not self.blinking else _swapped(self._steady_look))

    def _blink(self, on: bool) -> None:
        # the off phase swaps text and background: the same contrast, so the text stays readable
        self._style(self._steady_look if on or not self.blinking else _swapped(self._steady_look))

    def _horn_changed(self, state: str) -> None:
        self.silence.setVisible(state == HornState.SOUNDING.value)

    @property
    def look(self) -> PriorityLook:
        """The steady colours of what the strip shows (the blink's off phase swaps them)."""
        return self._steady_look

    @property
    def shown_look(self) -> PriorityLook:
        """The colours the strip shows at this instant."""
        return self._look

    def _style(self, look: PriorityLook) -> None:
        self._look = look
        background, foreground = look.background.name(), look.text.name()
        # Object-name selectors so the application theme's generic QWidget rule cannot win.
        self.setStyleSheet(
            f"QWidget#alarm-strip {{ background: {background}; }}"
            f"QWidget#alarm-strip QLabel {{ background: transparent; color: {foreground};"
            " font-weight: bold; font-size: 14px; }"
            # the flood badge must stand out from any priority colour: white box, urgent red text
            "QWidget#alarm-strip QLabel#alarm-flood-badge { background: #FFFFFF; color: #B3261E;"
            " border: 2px solid #B3261E; padding: 0 6px; }"
        )

    def _show_ack(self, visible: bool) -> None:
        if not visible and self.ack.hasFocus():
            # Hiding a focused button makes Qt focus the next widget in the chain, which may lead to a
            # setpoint field: park the focus on the strip, which takes no keys.
            self.setFocus(Qt.FocusReason.OtherFocusReason)
        self.ack.setVisible(visible)

    def _acknowledge(self) -> None:
        if self.shown is not None:
            self.sig_acknowledge_requested.emit(self.shown.name)


def _swapped(look: PriorityLook) -> PriorityLook:
    return PriorityLook(look.text, look.background)


_GROUPS = (
    ("unacked", "unack"),
    ("returned", "returned"),
    ("acked", "acked"),
    ("shelved", "shelved"),
    ("out_of_service", "out of service"),
)


def count_text(rows: list[AlarmStatus]) -> str:
    """Counts per state, each split by priority initial: ``2 unack (U1 H1) · 1 shelved (M1)``."""
    parts = []
    tallies = counts(rows)
    for group, label in _GROUPS:
        tally = tallies[group]
        if tally:
            by_priority = " ".join(
                f"{p[0].upper()}{tally[p]}" for p in ("urgent", "high", "medium", "low") if tally[p]
            )
            parts.append(f"{sum(tally.values())} {label} ({by_priority})")
    return " · ".join(parts)
