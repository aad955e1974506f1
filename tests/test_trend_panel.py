"""The trend viewer: backfill, history loads on pan and zoom (debounced, stale results dropped), presets,
pens from the tag list or a drop, the cursor readout, CSV and PNG export."""

import csv
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage
from PySide6.QtWidgets import QApplication

from hmi.historian.writer import HistoryWriter
from hmi.model import DataType, Reason, Sample, TagDef
from hmi.project.config import HistorySettings, Project, TrendDef
from hmi.ui import trend_history
from hmi.ui.futures import FutureRelay
from hmi.ui.tag_picker import TagPicker
from hmi.ui.trend_panel import TrendPanel
from widgets.trend_mime import tag_mime_data

pytestmark = pytest.mark.gui

NOW = float(int(time.time()))


def make_project(pens=("A", "B", "C")):
    tags = {
        name: TagDef(
            name,
            "plc",
            f"hr:{i * 2}",
            DataType.FLOAT32,
            units=("%" if name != "C" else "°C"),
            description=f"tag {name}",
        )
        for i, name in enumerate(pens)
    }
    tags["TEXT"] = TagDef("TEXT", "plc", "hr:100", DataType.STRING)
    return Project(
        name="t",
        root=Path("."),
        connections={},
        scan_classes={},
        tags=tags,
        alarms={},
        history=HistorySettings(Path("h.db")),
        screens={},
        trends={},
    )


def write_history(path, seconds=7200):
    """A: a ramp 0, 1, 2... one per second; B: 1.0 with a bad span 100 s long, 1000 s ago."""
    writer = HistoryWriter(path, commit_interval=0.05)
    writer.start()
    for i in range(seconds):
        ts = NOW - seconds + i
        writer.append("A", Sample.good(float(i), ts=ts))
        bad = seconds - 1000 <= i < seconds - 900
        writer.append("B", Sample.bad(Reason.COMM_FAILURE, ts=ts) if bad else Sample.good(1.0, ts))
    writer.stop()


@pytest.fixture
def history(tmp_path):
    path = tmp_path / "history.db"
    write_history(path)
    return path


@pytest.fixture
def panel(qtbot):
    trend = TrendDef("t", "Test", ("A", "B"), span=600)
    relay = FutureRelay()
    widget = TrendPanel(trend, make_project(), relay, clock=lambda: NOW)
    qtbot.addWidget(widget)
    widget.resize(900, 500)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.close_panel()
    relay.close()


def loaded(panel, qtbot, backfill_path):
    panel.backfill(backfill_path)
    qtbot.waitUntil(lambda: panel.backfilled, timeout=5000)


def test_backfill_draws_history_with_bad_spans_as_gaps_then_appends_live(qtbot, panel, history):
    loaded(panel, qtbot, history)
    ts, values = panel.trend.data("A")
    assert ts[0] >= NOW - 600 - 1 and values[-1] == 7199.0
    _, b_values = panel.trend.data("B")
    assert np.isnan(b_values).sum() == 0  # the bad span is older than the 10 min shown
    panel.apply_values({"A": Sample.good(999.0, NOW + 1)})
    assert panel.trend.data("A")[1][-1] == 999.0


def test_live_button_follows_pause_and_resumes(panel):
    panel.trend.pause()
    assert not panel.live_button.isChecked()
    panel.live_button.click()
    assert not panel.trend.paused and panel.live_button.isChecked()


def test_panning_loads_the_visible_range_in_the_background_after_a_pause(qtbot, panel, history):
    loaded(panel, qtbot, history)
    queries = panel.loader.queries
    view = panel.trend.plot_item.vb
    for _ in range(5):  # a drag: several range changes in a row
        view.translateBy(x=-150)
        view.sigRangeChangedManually.emit([True, False])
    assert panel.trend.paused and not panel.live_button.isChecked()
    assert panel.loader.debouncing and panel.loader.queries == queries  # nothing queried while moving
    start, end = panel.trend.visible_range()
    assert end == pytest.approx(NOW - 750)
    qtbot.waitUntil(lambda: panel.trend.series("B").ts[0] <= start, timeout=5000)
    assert panel.loader.queries == queries + 1  # one query for where the view settled
    series = panel.trend.series("B")
    assert np.isnan(series.values).any()  # the bad span, 1000 s ago, is in view now
    assert panel.trend.bands.span_count >= 1
    request_width = series.ts[-1] - series.ts[0]
    assert request_width >= (end - start) * 1.4  # a margin each side for the next pan


