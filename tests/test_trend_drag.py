"""Screens and trends: a bound symbol drags its tag, a button opens a saved trend (checked at load)."""

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from hmi.core.resources import demo_project_dir
from hmi.project.config import ScreenDef, ScreenItem
from hmi.project.loader import check_project, load_project
from hmi.ui.screen_view import ScreenView

pytestmark = pytest.mark.gui


@pytest.fixture
def overview(qtbot):
    project = load_project(demo_project_dir())
    view = ScreenView(project.screens["overview"], project)
    qtbot.addWidget(view)
    view.resize(1000, 700)
    view.show()
    qtbot.waitExposed(view)
    return view


def centre_of(view, item_id) -> QPoint:
    return view.mapFromScene(view.items_by_id[item_id].sceneBoundingRect().center())


def mouse(view, kind, pos, buttons):
    event = QMouseEvent(
        kind,
        QPointF(pos),
        QPointF(view.viewport().mapToGlobal(pos)),
        Qt.MouseButton.LeftButton,
        buttons,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(view.viewport(), event)


def test_bound_symbols_and_values_carry_their_tag_setpoints_do_not(overview):
    drag = overview.tag_drag
    assert drag.tag_at(centre_of(overview, "tank1")) == "TANK1.LEVEL"
    assert drag.tag_at(centre_of(overview, "pump1")) == "PUMP1.RUN"
    assert drag.tag_at(centre_of(overview, "temp")) == "TANK1.TEMP"
    assert drag.tag_at(centre_of(overview, "speed_sp")) is None
    assert drag.tag_at(QPoint(2, 2)) is None


def test_a_press_and_move_past_the_drag_distance_starts_a_tag_drag(overview, monkeypatch):
    started = []
    monkeypatch.setattr(overview.tag_drag, "start_drag", started.append)
    pos = centre_of(overview, "temp")
    mouse(overview, QEvent.Type.MouseButtonPress, pos, Qt.MouseButton.LeftButton)
    mouse(overview, QEvent.Type.MouseMove, pos + QPoint(1, 0), Qt.MouseButton.LeftButton)
    assert started == []  # a jitter is still a click
    far = pos + QPoint(QApplication.startDragDistance() + 5, 0)
    mouse(overview, QEvent.Type.MouseMove, far, Qt.MouseButton.LeftButton)
    assert started == ["TANK1.TEMP"]
    mouse(overview, QEvent.Type.MouseButtonRelease, far, Qt.MouseButton.NoButton)
    mouse(overview, QEvent.Type.MouseMove, far + QPoint(30, 0), Qt.MouseButton.NoButton)
    assert started == ["TANK1.TEMP"]


def test_a_trend_button_asks_to_open_its_trend(qtbot):
    project = load_project(demo_project_dir())
    button = ScreenItem("button", "b1", 10, 10, 120, 40, None, {"label": "Tank trend", "trend": "tank1"})
    view = ScreenView(ScreenDef("s", "S", Path("s.yaml"), 400, 300, (button,)), project)
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.sig_open_trend) as opened:
        view.items_by_id["b1"].click()
    assert opened.args == ["tank1"]


def test_a_button_naming_an_unknown_trend_is_an_error_at_its_line(tmp_path):
    folder = tmp_path / "plant"
    shutil.copytree(demo_project_dir(), folder)
    (folder / "screens" / "trends.yaml").write_text(
        "size: [400, 300]\n"
        "items:\n"
        "  - {type: button, id: ok, x: 0, y: 0, w: 100, h: 40, props: {label: T, trend: tank1}}\n"
        "  - {type: button, id: typo, x: 0, y: 50, w: 100, h: 40, props: {label: T, trend: tnak1}}\n"
        "  - {type: button, id: two, x: 0, y: 99, w: 100, h: 40, props: {trend: tank1, screen: overview}}\n",
        encoding="utf-8",
    )
    errors = [str(error) for error in check_project(folder)]
    assert any("trends.yaml:4:" in e and "unknown trend 'tnak1'" in e and "tank1" in e for e in errors)
    assert any("trends.yaml:5:" in e and "exactly one action" in e for e in errors)
    assert not any("trends.yaml:3:" in e for e in errors)


def test_the_main_window_opens_a_trend_a_screen_asks_for(qtbot):
    from hmi.project.config import TrendDef
    from hmi.ui.bridge import RuntimeBridge
    from hmi.ui.main_window import MainWindow
    from hmi.ui.session import GuiSession

    project = load_project(demo_project_dir())
    project.trends["pump"] = TrendDef("pump", "Pump 1", ("PUMP1.SPEED", "PUMP1.VIBRATION"), 3600)
    session = GuiSession(project, RuntimeBridge())  # never started: the window alone is under test
    window = MainWindow(project, session)
    qtbot.addWidget(window)
    window.show()
    try:
        window.screen_view.sig_open_trend.emit("pump")
        assert window.trend_panel.pens == ["PUMP1.SPEED", "PUMP1.VIBRATION"]
        assert window.trend_panel.title.text() == "Pump 1" and window.trend_panel.trend.span == 3600
        window.open_trend("nope")
        assert "No trend named 'nope'" in window.message.text()
    finally:
        window.close()  # closeEvent shuts the panels down
        session.runtime_thread.loop.close()  # a loop thread never started has nothing else to stop
