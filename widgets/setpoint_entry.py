"""Setpoint entry: current value, an entry field and Apply, with inline validation and write feedback.

The operator's text is checked before anything leaves the widget, by the validation
callable the screen injects (in the application: the runtime's own write check, so
the feedback is exactly what the runtime would answer). A valid value is *requested*
through ``sig_write_requested`` and the widget stays busy until the screen reports
the outcome with ``set_write_result``. Whether the write is allowed (role,
confirmation, audit) is decided on the runtime side, not here.

Without an injected check (a widget shown on its own, e.g. in a preview) it falls
back to :func:`parse_setpoint`: a number within the given range.

Text typed but not applied is *pending*: drawn in its own style with a "pending"
marker, and discarded by Escape, by the screen going away (``discard_pending``) and
after :data:`PENDING_TIMEOUT_S` without typing. Enter applies only text edited since
the last apply, and only in the field that has the keyboard focus. The field takes
focus from a click alone (never from Tab, a hidden button or a disabled neighbour)
and Apply never takes keyboard focus, so a key press aimed elsewhere cannot write.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsProxyWidget,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QWidget,
)

from hmi.model import Sample
from widgets import palette
from widgets.palette import QualityStyle

PENDING_TIMEOUT_S = 30.0
"""Typed text not applied within this long (since the last key stroke) is discarded."""
PENDING_MARK = "pending"
"""The word the message row starts with while the operator's text is not applied."""

Validator = Callable[[str], tuple[Any, str]]
"""Operator text -> (the value to request, "") or (None, why it is refused)."""


def parse_setpoint(text: str, minimum: float | None, maximum: float | None) -> tuple[float | None, str]:
    """Turn operator text into a value; returns (value, '') or (None, why it was refused)."""
    cleaned = text.strip()
    if not cleaned:
        return None, "enter a value"
    if "," in cleaned and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")  # a decimal comma is what many operators type
    try:
        value = float(cleaned)
    except ValueError:
        return None, f"'{text.strip()}' is not a number"
    if not math.isfinite(value):
        return None, f"'{text.strip()}' is not a number"
    if minimum is not None and value < minimum:
        return None, f"below minimum {minimum:g}"
    if maximum is not None and value > maximum:
        return None, f"above maximum {maximum:g}"
    return value, ""


def _label_css(style: QualityStyle) -> str:
    look = palette.look_for(style)
    border = {
        QualityStyle.NORMAL: "1px solid transparent",
        QualityStyle.WAITING: f"1px dotted {look.outline.name()}",
        QualityStyle.UNCERTAIN: f"2px dashed {look.outline.name()}",
        QualityStyle.BAD: f"2px solid {look.outline.name()}",
    }[style]
    return f"color: {look.value_colour.name()}; border: {border}; border-radius: 2px; padding: 0 3px;"


_MESSAGE_COLOURS = {"error": palette.ERROR_TEXT, "ok": palette.OK_TEXT, "pending": palette.PENDING_TEXT}


def _entry_css(pending: bool) -> str:
    """The entry field: white when empty or applied; tinted with a dashed frame while its text is pending."""
    text, panel, off = palette.TEXT.name(), palette.PANEL.name(), palette.DISABLED_TEXT.name()
    if pending:
        look = f"background: {palette.PENDING_FILL.name()}; border: 2px dashed {palette.PENDING_TEXT.name()};"
    else:
        look = f"background: #FFFFFF; border: 1px solid {palette.TEXT_DIM.name()};"
    return (
        f"QLineEdit {{ font-size: 12px; color: {text}; {look} border-radius: 2px; padding: 0 3px; }}"
        f" QLineEdit:disabled {{ background: {panel}; color: {off}; }}"
    )


