"""Live and historical trend: one curve per pen, redrawn from a timer, bad quality drawn as gaps.

Samples are only stored when they arrive (``append`` is cheap); a timer at a
few hertz pushes changed pens to their curves with ``setData`` and scrolls
the time axis. Each engineering unit gets its own y axis, so a level in % and
a temperature in °C are both readable on one chart.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QCloseEvent, QHideEvent, QShowEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

from hmi.model import Quality, Sample
from widgets import palette

REFRESH_HZ = 8
_MIN_CAPACITY = 1024


class TraceBuffer:
    """Growing time/value arrays of one pen; NaN marks bad quality. One spare slot holds the live tail."""

    def __init__(self, max_points: int = 500_000) -> None:
        self.max_points = max_points
        self._ts = np.empty(_MIN_CAPACITY)
        self._values = np.empty(_MIN_CAPACITY)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    @property
    def ts(self) -> np.ndarray:
        """Timestamps (epoch s), ascending."""
        return self._ts[: self._n]

    @property
    def values(self) -> np.ndarray:
        """Values, NaN where quality was bad."""
        return self._values[: self._n]

    def append(self, ts: float, value: float) -> None:
        """Add one point; a gap starts at its own timestamp, holding the last value until then."""
        if self._n and ts < self._ts[self._n - 1]:
            self._insert_late(ts, value)
            return
        if np.isnan(value) and self._n and not np.isnan(self._values[self._n - 1]):
            self._push(ts, self._values[self._n - 1])
        self._push(ts, value)

    def replace_history(self, ts: np.ndarray, values: np.ndarray) -> None:
        """Backfill: history up to its last timestamp, then the live points that are newer."""
        order = np.argsort(ts, kind="stable") if np.any(np.diff(ts) < 0) else slice(None)
        ts, values = ts[order], values[order]
        gaps = np.flatnonzero(np.isnan(values[1:]) & ~np.isnan(values[:-1])) + 1
        ts = np.insert(ts, gaps, ts[gaps])
        values = np.insert(values, gaps, values[gaps - 1])
        newer = self.ts > ts[-1] if len(ts) else np.ones(self._n, dtype=bool)
        self._reset(np.concatenate([ts, self.ts[newer]]), np.concatenate([values, self.values[newer]]))

    def drawable(self, now: float | None) -> tuple[np.ndarray, np.ndarray]:
        """Views to plot; with ``now``, a finite last value is held up to now in the spare slot."""
        n = self._n
        if now is None or n == 0 or np.isnan(self._values[n - 1]) or now <= self._ts[n - 1]:
            return self._ts[:n], self._values[:n]
        self._ts[n], self._values[n] = now, self._values[n - 1]
        return self._ts[: n + 1], self._values[: n + 1]

    def _push(self, ts: float, value: float) -> None:
        if self._n + 1 >= len(self._ts):
            self._grow()
        self._ts[self._n], self._values[self._n] = ts, value
        self._n += 1

    def _grow(self) -> None:
        keep = self._n
        if keep + 1 >= self.max_points:
            keep = self.max_points * 3 // 4  # drop the oldest quarter: memory stays bounded
        ts, values = self.ts[self._n - keep :], self.values[self._n - keep :]
        # fresh arrays, never shifted in place: a curve may still hold views of the old ones
        capacity = min(max(2 * keep + 2, _MIN_CAPACITY), self.max_points + 1)
        self._reset(ts.copy(), values.copy(), capacity=capacity)

    def _insert_late(self, ts: float, value: float) -> None:
        at = int(np.searchsorted(self.ts, ts, side="right"))
        self._reset(np.insert(self.ts, at, ts), np.insert(self.values, at, value))

    def _reset(self, ts: np.ndarray, values: np.ndarray, capacity: int | None = None) -> None:
        n = len(ts)
        size = max(capacity or 0, n + 1, _MIN_CAPACITY)
        self._ts, self._values = np.empty(size), np.empty(size)
        self._ts[:n], self._values[:n] = ts, values
        self._n = n


@dataclass(eq=False)
class _Pen:
    name: str
    units: str
    colour: str
    curve: pg.PlotDataItem
    buffer: TraceBuffer = field(default_factory=TraceBuffer)
    dirty: bool = False


def sample_to_point(sample: Sample) -> float:
    """The value a trend plots for a sample: NaN (a gap) for bad quality or a non-numeric value."""
    if sample.quality is Quality.BAD:
        return float("nan")
    number = palette.numeric_value(sample)
    return float("nan") if number is None else number


class TrendWidget(QWidget):
    """A trend chart of named pens with a date/time axis, a legend with units and one y axis per unit."""

    sig_paused_changed = Signal(bool)
    """Scrolling was paused (True: the operator panned/zoomed or called ``pause``) or resumed."""

    def __init__(
        self, parent: QWidget | None = None, *, span: float = 600.0, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(parent)
        self._span = float(span)
        self._clock = clock
        self._paused = False
        self._pens: dict[str, _Pen] = {}
        self._views: dict[str, pg.ViewBox] = {}  # one view (and y axis) per unit
        self.redraw_count = 0  # curves pushed with setData; lets tests see 'only when changed'

        self._plot_widget = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem(orientation="bottom")})
        self._plot_widget.setBackground(palette.TREND_BACKGROUND)
        self.plot_item = self._plot_widget.getPlotItem()
        self.plot_item.setDownsampling(auto=True, mode="peak")  # the pyqtgraph 0.14 way: per PlotItem
        self.plot_item.setClipToView(True)
        self.plot_item.showGrid(x=True, y=True, alpha=palette.TREND_GRID_ALPHA)
        self.plot_item.setMenuEnabled(False)
        self.plot_item.hideButtons()
        self.plot_item.vb.disableAutoRange(axis=pg.ViewBox.XAxis)
        self.plot_item.vb.setAutoVisible(y=True)
        self.plot_item.vb.sigRangeChangedManually.connect(self._on_operator_zoom)
        self.plot_item.vb.sigResized.connect(self._align_views)
        for name in ("left", "bottom", "right"):
            axis = self.plot_item.getAxis(name)
            axis.setPen(pg.mkPen(palette.TEXT_DIM))
            axis.setTextPen(pg.mkPen(palette.TEXT))
        legend_brush = pg.mkBrush(palette.PANEL.red(), palette.PANEL.green(), palette.PANEL.blue(), 220)
        self.legend = self.plot_item.addLegend(
            offset=(8, 8), brush=legend_brush, pen=pg.mkPen(palette.TEXT_DIM), labelTextColor=palette.TEXT
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._plot_widget)

        self._timer = QTimer(self)
        self._timer.setInterval(1000 // REFRESH_HZ)
        self._timer.timeout.connect(self.refresh)
        self._scroll_x()

    # --- configuration ---------------------------------------------------------------------------------
    def add_pen(self, name: str, units: str = "", color: str | None = None, *, width: float = 1.0) -> None:
        """Add a named pen; pens sharing units share a y axis, a new unit gets its own axis on the right.

        Wider pens cost: on a software raster a 1.6 px line paints about half as fast as a 1 px one.
        """
        if name in self._pens:
            raise ValueError(f"trend already has a pen {name!r}")
        colour = color or palette.TREND_PENS[len(self._pens) % len(palette.TREND_PENS)]
        curve = pg.PlotDataItem(pen=pg.mkPen(colour, width=width), connect="finite")
        view = self._view_for(units, colour)
        if view is self.plot_item.vb:
            self.plot_item.addItem(curve)  # takes the PlotItem's downsampling and clip settings
        else:
            view.addItem(curve)
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
        self.legend.addItem(curve, f"{name} [{units}]" if units else name)
        self._pens[name] = _Pen(name, units, colour, curve)

    def set_span(self, seconds: float) -> None:
        """Width of the live time window."""
        self._span = max(float(seconds), 1.0)
        if not self._paused:
            self._scroll_x()

    @property
    def span(self) -> float:
        """Width of the live time window in seconds."""
        return self._span

    @property
    def pen_names(self) -> list[str]:
        """Pens in the order they were added."""
        return list(self._pens)

    # --- data --------------------------------------------------------------------------------------------
    def set_history(
        self, name: str, ts: np.ndarray, values: np.ndarray, quality: np.ndarray | None = None
    ) -> None:
        """Backfill a pen from history; ``quality`` holds :class:`Quality` codes (None: all good)."""
        values = np.asarray(values, dtype=float).copy()
        ts = np.asarray(ts, dtype=float)
        if quality is not None:
            values[np.asarray(quality) == int(Quality.BAD)] = np.nan
        pen = self._pens[name]
        pen.buffer.replace_history(ts, values)
        pen.dirty = True

    def append(self, name: str, sample: Sample) -> None:
        """Store one live sample; drawing waits for the next timer tick."""
        pen = self._pens[name]
        pen.buffer.append(sample.ts, sample_to_point(sample))
        pen.dirty = True

    def data(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The stored (ts, values) of a pen, NaN where quality was bad."""
        buffer = self._pens[name].buffer
        return buffer.ts, buffer.values

    def curve(self, name: str) -> pg.PlotDataItem:
        """The pen's curve (for tests and screenshots)."""
        return self._pens[name].curve

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
            self.sig_paused_changed.emit(True)

    def resume(self) -> None:
        """Follow the clock again, with y axes back on auto scale."""
        if self._paused:
            self._paused = False
            for view in self._views.values():
                view.enableAutoRange(axis=pg.ViewBox.YAxis)
            self._scroll_x()
            self.sig_paused_changed.emit(False)

    def refresh(self) -> None:
        """One frame: push changed pens to their curves and scroll the time axis."""
        now = None if self._paused else self._clock()
        for pen in self._pens.values():
            ts, values = pen.buffer.drawable(now)
            held = len(ts) > len(pen.buffer)  # the last value is being held up to now
            if pen.dirty or held:
                pen.curve.setData(ts, values, connect="finite")
                pen.dirty = False
                self.redraw_count += 1
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

    def _on_operator_zoom(self, *_: object) -> None:
        self.pause()

    def _view_for(self, units: str, colour: str) -> pg.ViewBox:
        if units in self._views:
            return self._views[units]
        if not self._views:
            view, axis = self.plot_item.vb, self.plot_item.getAxis("left")
        else:
            view = pg.ViewBox(enableMenu=False)
            view.setAutoVisible(y=True)
            axis = self.plot_item.getAxis("right") if len(self._views) == 1 else pg.AxisItem("right")
            if len(self._views) > 1:
                self.plot_item.layout.addItem(axis, 2, len(self._views) + 1)
            self.plot_item.showAxis("right")
            self.plot_item.scene().addItem(view)
            axis.linkToView(view)
            view.setXLink(self.plot_item.vb)
            view.sigRangeChangedManually.connect(self._on_operator_zoom)
            axis.setPen(pg.mkPen(palette.TEXT_DIM))
        axis.setLabel(units or "value", color=colour)
        axis.setTextPen(pg.mkPen(colour))
        self._views[units] = view
        self._align_views()
        return view

    def _align_views(self, *_: object) -> None:
        main = self.plot_item.vb
        for view in self._views.values():
            if view is not main:
                view.setGeometry(main.sceneBoundingRect())
                view.linkedViewChanged(main, view.XAxis)