def test_zoom_loads_with_about_two_points_per_pixel(qtbot, panel, history, monkeypatch):
    loaded(panel, qtbot, history)
    requests = []
    original = trend_history.read_range
    monkeypatch.setattr(trend_history, "read_range", lambda r, q: requests.append(q) or original(r, q))
    panel.trend.plot_item.vb.scaleBy(x=4.0)
    panel.trend.plot_item.vb.sigRangeChangedManually.emit([True, False])
    qtbot.waitUntil(lambda: bool(requests) and panel.trend.series("A").ts[0] < NOW - 1200, timeout=5000)
    request = requests[-1]
    width = panel.trend.plot_width_px()
    assert request.max_points == pytest.approx(2 * width * 1.5, rel=0.02)
    assert not request.live and request.pens == ("A", "B")


def test_a_stale_result_is_dropped_when_the_operator_moved_on(qtbot, panel, history, monkeypatch):
    loaded(panel, qtbot, history)
    started, release = threading.Event(), threading.Event()
    original = trend_history.read_range

    def slow_first(reader, request):
        if request.end < NOW - 3000:  # the first, older range: held until the second was asked for
            started.set()
            release.wait(5)
        return original(reader, request)

    monkeypatch.setattr(trend_history, "read_range", slow_first)
    panel.show_range(NOW - 5000, NOW - 4000)
    qtbot.waitUntil(started.is_set, timeout=5000)  # running: too late to cancel, its result must be dropped
    panel.show_range(NOW - 1500, NOW - 500)
    release.set()
    qtbot.waitUntil(lambda: panel.loader.stale_dropped == 1, timeout=5000)
    qtbot.waitUntil(lambda: panel.trend.series("A").ts[0] >= NOW - 1500 - 300, timeout=5000)
    assert panel.trend.visible_range() == pytest.approx((NOW - 1500, NOW - 500))


def test_history_is_read_through_plot_series_when_the_reader_has_it(tmp_path, history):
    from hmi.historian.reader import HistoryReader

    calls = []

    class Downsampling(HistoryReader):
        def plot_series(self, tag, start, end, max_points):
            calls.append((tag, max_points))
            return self.arrays(tag, start, end)

    request = trend_history.RangeRequest(("A", "missing"), NOW - 100, NOW, 500)
    series = trend_history.read_range(Downsampling(history), request)
    assert calls == [("A", 500)] and list(series) == ["A"]
    plain = trend_history.read_range(HistoryReader(history), request)
    assert len(plain["A"][0]) == len(series["A"][0])


def test_presets_set_the_live_span_and_backfill_it(qtbot, panel, history):
    loaded(panel, qtbot, history)
    panel.trend.pause()
    panel.toolbar.preset_buttons[3600.0].click()
    assert panel.trend.span == 3600 and not panel.trend.paused
    assert panel.toolbar.preset_buttons[3600.0].isChecked()
    assert panel.trend.visible_range() == pytest.approx((NOW - 3600, NOW))
    qtbot.waitUntil(lambda: panel.trend.data("A")[0][0] <= NOW - 3599, timeout=5000)


def test_custom_range_pauses_on_that_range(qtbot, panel, history):
    loaded(panel, qtbot, history)
    panel.show_range(NOW - 7000, NOW - 6000)
    assert panel.trend.paused
    assert not any(button.isChecked() for button in panel.toolbar.preset_buttons.values())
    qtbot.waitUntil(lambda: panel.trend.series("A").ts[0] <= NOW - 7000, timeout=5000)
    panel.go_live()
    assert panel.trend.visible_range() == pytest.approx((NOW - 600, NOW))


def test_cursor_readout_shows_value_units_and_quality(qtbot, panel, history):
    loaded(panel, qtbot, history)
    panel.show_range(NOW - 1200, NOW - 800)
    qtbot.waitUntil(lambda: panel.trend.series("B").ts[0] <= NOW - 1200, timeout=5000)
    panel.trend.cursor.place(NOW - 950.5)
    assert panel.pen_table.reading_text("A") == ("6249.00", "good")
    assert panel.pen_table.reading_text("B") == ("####", "bad")
    assert "Cursor: " in panel.pen_table.cursor_label.text()
    panel.trend.cursor.place(NOW - 850.5)
    assert panel.pen_table.reading_text("B") == ("1.00", "good")


