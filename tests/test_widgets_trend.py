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
    legend_labels = [label.text for _, label in trend.legend.items]
    assert "TANK1.TEMP [°C]" in legend_labels
    with pytest.raises(ValueError, match="already has a pen"):
        trend.add_pen("TANK1.TEMP")


def test_redraws_only_what_changed(trend):
    trend.append("TANK1.LEVEL", Sample.good(1.0, NOW - 10))
    trend.append("TANK1.LEVEL", Sample.bad(Reason.COMM_FAILURE, None, NOW - 5))  # no held tail
    trend.refresh()
    assert trend.redraw_count == 1
    trend.refresh()
    assert trend.redraw_count == 1
    trend.append("TANK1.TEMP", Sample.bad(Reason.NOT_CONNECTED, None, NOW - 1))
    trend.refresh()
    assert trend.redraw_count == 2


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
