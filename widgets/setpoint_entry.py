"""Setpoint entry: current value, an entry field and Apply, with inline validation and write feedback.

The operator's text is checked before anything leaves the widget, by the validation
callable the screen injects (in the application: the runtime's own write check, so
the feedback is exactly what the runtime would answer). A valid value is *requested*
through ``sig_write_requested`` and the widget stays busy until the screen reports
the outcome with ``set_write_result``. Whether the write is allowed (role,
confirmation, audit) is decided on the runtime side, not here.

Without an injected check (a widget shown on its own, e.g. in a preview) it falls
back to :func:`parse_setpoint`: a number within the given range.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
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


_MESSAGE_COLOURS = {"error": palette.ERROR_TEXT, "ok": palette.OK_TEXT}


def _panel_css() -> str:
    panel, line, text = palette.PANEL.name(), palette.EQUIPMENT_LINE.name(), palette.TEXT.name()
    dim, off, hover = palette.TEXT_DIM.name(), palette.DISABLED_TEXT.name(), palette.HOVER.name()
    return (
        f"#setpoint {{ background: {panel}; border: 1px solid {line}; border-radius: 3px; }}"
        f" QLabel {{ font-size: 12px; color: {dim}; }}"
        f" QLineEdit {{ font-size: 12px; background: #FFFFFF; color: {text};"
        f" border: 1px solid {dim}; border-radius: 2px; padding: 0 3px; }}"
        f" QLineEdit:disabled {{ background: {panel}; color: {off}; }}"
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

        self._label = QLabel(label)
        self._current = QLabel(palette.WAITING_TEXT)
        self._current.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._entry = QLineEdit()
        self._entry.setPlaceholderText("new")
        self._entry.setAlignment(Qt.AlignmentFlag.AlignRight)
        self._entry.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        self._apply = QPushButton("Apply")
        self._apply.setCursor(Qt.CursorShape.PointingHandCursor)
        self._message = QLabel("")
        self._build_layout()
        self._entry.returnPressed.connect(self.apply)
        self._apply.clicked.connect(self.apply)
        self._entry.textEdited.connect(self._forget_message)
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
            self._show_message(message or "written", "ok")
        else:
            self._show_message(message or "write failed", "error")
            self._entry.setFocus()
            self._entry.selectAll()

    def apply(self) -> None:
        """Validate the operator's text and, if valid, request the write and go busy."""
        if self._busy:
            return
        text = self._entry.text()
        if self._validate is None:
            value, problem = parse_setpoint(text, self._minimum, self._maximum)
        else:
            value, problem = self._validate(text) if text.strip() else (None, "enter a value")
        if problem or value is None:
            self._show_message(problem or "enter a value", "error")
            return
        self._set_busy(True)
        shown = palette.format_value(value, self._decimals)
        self._show_message(f"writing {shown}{' ' + self._units if self._units else ''}…", "info")
        self.sig_write_requested.emit(value)

    # --- internals -----------------------------------------------------------------------------------------
    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
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
        elif palette.reason_text(self._sample):
            text = palette.reason_text(self._sample)
            colour = palette.look_for(palette.style_for(self._sample)).outline
        else:
            text, colour = self._limits_hint(), palette.TEXT_DIM
        self._message.setText(text)
        self._message.setToolTip(text)
        self._message.setStyleSheet(f"font-size: 11px; color: {colour.name()};")

    def _forget_message(self) -> None:
        if self._message_kind == "error":
            self._show_message("", "")

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
        parent: QGraphicsItem | None = None,
    ) -> None:
        super().__init__(parent)
        self._panel = SetpointPanel(label, units, decimals, minimum, maximum, validate=validate)
        self._panel.setFixedSize(int(w), int(h))
        self.setWidget(self._panel)
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