def _panel_css() -> str:
    panel, line, text = palette.PANEL.name(), palette.EQUIPMENT_LINE.name(), palette.TEXT.name()
    dim, off, hover = palette.TEXT_DIM.name(), palette.DISABLED_TEXT.name(), palette.HOVER.name()
    return (
        f"#setpoint {{ background: {panel}; border: 1px solid {line}; border-radius: 3px; }}"
        f" QLabel {{ font-size: 12px; color: {dim}; }}"
        f" QPushButton {{ font-size: 12px; font-weight: bold; color: {text};"
        f" background: {palette.BACKGROUND.name()}; border: 1px solid {line}; border-radius: 2px;"
        " padding: 1px 8px; }"
        f" QPushButton:hover {{ border-color: {hover}; }}"
        f" QPushButton:disabled {{ color: {off}; border-color: {off}; }}"
    )


class SetpointPanel(QWidget):
    """The setpoint entry as a plain widget: for faceplates, and inside a mimic via :class:`SetpointEntry`."""

    sig_write_requested = Signal(object)
    """(value) The operator applied a valid value (exact: an int stays an int); answer with
    ``set_write_result``."""

    def __init__(
        self,
        label: str,
        units: str = "",
        decimals: int = 2,
        minimum: float | None = None,
        maximum: float | None = None,
        parent: QWidget | None = None,
        *,
        validate: Validator | None = None,
        pending_timeout: float = PENDING_TIMEOUT_S,
    ) -> None:
        super().__init__(parent)
        self._units = units
        self._decimals = decimals
        # Shown as the range hint; they decide acceptance only when no check is injected.
        self._minimum = minimum
        self._maximum = maximum
        self._validate = validate
        self._sample: Sample | None = None
        self._busy = False
        self._message_kind = ""
        self._operator_message = ""
        self._pending = False  # the field holds text that was not applied
        self._armed = False  # ... and it was edited since the last apply: only then does Enter apply
        self._pending_timer = QTimer(self)
        self._pending_timer.setSingleShot(True)
        self._pending_timer.setInterval(max(round(pending_timeout * 1000), 1))
        self._pending_timer.timeout.connect(self.discard_pending)

        self._label = QLabel(label)
        self._current = QLabel(palette.WAITING_TEXT)
        self._current.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._entry = QLineEdit()
        self._entry.setPlaceholderText("new")
        self._entry.setAlignment(Qt.AlignmentFlag.AlignRight)
        self._entry.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        # A click gives the field focus; Tab and Qt's "focus the next one" never do.
        self._entry.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self._apply = QPushButton("Apply")
        self._apply.setCursor(Qt.CursorShape.PointingHandCursor)
        self._apply.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # a click only: Space or Enter never press it
        self._message = QLabel("")
        self._message.setWordWrap(True)  # a long refusal is read in full, never clipped
        self._base_height: int | None = None
        self._escape_filter = _EscapeFilter(self.discard_pending, self)
        self._entry.installEventFilter(self._escape_filter)
        self._build_layout()
        self._entry.returnPressed.connect(self._on_return)
        self._apply.clicked.connect(self.apply)
        self._entry.textEdited.connect(self._on_edited)
        self._show_current()
        self._entry.setToolTip(self._limits_hint())

    def _build_layout(self) -> None:
        self.setObjectName("setpoint")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(_panel_css())
        self._current.setFont(palette.value_font(14))
        grid = QGridLayout(self)
        grid.setContentsMargins(6, 2, 4, 1)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(0)
        grid.addWidget(self._label, 0, 0)
        grid.addWidget(self._current, 0, 1)
        grid.addWidget(self._entry, 0, 2)
        grid.addWidget(self._apply, 0, 3)
        grid.addWidget(self._message, 1, 0, 1, 4)
        grid.setColumnStretch(1, 1)
        self._entry.setFixedWidth(64)
        self._entry.setStyleSheet(_entry_css(False))

    # --- what the screen and the tests look at -------------------------------------------------------
    @property
    def busy(self) -> bool:
        """True from a write request until ``set_write_result``: entry and Apply are disabled."""
        return self._busy

    @property
    def message_text(self) -> str:
        """The inline row: the answer to the operator, else the quality reason, else the range."""
        return self._message.text()

    @property
    def message_kind(self) -> str:
        """'error', 'ok', 'info' or '' for no message."""
        return self._message_kind

    def display_text(self) -> str:
        """The current value as shown, with units (quality marks included)."""
        return self._current.text()

    @property
    def quality_style(self) -> QualityStyle:
        """Quality style of the current value."""
        return palette.style_for(self._sample)

    @property
    def pending(self) -> bool:
        """True while the field holds text the operator typed and did not (successfully) apply."""
        return self._pending

    @property
    def entry(self) -> QLineEdit:
        """The field the operator types in."""
        return self._entry

    @property
    def apply_button(self) -> QPushButton:
        """The Apply button."""
        return self._apply

    # --- setters -----------------------------------------------------------------------------------------
    def set_sample(self, sample: Sample | None) -> None:
        """Update the current value; the operator's typing is left alone."""
        self._sample = sample
        self._show_current()

    def set_limits(self, minimum: float | None, maximum: float | None) -> None:
        """Change the accepted range."""
        self._minimum, self._maximum = minimum, maximum
        self._entry.setToolTip(self._limits_hint())
        self._refresh_message_row()

    def set_write_result(self, ok: bool, message: str = "") -> None:
        """End the busy state with the write's outcome, shown inline."""
        self._set_busy(False)
        if ok:
            self._entry.clear()
            self._set_pending(False)
            self._show_message(message or "written", "ok")
        else:
            # Kept (still pending) so the operator can correct it, but not armed: Enter alone will not
            # send it again, and the focus stays where it is.
            self._set_pending(bool(self._entry.text().strip()))
            self._show_message(message or "write failed", "error")

    def discard_pending(self) -> None:
        """Throw away text typed and not applied (Escape, the screen going away, the timeout)."""
        if self._busy or not self._pending:
            return
        self._entry.clear()
        self._set_pending(False)
        self._show_message("", "")

    def apply(self) -> None:
        """Validate the operator's text and, if valid, request the write and go busy (the Apply button)."""
        if self._busy:
            return
        self._armed = False
        text = self._entry.text()
        if self._validate is None:
            value, problem = parse_setpoint(text, self._minimum, self._maximum)
        else:
            value, problem = self._validate(text) if text.strip() else (None, "enter a value")
        if problem or value is None:
            self._show_message(problem or "enter a value", "error")
            return
        self._set_busy(True)
        self._pending_timer.stop()  # on its way: nothing to time out until the answer
        shown = palette.format_value(value, self._decimals)
        self._show_message(f"writing {shown}{' ' + self._units if self._units else ''}…", "info")
        self.sig_write_requested.emit(value)

    def closeEvent(self, event: QCloseEvent) -> None:
        """A closed faceplate keeps nothing typed for later."""
        self.discard_pending()
        self._pending_timer.stop()
        super().closeEvent(event)

    # --- internals -----------------------------------------------------------------------------------------
    def _on_return(self) -> None:
        # Enter reaches this field only when it has the focus; it applies only what was typed since.
        if self._armed:
            self.apply()

    def _on_edited(self, text: str) -> None:
        self._set_pending(bool(text.strip()))
        self._armed = self._pending
        if self._message_kind in ("error", "ok"):
            self._show_message("", "")
        else:
            self._refresh_message_row()

    def _set_pending(self, pending: bool) -> None:
        self._pending = pending
        if not pending:
            self._armed = False
            self._pending_timer.stop()
        else:
            self._pending_timer.start()
        self._entry.setStyleSheet(_entry_css(pending))
        self._refresh_message_row()

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        if busy and self._entry.hasFocus():
            # Disabling a focused field makes Qt hand the focus on, maybe to another write control:
            # park it on this panel, which takes no keys.
            self.setFocus(Qt.FocusReason.OtherFocusReason)
        self._entry.setEnabled(not busy)
        self._apply.setEnabled(not busy)

    def _show_current(self) -> None:
        style = palette.style_for(self._sample)
        text = palette.value_text(self._sample, self._decimals)
        if self._units and style in (QualityStyle.NORMAL, QualityStyle.UNCERTAIN):
            text = f"{text} {self._units}"
        self._current.setText(text)
        self._current.setStyleSheet(_label_css(style))
        self._current.setToolTip(palette.quality_tooltip(self._sample, self._decimals, self._units))
        self._refresh_message_row()

    def _show_message(self, text: str, kind: str) -> None:
        self._message_kind = kind if text else ""
        self._operator_message = text
        self._refresh_message_row()

    def _refresh_message_row(self) -> None:
        # one row, by priority: the answer to the operator, then why the value is not good, then the range
        if self._message_kind:
            text = self._operator_message
            colour = _MESSAGE_COLOURS.get(self._message_kind, palette.TEXT_DIM)
        elif self._pending:
            text = f"{PENDING_MARK}: Enter applies, Esc discards"
            colour = palette.PENDING_TEXT
        elif palette.reason_text(self._sample):
            text = palette.reason_text(self._sample)
            colour = palette.look_for(palette.style_for(self._sample)).outline
        else:
            text, colour = self._limits_hint(), palette.TEXT_DIM
        self._message.setText(text)
        self._message.setToolTip(text)
        self._message.setStyleSheet(f"font-size: 11px; color: {colour.name()};")
        self._fit_height()

    def set_base_size(self, width: int, height: int) -> None:
        """Fix the width and the usual height; a long message grows the height until it fits."""
        self._base_height = height
        self.setFixedWidth(width)
        self._fit_height()

    def _fit_height(self) -> None:
        if self._base_height is None:
            return
        layout = self.layout()
        needed = layout.totalHeightForWidth(self.width()) if layout.hasHeightForWidth() else 0
        self.setFixedHeight(max(self._base_height, needed))

    def _limits_hint(self) -> str:
        low = "" if self._minimum is None else f"{self._minimum:g}"
        high = "" if self._maximum is None else f"{self._maximum:g}"
        return f"range {low} … {high} {self._units}".strip() if (low or high) else ""


