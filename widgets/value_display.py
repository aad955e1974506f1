"""A framed numeric readout: label on the left, value right-aligned, units in their own column."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainter, QPainterPath
from PySide6.QtWidgets import QGraphicsItem, QGraphicsObject, QStyleOptionGraphicsItem, QWidget

from hmi.model import Sample
from widgets import palette
from widgets.palette import QualityStyle
from widgets.symbols import draw_text

_PAD = 8.0


class ValueDisplay(QGraphicsObject):
    """Readout of one tag, styled by the quality rule of :mod:`widgets.palette`.

    Good values are plain dark text; uncertain values keep their number with a
    '?' and a dashed cyan frame; bad values show '####' in magenta with the
    reason under the label; before the first value it shows '…'.
    """

    def __init__(
        self,
        w: float,
        h: float,
        label: str,
        units: str = "",
        decimals: int = 2,
        *,
        parent: QGraphicsItem | None = None,
    ) -> None:
        super().__init__(parent)
        self._w = float(w)
        self._h = float(h)
        self._label = label
        self._units = units
        self._decimals = decimals
        self._sample: Sample | None = None
        self._style = QualityStyle.WAITING
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._refresh_tooltip()

    @property
    def quality_style(self) -> QualityStyle:
        """How the current value is drawn."""
        return self._style

    def value_text(self) -> str:
        """The value as shown right now, without units ('####' when bad, '…' when waiting)."""
        return palette.value_text(self._sample, self._decimals)

    def display_text(self) -> str:
        """The readout as shown: value and units."""
        return f"{self.value_text()} {self._units}" if self._units else self.value_text()

    def reason_text(self) -> str:
        """The reason shown under the label when the value is not good."""
        return palette.reason_text(self._sample)

    @property
    def units(self) -> str:
        """Engineering units written after the value."""
        return self._units

    def set_sample(self, sample: Sample | None) -> None:
        """Show a new sample (None returns to waiting)."""
        self._sample = sample
        self._style = palette.style_for(sample)
        self._refresh_tooltip()
        self.update()

    def set_units(self, units: str, decimals: int | None = None) -> None:
        """Change the units (and optionally the decimals) after construction."""
        self._units = units
        if decimals is not None:
            self._decimals = decimals
        self.update()

    def _refresh_tooltip(self) -> None:
        explanation = palette.quality_tooltip(self._sample, self._decimals, self._units)
        self.setToolTip("\n".join(p for p in (self._label, explanation) if p))

    def boundingRect(self) -> QRectF:
        """The frame plus room for a thick quality outline."""
        return QRectF(-2, -2, self._w + 4, self._h + 4)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        """Draw frame, label, value and units."""
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        frame = QRectF(0.5, 0.5, self._w - 1, self._h - 1)
        path = QPainterPath()
        path.addRoundedRect(frame, 3, 3)
        painter.setBrush(palette.PANEL)
        painter.setPen(palette.outline_pen(self._style, palette.EQUIPMENT_LINE, 1.0))
        painter.drawPath(path)

        inner = frame.adjusted(_PAD, 2, -_PAD, -2)
        value_px = int(min(max(self._h * 0.42, 11), 22))
        units_w = self._units_width(value_px)
        label_w = inner.width() * 0.45
        reason = self.reason_text()
        label_rect = QRectF(inner.left(), inner.top(), label_w, inner.height())
        if reason and self._h >= 34:
            # label on top, reason under it: the operator sees why without hovering
            half = inner.height() / 2
            label_rect.setHeight(half)
            reason_rect = QRectF(inner.left(), inner.top() + half, label_w + 30, half)
            draw_text(
                painter,
                reason_rect,
                reason,
                palette.label_font(int(min(half * 0.72, 12))),
                palette.look_for(self._style).outline,
                Qt.AlignmentFlag.AlignLeft,
            )
        draw_text(
            painter,
            label_rect,
            self._label,
            palette.label_font(int(min(max(self._h * 0.3, 10), 14))),
            palette.TEXT_DIM,
            Qt.AlignmentFlag.AlignLeft,
        )

        value_w = inner.width() - label_w - units_w
        value_rect = QRectF(inner.left() + label_w, inner.top(), value_w, inner.height())
        colour = palette.look_for(self._style).value_colour
        draw_text(
            painter,
            value_rect,
            self.value_text(),
            palette.value_font(value_px),
            colour,
            Qt.AlignmentFlag.AlignRight,
        )
        if self._units:
            units_rect = QRectF(inner.right() - units_w + 5, inner.top(), units_w - 5, inner.height())
            draw_text(
                painter,
                units_rect,
                self._units,
                palette.label_font(int(value_px * 0.75)),
                palette.TEXT_DIM,
                Qt.AlignmentFlag.AlignLeft,
            )

    def _units_width(self, value_px: int) -> float:
        if not self._units:
            return 0.0
        # a fixed column wide enough for 'm³/h' keeps values aligned in a stack of readouts
        return max(value_px * 2.6, 5.0 + value_px * 0.5 * len(self._units))
