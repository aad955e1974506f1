"""The trend under a real mouse: drag pans time, a click pins the cursor, the wheel zooms time only, reset."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from hmi.model import DataType, Sample, TagDef
from hmi.project.config import HistorySettings, Project, TrendDef
from hmi.ui.futures import FutureRelay
from hmi.ui.trend_panel import TrendPanel
from widgets.trend import TrendWidget

pytestmark = pytest.mark.gui

NOW = 1_700_000_000.0
SPAN = 600.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def fill(trend: TrendWidget) -> None:
    """A sine in % and a ramp in °C on very different scales, one sample every 5 s over the span."""
    for k in range(int(SPAN / 5) + 1):
        ts = NOW - SPAN + 5 * k
        trend.append("LEVEL", Sample.good(50 + 40 * math.sin(k / 7), ts))
        trend.append("TEMP", Sample.good(1000 + 3 * k, ts))
    trend.refresh()


@pytest.fixture
def panel(qtbot):
    """A trend panel on two pens with live data, shown at a real size."""
    tags = {
        "LEVEL": TagDef("LEVEL", "plc1", "hr:0", DataType.FLOAT32, units="%"),
        "TEMP": TagDef("TEMP", "plc1", "hr:2", DataType.FLOAT32, units="°C"),
    }
    project = Project("Trend", Path("."), {}, {}, tags, {}, HistorySettings(Path("h.db")), {})
    relay = FutureRelay()
    widget = TrendPanel(TrendDef("t", "T", ("LEVEL", "TEMP"), SPAN), project, relay, clock=Clock())
    qtbot.addWidget(widget)
    widget.resize(900, 500)
    widget.show()
    qtbot.waitExposed(widget)
    fill(widget.trend)
    QApplication.processEvents()
    yield widget
    widget.close_panel()
    relay.close()


def viewport(trend: TrendWidget):
    return trend._plot_widget.viewport()


def at_time(trend: TrendWidget, ts: float, y_share: float = 0.5) -> QPoint:
    """The viewport pixel over time ``ts``, ``y_share`` of the way down the plot."""
    view = trend.plot_item.vb
    rect = view.sceneBoundingRect()
    scene_x = view.mapViewToScene(pg.Point(ts, 0)).x()
    scene = QPointF(scene_x, rect.top() + y_share * rect.height())
    return trend._plot_widget.mapFromScene(scene)


def seconds_per_pixel(trend: TrendWidget) -> float:
    start, end = trend.visible_range()
    return (end - start) / trend.plot_item.vb.sceneBoundingRect().width()


def y_ranges(trend: TrendWidget) -> list[list[float]]:
    return [list(trend._axes.view_of(units).viewRange()[1]) for units in trend._axes.units]


def assert_no_trace_clipped(trend: TrendWidget) -> None:
    """Every y axis on auto scale, and every visible point of every pen inside its axis' range."""
    QApplication.processEvents()
    trend.refresh()
    start, end = trend.visible_range()
    for units, name in (("%", "LEVEL"), ("°C", "TEMP")):
        view = trend._axes.view_of(units)
        assert view.state["autoRange"][1], f"{units}: y left auto scale"
        low, high = view.viewRange()[1]
        ts, values = trend.data(name)
        shown = values[(ts >= start) & (ts <= end)]
        if len(shown):
            assert low <= float(np.nanmin(shown)) and float(np.nanmax(shown)) <= high, units


def hover(qtbot, trend: TrendWidget, point: QPoint) -> None:
    """Move the mouse over ``point`` (by way of a neighbour: Qt drops a move to where it last saw it)."""
    for step in (point + QPoint(7, 3), point):
        QTest.mouseMove(viewport(trend), step)
        qtbot.wait(15)