def test_pens_are_added_from_the_tag_list_or_a_drop_and_removed_from_the_table(qtbot, panel):
    picker = TagPicker(panel.project.tags, exclude=panel.pens)
    qtbot.addWidget(picker)
    assert picker.visible_tags() == ["C"]  # no string tags, nothing already on the trend
    picker.filter_edit.setText("°c")
    assert picker.visible_tags() == ["C"]
    picker.filter_edit.setText("nothing like it")
    assert picker.visible_tags() == []
    picker.filter_edit.setText("tag c")
    picker.select(["C"])
    assert picker.selected_tags() == ["C"]

    mime = tag_mime_data("C")  # the event does not own it: keep it alive
    drop = QDropEvent(
        QPointF(50, 50),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(QPoint(50, 50), Qt.DropAction.CopyAction, mime, buttons, modifiers)
    QApplication.sendEvent(panel.trend, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(panel.trend, drop)
    assert panel.pens == ["A", "B", "C"] and panel.pen_table.pen_names == ["A", "B", "C"]
    assert not panel.add_pen("C") and "already" in panel.status.text()
    assert not panel.add_pen("TEXT") and not panel.add_pen("NOPE")
    remove_a = panel.pen_table.table.cellWidget(0, 5)
    remove_a.click()
    assert panel.pens == ["B", "C"] and panel.pen_table.pen_names == ["B", "C"]


def test_csv_export_of_the_live_view(qtbot, panel, tmp_path):
    panel.apply_values({"A": Sample.good(1.5, NOW - 20), "B": Sample.bad(Reason.COMM_FAILURE, ts=NOW - 10)})
    panel.apply_values({"A": Sample.good(2.5, NOW - 5)})
    out = tmp_path / "live.csv"
    assert panel.export_csv(out).result(timeout=5) == 3
    rows = list(csv.reader(out.read_text(encoding="utf-8").splitlines()))
    assert rows[0] == ["time_utc", "epoch_s", "tag", "value", "units", "quality"]
    assert [(r[2], r[3], r[4], r[5]) for r in rows[1:]] == [
        ("A", "1.5", "%", "good"),
        ("B", "", "%", "bad"),
        ("A", "2.5", "%", "good"),
    ]
    assert rows[1][0].endswith("Z") and float(rows[1][1]) == NOW - 20
    qtbot.waitUntil(lambda: "Exported 3 rows" in panel.status.text(), timeout=5000)


def test_csv_export_of_a_history_view_reads_raw_rows(qtbot, panel, history, tmp_path):
    loaded(panel, qtbot, history)
    panel.show_range(NOW - 1100, NOW - 1000)
    out = tmp_path / "history.csv"
    count = panel.export_csv(out).result(timeout=5)
    rows = list(csv.reader(out.read_text(encoding="utf-8").splitlines()))[1:]
    assert count == len(rows) == 2 * 101
    assert {r[5] for r in rows if r[2] == "B"} == {"good", "bad"}


def test_png_export(qtbot, panel, history, tmp_path):
    loaded(panel, qtbot, history)
    out = tmp_path / "chart.png"
    assert panel.export_png(out)
    image = QImage(str(out))
    assert image.width() > 800 and image.height() > 300


def test_open_trend_replaces_pens_title_and_span(qtbot, panel, history):
    loaded(panel, qtbot, history)
    panel.show_range(NOW - 5000, NOW - 4000)
    panel.open_trend(TrendDef("other", "Other", ("C", "A"), span=3600))
    assert panel.pens == ["C", "A"] and panel.title.text() == "Other"
    assert not panel.trend.paused and panel.trend.span == 3600
    assert panel.toolbar.preset_buttons[3600.0].isChecked()


def test_system_tags_are_offered_and_trended_like_any_tag(qtbot):
    from hmi.core.resources import demo_project_dir
    from hmi.project.loader import load_project

    project = load_project(demo_project_dir())
    relay = FutureRelay()
    widget = TrendPanel(TrendDef("t", "Test", ("TANK1.LEVEL",), span=600), project, relay, clock=lambda: NOW)
    qtbot.addWidget(widget)
    try:
        picker = TagPicker(widget.tag_defs, exclude=widget.pens)
        qtbot.addWidget(picker)
        picker.filter_edit.setText("SYSTEM.LINK.plc1")
        assert "SYSTEM.LINK.plc1.UP" in picker.visible_tags()
        assert widget.add_pen("SYSTEM.LINK.plc1.UP"), widget.status.text()
        assert widget.pens == ["TANK1.LEVEL", "SYSTEM.LINK.plc1.UP"]
    finally:
        widget.close_panel()
        relay.close()