class SetpointEntry(QGraphicsProxyWidget):
    """:class:`SetpointPanel` placed on a mimic at (x, y) with size (w, h) in scene units."""

    sig_write_requested = Signal(object)
    """(value) The operator applied a valid value; answer with ``set_write_result``."""

    def __init__(
        self,
        w: float,
        h: float,
        label: str,
        units: str = "",
        decimals: int = 2,
        minimum: float | None = None,
        maximum: float | None = None,
        *,
        validate: Validator | None = None,
        pending_timeout: float = PENDING_TIMEOUT_S,
        parent: QGraphicsItem | None = None,
    ) -> None:
        super().__init__(parent)
        self._panel = SetpointPanel(
            label, units, decimals, minimum, maximum, validate=validate, pending_timeout=pending_timeout
        )
        self._panel.set_base_size(int(w), int(h))
        self.setWidget(self._panel)
        # Out of the scene's Tab chain too: Tab from a neighbour must not walk into this field.
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setZValue(10)  # a message grown to several lines covers what lies below, not the reverse
        self._panel.sig_write_requested.connect(self.sig_write_requested)

    @property
    def panel(self) -> SetpointPanel:
        """The embedded widget (for its read-only properties)."""
        return self._panel

    def set_sample(self, sample: Sample | None) -> None:
        """Update the current value shown."""
        self._panel.set_sample(sample)

    def set_write_result(self, ok: bool, message: str = "") -> None:
        """Report the outcome of the requested write."""
        self._panel.set_write_result(ok, message)

    def set_limits(self, minimum: float | None, maximum: float | None) -> None:
        """Change the accepted range."""
        self._panel.set_limits(minimum, maximum)

    def discard_pending(self) -> None:
        """Throw away text typed and not applied."""
        self._panel.discard_pending()


class _EscapeFilter(QObject):
    """Escape in the field discards its pending text (QLineEdit itself ignores the key)."""

    def __init__(self, on_escape: Callable[[], None], parent: QObject) -> None:
        super().__init__(parent)
        self._on_escape = on_escape

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Take Escape; let every other event through."""
        escape = isinstance(event, QKeyEvent) and event.key() == Qt.Key.Key_Escape
        if escape and event.type() == QEvent.Type.KeyPress:
            self._on_escape()
            return True
        return False
