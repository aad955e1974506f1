"""TrendWidget: cheap appends, backfill, bad quality as gaps, pyqtgraph settings and a timer that stops."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest

from hmi.model import Quality, Reason, Sample
from widgets.trend import TraceBuffer, TrendWidget

pytestmark = [
    pytest.mark.gui,
    # showing a top-level widget with a layout makes the offscreen plugin say this; it is harmless
    pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints"),
]

NOW = 1_800_000_000.0


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def trend(qtbot, clock) -> TrendWidget:
    widget = TrendWidget(span=600, clock=clock)
    qtbot.addWidget(widget)
    widget.resize(640, 320)
    widget.add_pen("TANK1.LEVEL", "%")
    widget.add_pen("TANK1.TEMP", "°C")
    return widget


def curve_data(trend: TrendWidget, name: str) -> tuple[np.ndarray, np.ndarray]:
    x, y = trend.curve(name).getData()
    return (np.array([]), np.array([])) if x is None else (x, y)


def test_append_stores_without_drawing_until_the_timer_tick(trend):
    for i in range(50):
        trend.append("TANK1.LEVEL", Sample.good(float(i), NOW - 50 + i))
    ts, values = trend.data("TANK1.LEVEL")
    assert len(ts) == 50 and values[-1] == 49.0
    assert trend.redraw_count == 0
    assert len(curve_data(trend, "TANK1.LEVEL")[0]) == 0

    trend.refresh()
    x, y = curve_data(trend, "TANK1.LEVEL")
    assert y[:50].tolist() == [float(i) for i in range(50)]
    assert x[-1] == NOW and y[-1] == 49.0  # the last good value is held up to now


def test_bad_quality_is_a_gap_that_starts_at_the_bad_sample(trend):
    trend.append("TANK1.LEVEL", Sample.good(10.0, NOW - 30))
    trend.append("TANK1.LEVEL", Sample.bad(Reason.COMM_FAILURE, 10.0, NOW - 20))
    trend.append("TANK1.LEVEL", Sample(12.0, Quality.UNCERTAIN, NOW - 10, Reason.STALE))
    trend.append("TANK1.LEVEL", Sample.good(13.0, NOW - 5))
    ts, values = trend.data("TANK1.LEVEL")
    assert ts.tolist() == [NOW - 30, NOW - 20, NOW - 20, NOW - 10, NOW - 5]
    assert values[:2].tolist() == [10.0, 10.0]  # held until the failure...
    assert np.isnan(values[2])  # ...then nothing is drawn
    assert values[3:].tolist() == [12.0, 13.0]
    trend.refresh()
    assert trend.curve("TANK1.LEVEL").opts["connect"] == "finite"
    assert np.isnan(curve_data(trend, "TANK1.LEVEL")[1]).sum() == 1


def test_non_numeric_values_are_gaps_too(trend):
    trend.append("TANK1.LEVEL", Sample.good("n/a", NOW))
    assert np.isnan(trend.data("TANK1.LEVEL")[1][-1])


def test_backfill_marks_bad_history_and_keeps_newer_live_points(trend):
    trend.append("TANK1.TEMP", Sample.good(99.0, NOW - 70))  # within the history span: replaced
    trend.append("TANK1.TEMP", Sample.good(61.0, NOW - 5))  # newer: kept
    ts = NOW - 100 + np.arange(10.0) * 5
    values = 60.0 + np.arange(10.0)
    quality = np.full(10, int(Quality.GOOD))
    quality[4:6] = int(Quality.BAD)
    trend.set_history("TANK1.TEMP", ts, values, quality)
    got_ts, got = trend.data("TANK1.TEMP")
    assert got_ts[-1] == NOW - 5 and got[-1] == 61.0
    assert 99.0 not in got
    assert np.isnan(got).sum() == 2
    gap_start = int(np.flatnonzero(np.isnan(got))[0])
    assert got_ts[gap_start - 1] == got_ts[gap_start]  # value held to the start of the bad span
    assert got[gap_start - 1] == 63.0


def test_unsorted_history_is_sorted(trend):
    trend.set_history("TANK1.LEVEL", np.array([NOW - 1, NOW - 3, NOW - 2]), np.array([1.0, 3.0, 2.0]), None)
    assert trend.data("TANK1.LEVEL")[1].tolist() == [3.0, 2.0, 1.0]


def test_late_sample_is_inserted_in_order(trend):
    for t in (NOW - 3, NOW - 1):
        trend.append("TANK1.LEVEL", Sample.good(t - NOW, t))
    trend.append("TANK1.LEVEL", Sample.good(-2.0, NOW - 2))
    assert trend.data("TANK1.LEVEL")[1].tolist() == [-3.0, -2.0, -1.0]


def test_peak_downsampling_and_clip_to_view_on_every_pen(trend):
    _, auto, mode = trend.plot_item.downsampleMode()
    assert (auto, mode) == (True, "peak")
    assert trend.plot_item.clipToViewMode()
    for name in trend.pen_names:
        opts = trend.curve(name).opts
        assert (opts["autoDownsample"], opts["downsampleMethod"], opts["clipToView"]) == (True, "peak", True)


def test_each_unit_gets_its_own_axis(trend):
    trend.add_pen("TANK1.LEVEL.SP", "%")
    trend.add_pen("PUMP1.VIBRATION", "mm/s")
    views = {name: trend.curve(name).getViewBox() for name in trend.pen_names}
    assert views["TANK1.LEVEL"] is views["TANK1.LEVEL.SP"] is trend.plot_item.vb
    assert len({id(v) for v in views.values()}) == 3
    assert trend.plot_item.getAxis("right").isVisible()
    assert "°C" in trend.plot_item.getAxis("right").labelText
    with pytest.raises(ValueError, match="already has a pen"):
        trend.add_pen("TANK1.TEMP")


def test_redraws_only_what_changed(trend):
    trend.append("TANK1.LEVEL", Sample.good(1.0, NOW - 10))
    trend.append("TANK1.LEVEL", Sample.bad(Reason.COMM_FAILURE, None, NOW - 5))  # no held tail
    trend.refresh()
    first = trend.redraw_count  # the new pens draw once, empty
    trend.refresh()
    assert trend.redraw_count == first
    trend.append("TANK1.TEMP", Sample.bad(Reason.NOT_CONNECTED, None, NOW - 1))
    trend.refresh()
    assert trend.redraw_count == first + 1


def test_scrolls_with_the_clock_and_pauses(qtbot, trend, clock):
    trend.refresh()
    assert trend.plot_item.vb.viewRange()[0] == pytest.approx([NOW - 600, NOW])
    trend.set_span(60)
    clock.now += 30
    trend.refresh()
    assert trend.plot_item.vb.viewRange()[0] == pytest.approx([NOW - 30, NOW + 30])

    with qtbot.waitSignal(trend.sig_paused_changed) as paused:
        trend.pause()
    assert paused.args == [True] and trend.paused
    clock.now += 100
    trend.refresh()
    assert trend.plot_item.vb.viewRange()[0] == pytest.approx([NOW - 30, NOW + 30])
    with qtbot.waitSignal(trend.sig_paused_changed) as resumed:
        trend.resume()
    assert resumed.args == [False]
    assert trend.plot_item.vb.viewRange()[0] == pytest.approx([NOW + 70, NOW + 130])


def test_operator_zoom_pauses_scrolling(trend):
    trend.plot_item.vb.sigRangeChangedManually.emit([True, False])
    assert trend.paused


def test_timer_runs_only_while_shown_and_stops_on_close(qtbot, trend):
    assert not trend.timer_active
    trend.show()
    qtbot.waitExposed(trend)
    assert trend.timer_active
    trend.append("TANK1.LEVEL", Sample.good(5.0, NOW))
    qtbot.waitUntil(lambda: trend.redraw_count > 0, timeout=2000)
    trend.hide()
    assert not trend.timer_active
    trend.show()
    assert trend.timer_active
    trend.close()
    assert not trend.timer_active


def test_delete_later_leaves_nothing_running(qtbot, clock):
    widget = TrendWidget(clock=clock)
    widget.add_pen("A")
    widget.show()
    timer = widget._timer
    with qtbot.waitSignal(widget.destroyed, timeout=2000):
        widget.deleteLater()
    with pytest.raises(RuntimeError):
        timer.isActive()  # the timer went with its widget


def test_trace_buffer_stays_bounded():
    buffer = TraceBuffer(max_points=4000)
    for i in range(10_000):
        buffer.append(float(i), float(i))
    assert len(buffer) <= 4000
    assert buffer.ts[-1] == 9999.0
    assert np.all(np.diff(buffer.ts) > 0)


def test_parent_comes_first_as_for_any_qt_widget(qtbot):
    from PySide6.QtWidgets import QWidget

    holder = QWidget()
    qtbot.addWidget(holder)
    child = TrendWidget(holder)
    assert child.parent() is holder and child.span == 600.0


def test_date_axis_on_the_bottom(trend):
    assert isinstance(trend.plot_item.getAxis("bottom"), pg.DateAxisItem)


def test_remove_pen_drops_its_curve_and_an_axis_left_without_pens(trend):
    trend.add_pen("PUMP1.VIBRATION", "mm/s")
    assert len(trend._axes.units) == 3
    vibration_curve = trend.curve("PUMP1.VIBRATION")
    trend.remove_pen("TANK1.TEMP")
    assert trend.pen_names == ["TANK1.LEVEL", "PUMP1.VIBRATION"]
    assert trend._axes.units == ["%", "mm/s"]
    assert vibration_curve.getViewBox() is not trend.plot_item.vb
    assert "mm/s" in trend.plot_item.getAxis("right").labelText
    trend.remove_pen("TANK1.LEVEL")
    assert trend.curve("PUMP1.VIBRATION").getViewBox() is trend.plot_item.vb  # the left axis now
    assert not trend.plot_item.getAxis("right").isVisible()
    trend.add_pen("TANK1.LEVEL", "%")  # a removed pen's colour is free again
    assert trend.pen_colour("TANK1.LEVEL") != trend.pen_colour("PUMP1.VIBRATION")


def test_refresh_rate_is_clamped_between_1_and_30_hz(trend):
    trend.set_refresh_rate(100)
    assert trend.refresh_rate == pytest.approx(30, rel=0.05)
    trend.set_refresh_rate(0.1)
    assert trend.refresh_rate == pytest.approx(1)


def test_cursor_reads_each_pens_value_and_quality_at_its_time(qtbot, trend):
    trend.append("TANK1.LEVEL", Sample.good(10.0, NOW - 30))
    trend.append("TANK1.LEVEL", Sample.bad(Reason.COMM_FAILURE, 10.0, NOW - 20))
    trend.append("TANK1.TEMP", Sample(40.0, Quality.UNCERTAIN, NOW - 25, Reason.STALE))
    with qtbot.waitSignal(trend.sig_cursor_moved) as moved:
        trend.cursor.place(NOW - 22)
    assert moved.args == [NOW - 22] and trend.cursor.pinned
    readings = trend.readings_at(NOW - 22)
    assert readings["TANK1.LEVEL"].value == 10.0 and readings["TANK1.LEVEL"].quality is Quality.GOOD
    assert readings["TANK1.TEMP"].quality is Quality.UNCERTAIN
    bad = trend.readings_at(NOW - 15)["TANK1.LEVEL"]
    assert bad.quality is Quality.BAD and np.isnan(bad.value)
    assert trend.readings_at(NOW - 100) == {"TANK1.LEVEL": None, "TANK1.TEMP": None}


def test_bad_quality_spans_are_shaded_until_good_data_returns(trend):
    trend.append("TANK1.LEVEL", Sample.good(10.0, NOW - 30))
    trend.append("TANK1.LEVEL", Sample.bad(Reason.COMM_FAILURE, None, NOW - 20))
    trend.append("TANK1.LEVEL", Sample.good(11.0, NOW - 10))
    trend.append("TANK1.TEMP", Sample.bad(Reason.NOT_CONNECTED, None, NOW - 5))  # still bad: up to now
    trend.refresh()
    spans = {tuple(map(tuple, (s, e))) for _, s, e in trend.bands._spans if len(s)}
    assert spans == {((NOW - 20,), (NOW - 10,)), ((NOW - 5,), (NOW,))}
    assert trend.bands.span_count == 2


def test_a_dropped_tag_is_handed_to_the_owner(qtbot, trend):
    from PySide6.QtCore import QMimeData, QPointF, Qt
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    from widgets.trend_mime import TAG_MIME_TYPE, tag_from_mime, tag_mime_data

    mime = tag_mime_data("PUMP1.SPEED")
    assert mime.hasFormat(TAG_MIME_TYPE) and tag_from_mime(mime) == "PUMP1.SPEED"
    assert tag_from_mime(QMimeData()) is None
    enter = QDragEnterEvent(
        trend.rect().center(),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(trend, enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        QPointF(20, 20),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(trend.sig_tag_dropped) as dropped:
        QApplication.sendEvent(trend, drop)
    assert dropped.args == ["PUMP1.SPEED"]


def test_paused_shows_loaded_history_and_live_again_on_resume(trend, clock):
    trend.append("TANK1.LEVEL", Sample.good(5.0, NOW - 1))
    trend.show_time_range(NOW - 7300, NOW - 7100)
    assert trend.paused
    ts = NOW - 7200 + np.arange(10.0)
    trend.show_history("TANK1.LEVEL", ts, np.arange(10.0), None)
    assert trend.series("TANK1.LEVEL").ts[0] == NOW - 7200
    trend.refresh()
    assert curve_data(trend, "TANK1.LEVEL")[1][0] == 0.0
    trend.resume()
    assert trend.series("TANK1.LEVEL").values.tolist() == [5.0]


def test_peak_decimation_keeps_every_peak_and_the_edges():
    from widgets.trend_buffer import peak_decimate

    ts = np.arange(100_000.0)
    values = np.zeros(100_000)
    values[54_321] = 9.0
    values[77_777] = -4.0
    values[60_000:60_010] = np.nan
    x, y = peak_decimate(ts, values, 10_000, 90_000, 400)
    assert len(x) <= 2 * 400 + 2 * 200 + 4
    assert np.nanmax(y) == 9.0 and np.nanmin(y) == -4.0
    assert np.isnan(y).any()  # the gap survives
    assert x[0] <= 10_000 and x[-1] >= 90_000
    small_x, _ = peak_decimate(ts[:50], values[:50], 0, 49, 400)
    assert len(small_x) == 50  # nothing to decimate


def test_curves_get_at_most_a_few_points_per_pixel(trend):
    trend.set_span(100_000)
    ts = NOW - 100_000 + np.arange(100_000.0)
    trend.set_history("TANK1.LEVEL", ts, np.sin(ts / 500), None)
    trend.refresh()
    x, _ = curve_data(trend, "TANK1.LEVEL")
    assert len(x) <= 4 * trend.plot_width_px() + 10


def test_cursor_follows_the_mouse_until_a_click_pins_it(trend):
    trend.show()
    view = trend.plot_item.vb
    scene = trend.plot_item.scene()
    inside = view.mapViewToScene(pg.Point(NOW - 300, 0))
    scene.sigMouseMoved.emit(inside)
    assert trend.cursor.time == pytest.approx(NOW - 300) and not trend.cursor.pinned
    trend.cursor.place(NOW - 100)  # a click pins it
    scene.sigMouseMoved.emit(view.mapViewToScene(pg.Point(NOW - 500, 0)))
    assert trend.cursor.time == pytest.approx(NOW - 100)
    trend.close()


def test_a_span_still_bad_grows_with_the_clock(trend, clock):
    trend.append("TANK1.LEVEL", Sample.bad(Reason.COMM_FAILURE, None, NOW - 5))
    trend.refresh()
    clock.now += 30
    trend.refresh()  # no new sample: the runtime sends changes only
    [(_, starts, ends)] = [spans for spans in trend.bands._spans if len(spans[1])]
    assert (starts[0], ends[0]) == (NOW - 5, NOW + 30)
