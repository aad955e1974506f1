"""Trend rendering: 8 pens x 100k points, a full refresh and paint per frame into a 1200x600 image.

Ours: ``TrendWidget`` as the live trend uses it (one new sample per pen, ``refresh``
pushing every pen with ``setData``, quality shading, scrolling). Bare: a
pyqtgraph ``PlotWidget`` with 8 ``PlotDataItem``s of the same data, configured as
pyqtgraph's documentation advises for long series (``setDownsampling(auto=True,
mode='peak')``, ``setClipToView(True)``) and with the one-line axis cache ours turns
on (``QGraphicsItem.setCacheMode(DeviceCoordinateCache)`` on each axis, see
``widgets.trend_axes.cache_axis``); ``setData`` on every curve, the same scroll and
the same grid. The bare plot without the axis cache, the earlier baseline, is
reported beside it, labelled: it made ours look 2-3.7x faster than it is.
Both paint offscreen into a QImage of the same size, in alternating rounds of the
same run; the best round of each side is reported.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import time

import numpy as np

PENS = 8
POINTS = 100_000
FRAMES = 60
ROUNDS = 3
SIZE = (1200, 600)
END = 1_800_000_000.0
UNITS = ("%", "°C", "mm/s", "m³/h")


def _data() -> tuple[np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(5)
    ts = END - POINTS + np.arange(POINTS, dtype=float)
    values = []
    for pen in range(PENS):
        walk = np.cumsum(rng.normal(0, 0.2, POINTS)) + 50 + 10 * pen
        walk[20_000 + pen * 1000 : 21_000 + pen * 1000] = np.nan  # one bad span per pen
        values.append(walk)
    return ts, values


def _paint(widget, image) -> None:
    from PySide6.QtWidgets import QWidget

    # QWidget.render (a paint event), not QGraphicsView.render (the scene only): one path for both
    QWidget.render(widget, image)


def _ours(ts: np.ndarray, values: list[np.ndarray], units: tuple[str, ...]) -> float:
    from PySide6.QtGui import QImage

    from hmi.model import Quality, Sample
    from widgets.trend import TrendWidget

    clock = [END]
    widget = TrendWidget(span=float(POINTS), clock=lambda: clock[0])
    widget.resize(*SIZE)
    quality = np.full(POINTS, int(Quality.GOOD), np.int8)
    for pen, series in enumerate(values):
        name = f"PEN{pen}"
        widget.add_pen(name, units[pen % len(units)])
        pen_quality = quality.copy()
        pen_quality[np.isnan(series)] = int(Quality.BAD)
        widget.set_history(name, ts, np.nan_to_num(series), pen_quality)
    widget.show()
    image = QImage(*SIZE, QImage.Format.Format_ARGB32_Premultiplied)
    widget.refresh()
    _paint(widget, image)
    began = time.perf_counter()
    for frame in range(FRAMES):
        clock[0] = END + frame + 1
        for pen in range(PENS):
            widget.append(f"PEN{pen}", Sample.good(50.0 + pen, clock[0]))
        widget.refresh()
        _paint(widget, image)
    elapsed = time.perf_counter() - began
    widget.close()
    widget.deleteLater()
    return FRAMES / elapsed


def _bare(ts: np.ndarray, values: list[np.ndarray], axis_cache: bool = True) -> float:
    import pyqtgraph as pg
    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QGraphicsItem

    plot = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem(orientation="bottom")})
    plot.resize(*SIZE)
    item = plot.getPlotItem()
    item.setDownsampling(auto=True, mode="peak")
    item.setClipToView(True)
    item.showGrid(x=True, y=True, alpha=0.25)  # the same chart as ours: grid lines cost paint time
    if axis_cache:  # a pixmap per axis, repainted when its range changes: what ours does
        for name in ("left", "bottom"):
            item.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    grown_ts = np.concatenate([ts, END + 1 + np.arange(FRAMES, dtype=float)])
    grown = [np.concatenate([series, np.full(FRAMES, 50.0)]) for series in values]
    curves = [
        item.plot(ts, series, pen=pg.mkPen(pg.intColor(i), width=1), connect="finite")
        for i, series in enumerate(values)
    ]
    plot.show()
    image = QImage(*SIZE, QImage.Format.Format_ARGB32_Premultiplied)
    item.setXRange(END - POINTS, END, padding=0)
    _paint(plot, image)
    began = time.perf_counter()
    for frame in range(FRAMES):
        now = END + frame + 1
        n = POINTS + frame + 1
        for curve, series in zip(curves, grown, strict=True):
            curve.setData(grown_ts[:n], series[:n], connect="finite")
        item.setXRange(now - POINTS, now, padding=0)
        _paint(plot, image)
    elapsed = time.perf_counter() - began
    plot.close()
    plot.deleteLater()
    return FRAMES / elapsed


def run() -> dict[str, float | int | str]:
    """Frames per second of ours and of bare pyqtgraph, and their ratio (ours / bare)."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    ts, values = _data()
    # alternating rounds, best of each: a burst of load from another process hits one round, not a side
    bare = bare_uncached = ours = ours_axes = 0.0
    for _ in range(ROUNDS):
        bare = max(bare, _bare(ts, values))
        bare_uncached = max(bare_uncached, _bare(ts, values, axis_cache=False))
        ours = max(ours, _ours(ts, values, ("%",)))
        ours_axes = max(ours_axes, _ours(ts, values, UNITS))
        app.processEvents()
    return {
        "pens": PENS,
        "points_per_pen": POINTS,
        "image": f"{SIZE[0]}x{SIZE[1]}",
        "frames": FRAMES,
        "rounds": ROUNDS,
        "ours_fps": round(ours, 1),
        "bare_pyqtgraph_fps": round(bare, 1),
        "ratio": round(ours / bare, 2),
        "ours_4_unit_axes_fps": round(ours_axes, 1),
        "superseded_bare_without_axis_cache_fps": round(bare_uncached, 1),
        "superseded_ratio": round(ours / bare_uncached, 2),
    }
