"""Live and historical trend: one curve per pen, redrawn from a timer, bad quality as shaded gaps.

Samples are only stored when they arrive (``append`` is cheap); a timer at a
few hertz pushes changed pens to their curves with ``setData`` and scrolls
the time axis. Paused, a pen shows the history its owner loaded for the
visible range (``show_history``) instead of its live buffer. Each engineering
unit gets its own y axis, so a level in % and a temperature in °C are both
readable on one chart.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from pyqtgraph.GraphicsScene.mouseEvents import MouseClickEvent
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QColor, QHideEvent, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

from hmi.model import Sample
from widgets import palette
from widgets.trend_axes import UnitAxes, trend_plot_widget
from widgets.trend_buffer import (
    BAD,
    Reading,
    Series,
    TraceBuffer,
    as_series,
    bad_spans,
    peak_decimate,
    reading_at,
    sample_to_point,
    sort_series,
    with_gap_edges,
    with_newer_points,
)
from widgets.trend_mime import TagDropFilter
from widgets.trend_overlays import BadQualityBands, TrendCursor

__all__ = ["REFRESH_HZ", "TraceBuffer", "TrendWidget", "sample_to_point"]

REFRESH_HZ = 8
MIN_REFRESH_HZ, MAX_REFRESH_HZ = 1, 30
PAN_MARGIN = 0.5
"""Paused, curves hold this share of the visible width beyond each edge."""


@dataclass(eq=False)
class _Pen:
    name: str
    units: str
    colour: str
    curve: pg.PlotDataItem
    buffer: TraceBuffer = field(default_factory=TraceBuffer)
    history: Series | None = None  # loaded for the visible range while paused
    dirty: bool = False


class TrendWidget(QWidget):
    """A trend chart of named pens with a date/time axis, one y axis per unit, a cursor and quality shading.

    Accepts a tag dropped on it (:data:`widgets.trend_mime.TAG_MIME_TYPE`) and
    tells its owner through ``sig_tag_dropped``.
    """

    sig_paused_changed = Signal(bool)
    """Scrolling was paused (True: the operator panned/zoomed or called ``pause``) or resumed."""

    sig_view_range_changed = Signal(float, float)
    """(start, end epoch s): the visible time range changed while paused (time to load history)."""

    sig_cursor_moved = Signal(float)
    """(epoch s): the cursor moved, or the data under it changed."""

    sig_latest_drawn = Signal(float)
    """(epoch s, now): live with no cursor shown yet, new data was drawn up to this time."""

    sig_tag_dropped = Signal(str)
    """(tag name): a tag was dropped on the chart."""

    sig_reset_requested = Signal()
    """The operator asked for the preset view back (double-click on the chart, or Home)."""

    def __init__(
        self, parent: QWidget | None = None, *, span: float = 600.0, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(parent)
        self._span = float(span)
        self._clock = clock
        self._paused = False
        self._pens: dict[str, _Pen] = {}
        self.redraw_count = 0  # curves pushed with setData; lets tests see 'only when changed'

        self._plot_widget = trend_plot_widget()
        self._drop_filter = TagDropFilter(self)
        self._drop_filter.sig_tag_dropped.connect(self.sig_tag_dropped)
        self.plot_item = self._plot_widget.getPlotItem()
        main_view = self.plot_item.vb
        main_view.disableAutoRange(axis=pg.ViewBox.XAxis)
        main_view.setAutoVisible(y=True)
        main_view.sigRangeChangedManually.connect(self._on_operator_zoom)
        main_view.sigXRangeChanged.connect(self._on_x_range_changed)
        main_view.sigResized.connect(self._redraw_all)  # the decimation depends on the width
        self._axes = UnitAxes(self.plot_item, self._on_operator_zoom)
        self.bands = BadQualityBands(main_view)
        self.plot_item.scene().addItem(self.bands)
        self.cursor = TrendCursor(self.plot_item)
        self.cursor.sig_moved.connect(self.sig_cursor_moved)
        self.plot_item.scene().sigMouseClicked.connect(self._on_clicked)
        self._plot_widget.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # a click on the chart, then Home
        self._home = QShortcut(
            QKeySequence(Qt.Key.Key_Home), self, context=Qt.ShortcutContext.WidgetWithChildrenShortcut
        )
        self._home.activated.connect(self.sig_reset_requested)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._plot_widget)

        self._timer = QTimer(self)
        self._timer.setInterval(1000 // REFRESH_HZ)
        self._timer.timeout.connect(self.refresh)
        self._scroll_x()

    # --- configuration ---------------------------------------------------------------------------------
    def add_pen(self, name: str, units: str = "", color: str | None = None, *, width: float = 1.0) -> str:
        """Add a named pen and return its colour; pens sharing units share a y axis.

        Wider pens cost: on a software raster a 1.6 px line paints about half as fast as a 1 px one.
        """
        if name in self._pens:
            raise ValueError(f"trend already has a pen {name!r}")
        used = {pen.colour for pen in self._pens.values()}
        free = [colour for colour in palette.TREND_PENS if colour not in used]
        colour = color or (free[0] if free else palette.TREND_PENS[len(self._pens) % len(palette.TREND_PENS)])
        curve = pg.PlotDataItem(pen=pg.mkPen(colour, width=width), connect="finite")
        self._pens[name] = pen = _Pen(name, units, colour, curve, dirty=True)
        self._axes.attach(curve, units, colour)
        return pen.colour

    def remove_pen(self, name: str) -> None:
        """Remove a pen with its curve; an axis left without pens goes too."""
        self._pens.pop(name)
        self._axes.rebuild([(pen.curve, pen.units, pen.colour) for pen in self._pens.values()])
        self._update_bands()
        self._redraw_all()

    def set_span(self, seconds: float) -> None:
        """Width of the live time window."""
        self._span = max(float(seconds), 1.0)
        if not self._paused:
            self._scroll_x()
            self._redraw_all()

    @property
    def span(self) -> float:
        """Width of the live time window in seconds."""
        return self._span

    @property
    def pen_names(self) -> list[str]:
        """Pens in the order they were added."""
        return list(self._pens)

    def pen_colour(self, name: str) -> str:
        """The colour of a pen's curve."""
        return self._pens[name].colour

    def set_refresh_rate(self, hz: float) -> None:
        """Redraws per second while live, clamped to 1–30."""
        hz = min(max(float(hz), MIN_REFRESH_HZ), MAX_REFRESH_HZ)
        self._timer.setInterval(round(1000 / hz))

    @property
    def refresh_rate(self) -> float:
        """Redraws per second."""
        return 1000 / self._timer.interval()

    # --- data --------------------------------------------------------------------------------------------
    def set_history(
        self, name: str, ts: np.ndarray, values: np.ndarray, quality: np.ndarray | None = None
    ) -> None:
        """Backfill a pen's live buffer; ``quality`` holds :class:`Quality` codes (None: all good)."""
        series = as_series(ts, values, quality)
        pen = self._pens[name]
        pen.buffer.replace_history(*series)
        pen.dirty = True

    def show_history(
        self, name: str, ts: np.ndarray, values: np.ndarray, quality: np.ndarray | None = None
    ) -> None:
        """While paused, draw this loaded history instead of the pen's live buffer."""
        pen = self._pens[name]
        series = with_gap_edges(sort_series(as_series(ts, values, quality)))
        pen.history = with_newer_points(series, pen.buffer.series())
        pen.dirty = True

    def append(self, name: str, sample: Sample) -> None:
        """Store one live sample; drawing waits for the next timer tick."""
        pen = self._pens[name]
        pen.buffer.append(sample.ts, sample_to_point(sample), int(sample.quality))
        pen.dirty = True

    def data(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The stored live (ts, values) of a pen, NaN where quality was bad."""
        buffer = self._pens[name].buffer
        return buffer.ts, buffer.values

    def series(self, name: str) -> Series:
        """What the pen shows now: the loaded history while paused, else its live buffer."""
        pen = self._pens[name]
        return pen.history if (self._paused and pen.history is not None) else pen.buffer.series()

    def readings_at(self, ts: float) -> dict[str, Reading | None]:
        """Each pen's last value at or before ``ts`` (None where it has none)."""
        return {name: reading_at(self.series(name), ts) for name in self._pens}

    def curve(self, name: str) -> pg.PlotDataItem:
        """The pen's curve (for tests and screenshots)."""
        return self._pens[name].curve

    # --- time range --------------------------------------------------------------------------------------
    def visible_range(self) -> tuple[float, float]:
        """The time range on screen (epoch s)."""
        start, end = self.plot_item.vb.viewRange()[0]
        return float(start), float(end)

    def plot_width_px(self) -> int:
        """Width of the plotting area in device pixels (at least 100, before the first layout)."""
        return max(int(self.plot_item.vb.width()), 100)

    def show_time_range(self, start: float, end: float) -> None:
        """Pause and show ``start``–``end``."""
        self.pause()
        self.plot_item.setXRange(start, end, padding=0)

    # --- live behaviour ---------------------------------------------------------------------------------
    @property
    def paused(self) -> bool:
        """True while the time axis does not follow the clock."""
        return self._paused

    @property
    def timer_active(self) -> bool:
        """True while the redraw timer runs (only while the widget is shown)."""
        return self._timer.isActive()

    def pause(self) -> None:
        """Stop scrolling so the operator can look back; data keeps being stored."""
        if not self._paused:
            self._paused = True
            self._redraw_all()
            self.sig_paused_changed.emit(True)
            self.sig_view_range_changed.emit(*self.visible_range())

    def resume(self) -> None:
        """Follow the clock again over the live buffers, with y axes back on auto scale."""
        if self._paused:
            self._paused = False
            for pen in self._pens.values():
                pen.history, pen.dirty = None, True
            self._axes.auto_range_y()
            self._scroll_x()
            self.sig_paused_changed.emit(False)

    def refresh(self) -> None:
        """One frame: push changed pens to their curves (decimated to the view) and scroll the time axis."""
        now = None if self._paused else self._clock()
        start, end = (now - self._span, now) if now is not None else self.visible_range()
        # paused, a margin on both sides lets a short pan show data before the next redraw
        margin = 0.0 if now is not None else PAN_MARGIN * (end - start)
        columns = round(self.plot_width_px() * (1 + 2 * PAN_MARGIN)) if margin else self.plot_width_px()
        changed = False
        for pen in self._pens.values():
            if self._paused and pen.history is not None:
                ts, values, held = pen.history.ts, pen.history.values, False
            else:
                ts, values = pen.buffer.drawable(now)
                held = len(ts) > len(pen.buffer)  # the last value is being held up to now
            if pen.dirty or held:
                x, y = peak_decimate(ts, values, start - margin, end + margin, columns)
                pen.curve.setData(x, y, connect="finite")
                changed = changed or pen.dirty
                pen.dirty = False
                self.redraw_count += 1
        if changed or (now is not None and self._any_bad_now()):
            self._update_bands(now)  # a span still bad grows with the clock, without new samples
        if changed and self.cursor.time is not None:
            self.sig_cursor_moved.emit(self.cursor.time)
        elif changed and now is not None:
            self.sig_latest_drawn.emit(now)  # no cursor yet: the readout shows the latest values
        if now is not None:
            self._scroll_x(now)

    def stop(self) -> None:
        """Stop the redraw timer for good (the owner is closing)."""
        self._timer.stop()

    def showEvent(self, event: QShowEvent) -> None:
        """Redraw only while visible."""
        super().showEvent(event)
        self._timer.start()

    def hideEvent(self, event: QHideEvent) -> None:
        """A hidden trend costs nothing but storing samples."""
        self._timer.stop()
        super().hideEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        """No timer may outlive the window."""
        self._timer.stop()
        super().closeEvent(event)

    # --- internals -----------------------------------------------------------------------------------------
    def _scroll_x(self, now: float | None = None) -> None:
        now = self._clock() if now is None else now
        self.plot_item.setXRange(now - self._span, now, padding=0)

    def _on_clicked(self, event: MouseClickEvent) -> None:
        if event.double() and event.button() == Qt.MouseButton.LeftButton:
            self.sig_reset_requested.emit()

    def _on_operator_zoom(self, *_: object) -> None:
        self.pause()

    def _on_x_range_changed(self, _view: pg.ViewBox, x_range: tuple[float, float]) -> None:
        if self._paused:
            self._redraw_all()  # the curves hold points decimated for the previous range
            self.sig_view_range_changed.emit(float(x_range[0]), float(x_range[1]))

    def _redraw_all(self, *_: object) -> None:
        for pen in self._pens.values():
            pen.dirty = True
        if self._paused:
            self.refresh()

    def _any_bad_now(self) -> bool:
        return any(len(pen.buffer) and pen.buffer.quality[-1] == BAD for pen in self._pens.values())

    def _update_bands(self, now: float | None = None) -> None:
        spans = []
        for name, pen in self._pens.items():
            held_until = now if not (self._paused and pen.history is not None) else None
            starts, ends = bad_spans(self.series(name), until=held_until)
            spans.append((QColor(pen.colour), starts, ends))
        self.bands.set_spans(spans)