def drag(qtbot, trend: TrendWidget, start: QPoint, end: QPoint, steps: int = 8) -> None:
    """A left-button drag with intermediate moves, as a hand makes it."""
    target = viewport(trend)
    hover(qtbot, trend, start)
    QTest.mousePress(target, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for step in range(1, steps + 1):
        point = start + (end - start) * step / steps
        qtbot.wait(15)  # pyqtgraph drops mouse moves closer than 10 ms: a hand is slower than that
        QTest.mouseMove(target, point)
    QTest.mouseRelease(target, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    QApplication.processEvents()


def wheel(trend: TrendWidget, at: QPoint, clicks: int) -> None:
    target = viewport(trend)
    event = QWheelEvent(
        QPointF(at),
        QPointF(target.mapToGlobal(at)),
        QPoint(0, 0),
        QPoint(0, 120 * clicks),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(target, event)
    QApplication.processEvents()


@pytest.mark.parametrize("dx", [-240, -60, 80, 300])
@pytest.mark.parametrize("dy", [0, 90])
@pytest.mark.parametrize("from_cursor", [True, False])
def test_dragging_pans_time_and_never_moves_the_cursor(qtbot, panel, dx, dy, from_cursor):
    trend = panel.trend
    start_point = at_time(trend, NOW - 300, 0.3)
    if from_cursor:
        hover(qtbot, trend, start_point)  # the cursor follows the mouse: it is right there
        assert trend.cursor.time == pytest.approx(NOW - 300, abs=2 * seconds_per_pixel(trend))
    else:
        trend.cursor.place(NOW - 450)  # pinned elsewhere
    grabbed = trend.cursor.time
    before, per_px = trend.visible_range(), seconds_per_pixel(trend)

    drag(qtbot, trend, start_point, start_point + QPoint(dx, dy))

    after = trend.visible_range()
    assert trend.paused and not panel.live_button.isChecked()
    shift = after[0] - before[0]
    assert shift == pytest.approx(-dx * per_px, rel=0.1, abs=3 * per_px)
    assert after[1] - after[0] == pytest.approx(before[1] - before[0])  # a pan, not a zoom
    # the time under the hand stayed under it: an unpinned cursor reads the same time, a pinned one stays
    assert trend.cursor.time == pytest.approx(grabbed, abs=3 * per_px)
    assert_no_trace_clipped(trend)  # y was not dragged: it still fits what is visible


@pytest.mark.parametrize("share", [0.1, 0.5, 0.9])
def test_a_click_pins_the_cursor_and_another_frees_it(qtbot, panel, share):
    trend = panel.trend
    start, end = trend.visible_range()
    ts = start + share * (end - start)
    point = at_time(trend, ts)
    qtbot.mouseClick(viewport(trend), Qt.MouseButton.LeftButton, pos=point)
    assert trend.cursor.pinned
    assert trend.cursor.time == pytest.approx(ts, abs=2 * seconds_per_pixel(trend))
    hover(qtbot, trend, at_time(trend, start + 0.02 * (end - start)))
    assert trend.cursor.time == pytest.approx(ts, abs=2 * seconds_per_pixel(trend))  # pinned stays
    assert not trend.paused  # a click is not a pan
    qtbot.wait(400)  # past the double-click interval: the next click is a click of its own
    qtbot.mouseClick(viewport(trend), Qt.MouseButton.LeftButton, pos=point)
    assert not trend.cursor.pinned


@pytest.mark.parametrize("clicks", [-3, -1, 1, 2, 4])
@pytest.mark.parametrize("share", [0.25, 0.75])
def test_the_wheel_zooms_time_only_and_clips_no_trace(qtbot, panel, clicks, share):
    trend = panel.trend
    start, end = trend.visible_range()
    anchor = start + share * (end - start)
    y_before = y_ranges(trend)

    wheel(trend, at_time(trend, anchor, 0.6), clicks)

    new_start, new_end = trend.visible_range()
    assert trend.paused
    if clicks > 0:
        assert new_end - new_start < end - start  # zoomed in
    else:
        assert new_end - new_start > end - start
    # zoomed about the mouse: the time under it stays put
    assert (anchor - new_start) / (new_end - new_start) == pytest.approx(share, abs=0.02)
    assert_no_trace_clipped(trend)
    if clicks > 0:  # zooming in on a part of the ramp narrows its y range to what is visible
        assert y_ranges(trend)[1][1] - y_ranges(trend)[1][0] <= y_before[1][1] - y_before[1][0] + 1e-9


def _zoom_and_pan(qtbot, panel) -> None:
    trend = panel.trend
    wheel(trend, at_time(trend, NOW - 200), 3)
    drag(qtbot, trend, at_time(trend, NOW - 150), at_time(trend, NOW - 150) + QPoint(150, 40))
    assert trend.paused


def _assert_at_preset(panel) -> None:
    trend = panel.trend
    assert not trend.paused and panel.live_button.isChecked()
    start, end = trend.visible_range()
    assert (start, end) == pytest.approx((NOW - SPAN, NOW))
    assert all(trend._axes.view_of(units).state["autoRange"][1] for units in trend._axes.units)


def test_the_reset_button_returns_to_the_preset(qtbot, panel):
    _zoom_and_pan(qtbot, panel)
    qtbot.mouseClick(panel.toolbar.reset_button, Qt.MouseButton.LeftButton)
    _assert_at_preset(panel)


def test_a_double_click_returns_to_the_preset(qtbot, panel):
    _zoom_and_pan(qtbot, panel)
    # what a window system delivers for a double-click: press, release, double-click, release
    target, at, left = viewport(panel.trend), at_time(panel.trend, NOW - 100), Qt.MouseButton.LeftButton
    QTest.mouseClick(target, left, Qt.KeyboardModifier.NoModifier, at)
    QTest.mouseDClick(target, left, Qt.KeyboardModifier.NoModifier, at)
    QTest.mouseRelease(target, left, Qt.KeyboardModifier.NoModifier, at)
    QApplication.processEvents()
    _assert_at_preset(panel)


def test_home_returns_to_the_preset_chosen_last(qtbot, panel):
    qtbot.mouseClick(panel.toolbar.preset_buttons[3600.0], Qt.MouseButton.LeftButton)
    _zoom_and_pan(qtbot, panel)
    qtbot.mouseClick(viewport(panel.trend), Qt.MouseButton.LeftButton, pos=at_time(panel.trend, NOW - 100))
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Home)
    QApplication.processEvents()
    trend = panel.trend
    assert not trend.paused
    assert trend.visible_range() == pytest.approx((NOW - 3600, NOW))


def test_before_any_cursor_the_readout_shows_the_latest_values_then_follows_the_mouse(qtbot, panel):
    trend, table = panel.trend, panel.pen_table
    assert table.cursor_label.text().startswith("Latest at ")
    assert table.reading_text("TEMP")[0].startswith("1360")  # the ramp's last sample
    trend._clock.now = NOW + 5  # a new sample one period on: the readout follows it
    trend.append("TEMP", Sample.good(1363.0, NOW + 5))
    trend.refresh()
    assert table.reading_text("TEMP")[0].startswith("1363")
    start, end = trend.visible_range()
    hover(qtbot, trend, at_time(trend, start + 0.5 * (end - start)))
    assert table.cursor_label.text().startswith("Cursor: ")
    assert not table.reading_text("TEMP")[0].startswith("1363")  # the value under the cursor, earlier
    trend.append("TEMP", Sample.good(1366.0, NOW + 6))
    trend.refresh()
    assert table.cursor_label.text().startswith("Cursor: "), "once shown, the cursor keeps the readout"
