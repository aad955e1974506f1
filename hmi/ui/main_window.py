"""The operator's main window: the mimic screen, a live trend, the alarm summary and connection states.

Each area is its own panel; this class only lays them out and wires them to the
bridge and the session (connect here, disconnect in ``shutdown``).
"""

from __future__ import annotations

import concurrent.futures
import logging
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QLabel, QMainWindow, QSplitter, QStackedWidget, QWidget

from hmi.alarms.engine import AlarmStatus
from hmi.core.commands import CommandResult, Origin
from hmi.model import Sample
from hmi.project.config import Project
from hmi.ui.alarm_panel import AlarmPanel
from hmi.ui.alarm_strip import AlarmStrip
from hmi.ui.connection_bar import ConnectionBar
from hmi.ui.connections_menu import ConnectionsMenu
from hmi.ui.connections_view import ConnectionsDock
from hmi.ui.futures import FutureRelay
from hmi.ui.screen_view import ScreenView
from hmi.ui.session import GuiSession
from hmi.ui.trend_panel import TrendPanel

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    """Screen + trend + alarms + status bar for one running project."""

    def __init__(self, project: Project, session: GuiSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.session = session
        self.relay = FutureRelay(self)
        self.setWindowTitle(f"{project.name} — Converge HMI")
        self.resize(1600, 940)

        self.latest: dict[str, Sample] = {}
        self._shut_down = False
        self.alarm_strip = AlarmStrip()
        self.screens: dict[str, ScreenView] = {}
        self.screen_stack = QStackedWidget()
        for name in project.screens:
            self.screen_stack.addWidget(self._build_screen(name))
        self.screen_view: ScreenView | None = None
        start = project.start_screen or next(iter(project.screens), None)
        if start is not None:
            self.show_screen(start)
        trend_def = next(iter(project.trends.values()), None)
        self.trend_panel = (
            TrendPanel(trend_def, project, self.relay, can_save=not session.is_demo) if trend_def else None
        )
        self.alarm_panel = AlarmPanel()

        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.screen_stack)
        if self.trend_panel is not None:
            top.addWidget(self.trend_panel)
        top.setSizes([980, 620])
        body = QSplitter(Qt.Orientation.Vertical)
        body.addWidget(self.alarm_strip)
        body.addWidget(top)
        body.addWidget(self.alarm_panel)
        body.setStretchFactor(1, 1)
        body.setSizes([40, 660, 200])
        self.setCentralWidget(body)

        self.connection_bar = ConnectionBar(list(project.connections))
        self.statusBar().addPermanentWidget(self.connection_bar)
        self.message = QLabel("")
        self.statusBar().addWidget(self.message, 1)
        self._build_menus()

        bridge = session.bridge
        bridge.sig_values_changed.connect(self._on_values)
        bridge.sig_status_changed.connect(self.connection_bar.apply_statuses)
        bridge.sig_status_changed.connect(self.connections_menu.apply_statuses)
        bridge.sig_alarms_changed.connect(self._on_alarms)
        self.alarm_panel.sig_acknowledge_requested.connect(self._acknowledge)
        self.alarm_strip.sig_acknowledge_requested.connect(self._acknowledge)
        self.alarm_panel.sig_alarm_activated.connect(self._open_alarm_screen)

    # -- building ------------------------------------------------------------------
    def _build_screen(self, name: str) -> ScreenView:
        view = ScreenView(self.project.screens[name], self.project)
        view.sig_write_requested.connect(self._write)
        view.sig_navigate.connect(self.show_screen)
        view.sig_open_trend.connect(self.open_trend)
        self.screens[name] = view
        return view

    def open_trend(self, name: str) -> None:
        """Show saved trend ``name`` in the trend panel."""
        trend = self.project.trends.get(name)
        if trend is None or self.trend_panel is None:
            self.message.setText(f"No trend named {name!r}")
            return
        self.trend_panel.open_trend(trend)

    def show_screen(self, name: str) -> None:
        """Bring screen ``name`` to the front, showing the latest values at once."""
        view = self.screens.get(name)
        if view is None:
            self.message.setText(f"No screen named {name!r}")
            return
        self.screen_stack.setCurrentWidget(view)
        self.screen_view = view
        view.apply_values(self.latest)
        self.setWindowTitle(f"{view.screen_def.title} — {self.project.name} — Converge HMI")

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut("Ctrl+Q")
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        screens_menu = self.menuBar().addMenu("&Screens")
        for number, (name, screen) in enumerate(self.project.screens.items(), start=1):
            action = QAction(screen.title, self)
            if number <= 9:
                action.setShortcut(f"F{number}")
            action.triggered.connect(lambda _checked=False, target=name: self.show_screen(target))
            screens_menu.addAction(action)
        alarms_menu = self.menuBar().addMenu("&Alarms")
        ack_all = QAction("Acknowledge &all", self)
        ack_all.setShortcut("Ctrl+K")
        ack_all.triggered.connect(lambda: self._acknowledge(None))
        alarms_menu.addAction(ack_all)
        view_menu = self.menuBar().addMenu("&View")
        self.connections_view_action = QAction("&Connections", self)
        self.connections_view_action.triggered.connect(self.show_connections_view)
        view_menu.addAction(self.connections_view_action)
        self.connections_dock: ConnectionsDock | None = None
        self.connections_menu = ConnectionsMenu(self, self.project, self.message.setText)
        if self.session.is_demo:
            demo_menu = self.menuBar().addMenu("&Demo")
            self.cut_modbus = QAction("Cut the PLC's Modbus link", self)
            self.cut_modbus.setCheckable(True)
            self.cut_modbus.toggled.connect(self._toggle_plant_modbus)
            demo_menu.addAction(self.cut_modbus)

    def show_connections_view(self) -> ConnectionsDock:
        """Open (or bring back) the connections view as a dock below the screen."""
        if self.connections_dock is None:
            self.connections_dock = ConnectionsDock(self.session.diagnostics, self.relay, self)
            self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.connections_dock)
        self.connections_dock.show()
        self.connections_dock.raise_()
        return self.connections_dock

    # -- runtime → GUI -------------------------------------------------------------
    def _on_values(self, values: dict[str, Sample]) -> None:
        self.latest.update(values)
        if self.screen_view is not None:
            self.screen_view.apply_values(values)
        if self.trend_panel is not None:
            self.trend_panel.apply_values(values)

    def _on_alarms(self, rows: list[AlarmStatus]) -> None:
        self.alarm_panel.set_alarms(rows)
        self.alarm_strip.set_alarms(rows)

    def on_runtime_started(self) -> None:
        """Called once the station runs: backfill the trend from history."""
        if self.trend_panel is not None:
            self.trend_panel.backfill(self.session.history_path)

    # -- GUI → runtime -------------------------------------------------------------
    def _write(self, request_id: str, tag: str, value: Any) -> None:
        future = self.session.write(tag, value, origin=Origin.SCREEN, request_id=request_id)

        def done(finished: concurrent.futures.Future[CommandResult]) -> None:
            result = finished.result()
            shown = result.read_back if result.read_back is not None else result.written
            self.message.setText(f"{tag} ← {shown}" if result.ok else result.error)
            # Routed back by id: the screen that asked knows which entry waits for it.
            for view in self.screens.values():
                if view.show_write_result(result):
                    break

        self.relay.watch(future, done)

    def _open_alarm_screen(self, alarm: str) -> None:
        definition = self.project.alarms.get(alarm)
        if definition is not None and definition.screen:
            self.show_screen(definition.screen)

    def _acknowledge(self, alarm: str | None) -> None:
        def done(finished: concurrent.futures.Future[CommandResult]) -> None:
            result = finished.result()
            if not result.ok:
                self.message.setText(result.error)

        self.relay.watch(self.session.acknowledge(alarm, origin=Origin.SCREEN), done)

    def _toggle_plant_modbus(self, cut: bool) -> None:
        future = self.session.set_plant_modbus(not cut)
        self.message.setText("Demo: PLC Modbus link cut" if cut else "Demo: PLC Modbus link restored")
        if future is not None:
            self.relay.watch(future, lambda _f: None)

    # -- shutdown --------------------------------------------------------------------
    def shutdown(self) -> None:
        """Disconnect from the bridge and stop the panels' timers and workers (once)."""
        if self._shut_down:
            return
        self._shut_down = True
        bridge = self.session.bridge
        bridge.sig_values_changed.disconnect(self._on_values)
        bridge.sig_status_changed.disconnect(self.connection_bar.apply_statuses)
        bridge.sig_status_changed.disconnect(self.connections_menu.apply_statuses)
        bridge.sig_alarms_changed.disconnect(self._on_alarms)
        self.connections_menu.close()
        if self.connections_dock is not None:
            self.connections_dock.view.stop()
        self.relay.close()
        if self.trend_panel is not None:
            self.trend_panel.close_panel()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop the panels; the application then stops the runtime (flushing history)."""
        self.shutdown()
        super().closeEvent(event)
