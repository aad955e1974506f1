"""Vertical vessel symbol with a level fill, a scale, hi/lo marks and the level as a number."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen

from widgets import palette
from widgets.palette import QualityStyle
from widgets.symbols import MimicSymbol, draw_text, hatch_brush

_LABEL_H = 20.0
_SCALE_STEPS = 4  # scale ticks at 0, 25, 50, 75, 100 % of the range


class TankSymbol(MimicSymbol):
    """A vessel whose fill follows the level; the fill turns amber above ``hi`` or below ``lo``.

    The level is also written as a number in the middle of the vessel, so the
    operator reads the value, not only the picture. Bad data shows no fill
    (hatched instead) and '####'; uncertain data keeps the fill with a dashed
    cyan outline and a '?'.
    """

    def __init__(
        self,
        w: float,
        h: float,
        label: str = "",
        minimum: float = 0.0,
        maximum: float = 100.0,
        hi: float | None = None,
        lo: float | None = None,
        *,
        units: str = "%",
        decimals: int = 1,
    ) -> None:
        super().__init__(w, h, label)
        if maximum <= minimum:
            raise ValueError(f"tank {label!r}: maximum {maximum} must exceed minimum {minimum}")
        self._minimum = float(minimum)
        self._maximum = float(maximum)
        self._hi = hi
        self._lo = lo
        self._units = units
        self._decimals = decimals
        self._level: float | None = None

    @property
    def level(self) -> float | None:
        """The level drawn as fill (None when there is nothing trustworthy to draw)."""
        return self._level

    @property
    def fill_fraction(self) -> float:
        """How full the vessel is drawn, 0..1 (clamped to the scale)."""
        if self._level is None:
            return 0.0
        span = self._maximum - self._minimum
        return min(max((self._level - self._minimum) / span, 0.0), 1.0)

    @property
    def limit_exceeded(self) -> bool:
        """True when a good or uncertain level is above hi or below lo."""
        if self._level is None:
            return False
        above = self._hi is not None and self._level > self._hi
        below = self._lo is not None and self._level < self._lo
        return above or below

    @property
    def fill_colour(self) -> QColor:
        """The liquid colour: calm normally, amber beyond a limit."""
        return palette.LIMIT_EXCEEDED if self.limit_exceeded else palette.LIQUID

    def display_text(self) -> str:
        """The level with its units, or the palette's quality text."""
        text = palette.value_text(self._sample, self._decimals)
        if self._style in (QualityStyle.NORMAL, QualityStyle.UNCERTAIN) and self._units:
            return f"{text} {self._units}"
        return text

    def set_limits(self, hi: float | None, lo: float | None) -> None:
        """Move the hi/lo marks (e.g. after the alarm limits were edited)."""
        self._hi, self._lo = hi, lo
        self.update()

    def _sample_changed(self) -> None:
        usable = self._style in (QualityStyle.NORMAL, QualityStyle.UNCERTAIN)
        self._level = palette.numeric_value(self._sample) if usable else None

    # --- painting ------------------------------------------------------------------------------------
    def _vessel_rect(self) -> QRectF:
        return QRectF(1, _LABEL_H + 2, self._w - 2, self._h - _LABEL_H - 3)

    def _y_of(self, value: float, vessel: QRectF) -> float:
        fraction = (value - self._minimum) / (self._maximum - self._minimum)
        fraction = min(max(fraction, 0.0), 1.0)
        return vessel.bottom() - fraction * vessel.height()

    def _paint_symbol(self, painter: QPainter) -> None:
        vessel = self._vessel_rect()
        radius = min(vessel.width() * 0.18, vessel.height() * 0.1)
        shell = QPainterPath()
        shell.addRoundedRect(vessel, radius, radius)

        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(palette.PANEL)
        painter.drawPath(shell)
        if self._level is not None:
            top = vessel.bottom() - self.fill_fraction * vessel.height()
            painter.save()
            painter.setClipPath(shell)
            painter.setBrush(self.fill_colour)
            painter.drawRect(QRectF(vessel.left(), top, vessel.width(), vessel.bottom() - top))
            painter.restore()
        elif self._style is QualityStyle.BAD:
            painter.setBrush(hatch_brush())
            painter.drawPath(shell)

        self._paint_scale(painter, vessel)
        self._paint_limits(painter, vessel)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(palette.outline_pen(self._style, palette.EQUIPMENT_LINE, 2.0))
        painter.drawPath(shell)

        draw_text(
            painter,
            QRectF(0, 0, self._w, _LABEL_H),
            self._label,
            palette.label_font(15, bold=True),
            palette.TEXT,
        )
        self._paint_value_box(painter, vessel)

    def _paint_scale(self, painter: QPainter, vessel: QRectF) -> None:
        # ticks on the inner left wall: numbers stay clear of pipes entering at either side
        painter.setPen(QPen(palette.TEXT_DIM, 1.0))
        font = palette.label_font(10)
        span = self._maximum - self._minimum
        inset = vessel.height() * 0.04
        for step in range(_SCALE_STEPS + 1):
            value = self._minimum + span * step / _SCALE_STEPS
            y = self._y_of(value, vessel.adjusted(0, inset, 0, -inset))
            painter.setPen(QPen(palette.TEXT_DIM, 1.0))
            painter.drawLine(QPointF(vessel.left() + 4, y), QPointF(vessel.left() + 12, y))
            text = f"{value:g}"
            draw_text(
                painter,
                QRectF(vessel.left() + 14, y - 7, 40, 14),
                text,
                font,
                palette.TEXT_DIM,
                Qt.AlignmentFlag.AlignLeft,
            )

    def _paint_limits(self, painter: QPainter, vessel: QRectF) -> None:
        inset = vessel.height() * 0.04
        scale = vessel.adjusted(0, inset, 0, -inset)
        font = palette.label_font(10, bold=True)
        for limit, tag in ((self._hi, "H"), (self._lo, "L")):
            if limit is None:
                continue
            y = self._y_of(limit, scale)
            pen = QPen(palette.EQUIPMENT_LINE, 1.2, Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.drawLine(QPointF(vessel.right() - 28, y), QPointF(vessel.right() - 4, y))
            draw_text(
                painter,
                QRectF(vessel.right() - 44, y - 7, 14, 14),
                tag,
                font,
                palette.TEXT,
                Qt.AlignmentFlag.AlignRight,
            )

    def _paint_value_box(self, painter: QPainter, vessel: QRectF) -> None:
        # right of the scale numbers, so neither hides the other
        left = vessel.left() + min(40.0, vessel.width() * 0.3)
        box_w = min(vessel.right() - 6 - left, 130.0)
        box = QRectF(left + (vessel.right() - 6 - left - box_w) / 2, vessel.center().y() - 14, box_w, 28)
        painter.setBrush(palette.PANEL)
        painter.setPen(palette.outline_pen(self._style, palette.EQUIPMENT_LINE, 1.0))
        painter.drawRoundedRect(box, 3, 3)
        colour = palette.look_for(self._style).value_colour
        font = palette.value_font(16 if box_w >= 90 else 14)
        draw_text(painter, box.adjusted(3, 0, -3, 0), self.display_text(), font, colour)
