"""The trend's pyqtgraph plot, and its y axes: one per engineering unit, the first on the left."""

from __future__ import annotations

from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem

from widgets import palette

AxisPen = tuple[pg.PlotDataItem, str, str]
"""(curve, units, colour) of one pen."""


def trend_plot_widget() -> pg.PlotWidget:
    """A plot with a date axis in the palette's look, peak downsampling and clip-to-view, no menu."""
    widget = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem(orientation="bottom")})
    widget.setBackground(palette.TREND_BACKGROUND)
    widget.setAcceptDrops(False)  # drops land on the trend widget around it, not on the scene
    widget.viewport().setAcceptDrops(False)
    plot_item = widget.getPlotItem()
    plot_item.setDownsampling(auto=True, mode="peak")  # the pyqtgraph 0.14 way: per PlotItem
    plot_item.setClipToView(True)
    plot_item.showGrid(x=True, y=True, alpha=palette.TREND_GRID_ALPHA)
    plot_item.setMenuEnabled(False)
    plot_item.hideButtons()
    time_only(plot_item.vb)
    for name in ("left", "bottom", "right"):
        axis = plot_item.getAxis(name)
        axis.setPen(pg.mkPen(palette.TEXT_DIM))
        axis.setTextPen(pg.mkPen(palette.TEXT))
        cache_axis(axis)
    return widget


def time_only(view: pg.ViewBox) -> None:
    """Drag pans and the wheel zooms the time axis only; y stays on auto scale, so no trace is clipped."""
    view.setMouseEnabled(x=True, y=False)
    view.setMouseMode(pg.ViewBox.PanMode)


def cache_axis(axis: pg.AxisItem) -> None:
    """Keep the axis (labels, and grid lines when on) as a pixmap, repainted only when its range changes.

    Replaying an axis' text costs ~5 ms per axis per frame on a software raster, more than
    all the curves; a y axis seldom changes between frames.
    """
    axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


class UnitAxes:
    """Places each curve in the view of its unit, creating a view and an axis for a new unit.

    Extra views share the main view's time axis; ``on_manual_change`` is called
    when the operator zooms one of them.
    """

    def __init__(self, plot_item: pg.PlotItem, on_manual_change: Callable[..., None]) -> None:
        self._plot_item = plot_item
        self._on_manual_change = on_manual_change
        self._views: dict[str, pg.ViewBox] = {}
        self._extra_axes: list[pg.AxisItem] = []
        plot_item.vb.sigResized.connect(self._align_views)

    @property
    def units(self) -> list[str]:
        """Units that have an axis, left first."""
        return list(self._views)

    def view_of(self, units: str) -> pg.ViewBox:
        """The view (and so the y scale) of a unit."""
        return self._views[units]

    def attach(self, curve: pg.PlotDataItem, units: str, colour: str) -> None:
        """Add ``curve`` to its unit's view with peak downsampling and clip-to-view."""
        view = self._view_for(units, colour)
        if view is self._plot_item.vb:
            self._plot_item.addItem(curve)  # takes the PlotItem's downsampling and clip settings
        else:
            view.addItem(curve)
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)

    def rebuild(self, pens: list[AxisPen]) -> None:
        """Start over with these pens (after one was removed): no axis stays without a pen.

        The curves come back empty: the owner pushes their data again.
        """
        main = self._plot_item.vb
        for curve in list(self._plot_item.listDataItems()):
            self._plot_item.removeItem(curve)
        scene = self._plot_item.scene()
        for view in self._views.values():
            if view is not main:
                for item in list(view.addedItems):
                    view.removeItem(item)
                scene.removeItem(view)
        for axis in self._extra_axes:
            self._plot_item.layout.removeItem(axis)
            scene.removeItem(axis)
        self._extra_axes.clear()
        self._views.clear()
        self._plot_item.hideAxis("right")
        self._plot_item.getAxis("left").setLabel("")
        for curve, units, colour in pens:
            # emptied first: pyqtgraph recomputes a curve with data while it is re-parented, and fails
            curve.clear()
            self.attach(curve, units, colour)

    def auto_range_y(self) -> None:
        """Every y axis back on auto scale."""
        for view in self._views.values():
            view.enableAutoRange(axis=pg.ViewBox.YAxis)

    def _view_for(self, units: str, colour: str) -> pg.ViewBox:
        if units in self._views:
            return self._views[units]
        if not self._views:
            view, axis = self._plot_item.vb, self._plot_item.getAxis("left")
        else:
            view = pg.ViewBox(enableMenu=False)
            view.setAutoVisible(y=True)
            time_only(view)
            if len(self._views) == 1:
                axis = self._plot_item.getAxis("right")
            else:
                axis = pg.AxisItem("right")
                self._plot_item.layout.addItem(axis, 2, len(self._views) + 1)
                self._extra_axes.append(axis)
            self._plot_item.showAxis("right")
            self._plot_item.scene().addItem(view)
            axis.linkToView(view)
            view.setXLink(self._plot_item.vb)
            view.sigRangeChangedManually.connect(self._on_manual_change)
            axis.setPen(pg.mkPen(palette.TEXT_DIM))
            cache_axis(axis)
        axis.setLabel(units or "value", color=colour)
        axis.setTextPen(pg.mkPen(colour))
        self._views[units] = view
        self._align_views()
        return view

    def _align_views(self, *_: object) -> None:
        main = self._plot_item.vb
        for view in self._views.values():
            if view is not main:
                view.setGeometry(main.sceneBoundingRect())
                view.linkedViewChanged(main, view.XAxis)
