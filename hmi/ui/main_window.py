"""The operator's main window: the mimic screen, a live trend, the alarm summary and connection states.

Each area is a panel (:mod:`hmi.ui.panels`) that attaches itself to the window's context
and detaches itself on close; this class only builds the context, lays the panels out and
lists them. Writes and acknowledgements from any panel come through ``_write`` and
``_acknowledge``, the window's single entry points to the command path.
"""

from __future__ import annotations

import concurrent.futures
import logging
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QLabel, QMainWindow, QSplitter, QWidget

from hmi.core.commands import CommandResult, Origin
from hmi.model import Sample
from hmi.project.config import Project
from hmi.ui.alarm_panel import AlarmPanel
from hmi.ui.alarm_strip import AlarmStrip
from hmi.ui.connection_bar import ConnectionBar
from hmi.ui.connections_menu import ConnectionsMenu
from hmi.ui.connections_view import ConnectionsDock
from hmi.ui.futures import FutureRelay
from hmi.ui.panels import Commands, Panel, PanelContext
from hmi.ui.screen_stack import ScreenStack
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
        self.message = QLabel("")
        self.context = PanelContext(
            project,
            session.bridge,
            Commands(write=self._write, acknowledge=self._acknowledge),
            self.relay,
            session.diagnostics,
            self.message.setText,
            self,
        )
        self.panels: list[Panel] = []
        """Every attached panel, in attach order (detached in reverse on close)."""
        self._shut_down = False

        self.screen_stack = ScreenStack(project)
        self.screen_stack.sig_screen_shown.connect(self._title_for)
        trend_def = next(iter(project.trends.values()), None)
        self.trend_panel = (
            TrendPanel(trend_def, project, self.relay, can_save=not session.is_demo) if trend_def else None
        )
        self.alarm_strip = AlarmStrip()
        self.alarm_panel = AlarmPanel()
        self.connection_bar = ConnectionBar(list(project.connections))
        self._lay_out()
        self._build_menus()
        for panel in (self.screen_stack, self.trend_panel, self.alarm_strip, self.alarm_panel):
            if panel is not None:
                self.attach_panel(panel)
        self.attach_panel(self.connection_bar)
        self.attach_panel(self.connections_menu)
        start = project.start_screen or next(iter(project.screens), None)
        if start is not None:
            self.show_screen(start)

    # -- building ------------------------------------------------------------------
    def attach_panel(self, panel: Panel) -> None:
        """Let ``panel`` wire itself to this window's context; it is detached when the window closes."""
        panel.attach(self.context)
        self.panels.append(panel)

    def _lay_out(self) -> None:
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
        self.statusBar().addPermanentWidget(self.connection_bar)
        self.statusBar().addWidget(self.message, 1)

    @property
    def latest(self) -> dict[str, Sample]:
        """The GUI-side tag cache: the newest sample of every tag seen so far."""
        return self.context.tags.latest

    @property
    def screens(self) -> dict[str, ScreenView]:
        """Screen name → its view."""
        return self.screen_stack.views

    @property
    def screen_view(self) -> ScreenView | None:
        """The screen in front."""
        return self.screen_stack.current

    def open_trend(self, name: str) -> None:
        """Show saved trend ``name`` in the trend panel."""
        if self.trend_panel is None:
            self.message.setText(f"No trend named {name!r}")
            return
        self.context.sig_trend_requested.emit(name)

    def show_screen(self, name: str) -> None:
        """Bring screen ``name`` to the front, showing the latest values at once."""
        self.context.sig_screen_requested.emit(name)

    def _title_for(self, view: ScreenView) -> None:
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
            self.connections_dock = ConnectionsDock(self)
            self.attach_panel(self.connections_dock)
            self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.connections_dock)
        self.connections_dock.show()
        self.connections_dock.raise_()
        return self.connections_dock

    def on_runtime_started(self) -> None:
        """Called once the station runs: panels that read history (the trend's backfill) start now."""
        self.context.sig_runtime_started.emit(self.session.history_path)

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
        """Detach every panel (newest first), stop feeding the tag cache and drop late results (once)."""
        if self._shut_down:
            return
        self._shut_down = True
        for panel in reversed(self.panels):
            try:
                panel.detach()
            except Exception:  # one failing panel must not keep the others attached
                log.exception("panel %s did not detach cleanly", type(panel).__name__)
        self.panels.clear()
        self.context.close()
        self.relay.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop the panels; the application then stops the runtime (flushing history)."""
        self.shutdown()
        super().closeEvent(event)
