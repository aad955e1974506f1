"""The mimic is never squeezed unreadable: docks hide, the connections view tabs or floats, dialogs scroll."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDockWidget, QLabel

from hmi.core.resources import demo_project_dir
from hmi.project.errors import ProjectError
from hmi.project.loader import load_project
from hmi.ui.bridge import RuntimeBridge
from hmi.ui.invalid_project_dialog import InvalidProjectDialog
from hmi.ui.main_window import MIN_READABLE_SCALE, MainWindow
from hmi.ui.session import GuiSession
from hmi.ui.theme import apply_theme
from widgets.setpoint_entry import SetpointEntry

pytestmark = pytest.mark.gui

MIN_TEXT_PX = 9.0
"""The smallest text height (in screen pixels) an operator reads at a control-room distance."""
SIZES = [(1024, 700), (1280, 800), (1366, 768), (1600, 940), (1920, 1080)]


@pytest.fixture
def window(qtbot) -> Iterator[MainWindow]:
    """The demo project's window, laid out as the operator gets it (no runtime needed for the layout)."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app)
    project = load_project(demo_project_dir())
    session = GuiSession(project, RuntimeBridge())
    main = MainWindow(project, session)
    qtbot.addWidget(main)
    try:
        yield main
    finally:
        main.shutdown()
        session.stop()
        session.runtime_thread.loop.close()  # never started, so its thread has no loop to close
        app.setStyleSheet("")


def show_at(qtbot, window: MainWindow, width: int, height: int) -> None:
    window.resize(width, height)
    window.show()
    qtbot.waitExposed(window)
    QApplication.processEvents()


def setpoint_text_px(window: MainWindow) -> list[float]:
    """The on-screen height of each setpoint entry's text on the screen in front."""
    view = window.screen_view
    assert view is not None
    scale = view.transform().m11()
    entries = [item for item in view.items_by_id.values() if isinstance(item, SetpointEntry)]
    assert entries
    return [entry.panel.entry.fontInfo().pixelSize() * scale for entry in entries]


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_setpoint_text_is_readable_at_every_window_size(qtbot, window, tmp_path: Path, width, height):
    show_at(qtbot, window, width, height)
    assert window.mimic_scale >= MIN_READABLE_SCALE
    assert min(setpoint_text_px(window)) >= MIN_TEXT_PX
    snapshot = tmp_path / f"layout-{width}x{height}.png"
    image = window.grab()
    assert image.save(str(snapshot))
    assert (image.width(), image.height()) == (width, height)


def test_the_trend_is_hidden_and_shown_again_from_the_view_menu(qtbot, window):
    show_at(qtbot, window, 1600, 940)
    dock = window.trend_dock
    assert dock is not None and dock.isVisible()
    before = window.mimic_scale
    assert window.trend_view_action in window.menuBar().actions()[3].menu().actions()  # View
    QTest.keyClick(window, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    QApplication.processEvents()
    assert not dock.isVisible()
    assert window.mimic_scale >= before  # the mimic took the room
    QTest.keyClick(window, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    QApplication.processEvents()
    assert dock.isVisible()


def test_a_small_window_gives_the_trend_up_and_the_operator_may_take_it_back(qtbot, window):
    show_at(qtbot, window, 1024, 700)
    assert window.trend_dock is not None and not window.trend_dock.isVisible()
    assert window.trend_view_action.isChecked() is False
    window.trend_view_action.trigger()  # View → Trend: the operator's choice stands
    QApplication.processEvents()
    assert window.trend_dock.isVisible()


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_a_tab_beside_the_alarm_summary_never_shows_in_its_place(qtbot, window, width, height):
    """The sync view and the reports are tabs beside the summary: when the summary gives its room up to
    the mimic, they go with it, so a small window shows the mimic and the banner, not a sync table."""
    beside = QDockWidget("Beside the alarms", window)
    beside.setWidget(QLabel("a panel tabbed with the alarm summary"))
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, beside)
    window.tabifyDockWidget(window.alarm_dock, beside)
    window.alarm_dock.raise_()
    show_at(qtbot, window, width, height)
    assert window.mimic_scale >= MIN_READABLE_SCALE
    assert beside.isVisible() is window.alarm_dock.isVisible()


# A floating dock is a window of its own: the offscreen platform says it cannot raise windows.
@pytest.mark.qt_log_ignore(
    "This plugin does not support propagateSizeHints", "This plugin does not support raise"
)
@pytest.mark.parametrize(("width", "height"), SIZES)
def test_opening_the_connections_view_does_not_squeeze_the_mimic(qtbot, window, width, height):
    show_at(qtbot, window, width, height)
    before = window.mimic_scale
    window.connections_view_action.trigger()  # View → Connections
    QApplication.processEvents()
    dock = window.connections_dock
    assert dock is not None and dock.isVisible()
    assert window.mimic_scale >= min(before, MIN_READABLE_SCALE) * 0.99
    assert window.mimic_scale >= before * 0.97
    assert min(setpoint_text_px(window)) >= MIN_TEXT_PX
    dock.close()


def errors(count: int) -> list[ProjectError]:
    return [
        ProjectError(
            Path("project.yaml"), 10 + n, f"tag 'T{n}': unknown key 'adress' (did you mean 'address'?)"
        )
        for n in range(count)
    ]


@pytest.mark.parametrize("count", [1, 12, 80, 2000])
def test_the_invalid_project_dialog_scrolls_and_its_ok_is_in_reach(qtbot, count):
    dialog = InvalidProjectDialog(errors(count))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    free = (dialog.screen() or QGuiApplication.primaryScreen()).availableGeometry()
    assert dialog.height() <= free.height() and dialog.width() <= free.width()
    assert dialog.errors.count() == count
    assert dialog.summary.text().startswith(f"The project has {count} error")
    ok = dialog.ok_button
    assert ok.isVisible()
    assert dialog.rect().contains(
        ok.geometry().translated(ok.parentWidget().mapTo(dialog, ok.pos()) - ok.pos())
    )
    if count >= 80:
        assert dialog.errors.verticalScrollBar().maximum() > 0  # the rest is a scroll away
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert dialog.result() == dialog.DialogCode.Accepted and not dialog.isVisible()


def test_demo_browse_reaches_the_demo_servers_real_port(qtbot, running_demo):
    project, session, window = running_demo
    action = window.connections_menu.browse_actions["ua1"]
    qtbot.waitUntil(action.isEnabled, timeout=20000)  # offered once the plant's servers have their ports
    placeholder = project.connections["ua1"].settings.endpoint
    real = session.plant.opcua_endpoint
    assert real != placeholder
    dialog = window.connections_menu.open_browser("ua1")
    try:
        assert real in dialog.windowTitle() and placeholder not in dialog.windowTitle()
        qtbot.waitUntil(lambda: dialog.tree.topLevelItemCount() > 0, timeout=15000)
    finally:
        dialog.close()
        qtbot.waitUntil(lambda: dialog.closed, timeout=5000)
