"""The operator's main window: the mimic screen, a live trend, the alarm summary and connection states.

The mimic is the central widget, under the alarm strip; the trend, the alarm summary and
the connections view are docks the operator shows and hides from the View menu. A window
too small to draw the mimic readably (:data:`MIN_READABLE_SCALE`) hides the trend, then
the alarm summary (the strip stays), and the connections view opens as a tab beside the
alarm summary or floating, never squeezing the mimic.

Each area is a panel (:mod:`hmi.ui.panels`) that attaches itself to the window's context
and detaches itself on close; this class only builds the context, lays the panels out and
lists them. Writes and acknowledgements from any panel come through ``_write`` and
``_acknowledge``, the window's single entry points to the command path.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import re
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QCloseEvent, QResizeEvent, QShowEvent
from PySide6.QtWidgets import QDialog, QDockWidget, QLabel, QMainWindow, QVBoxLayout, QWidget

from hmi.core.commands import AlarmAction, CommandResult, Origin
from hmi.core.demo import demo_sync_endpoints
from hmi.model import Sample
from hmi.project.config import Project
from hmi.security.audit import REJECT_CERTIFICATE, SAVE_TREND, TRUST_CERTIFICATE
from hmi.ui.alarm_blink import BlinkClock
from hmi.ui.alarm_horn import SILENCE_KEY, Horn
from hmi.ui.alarm_marks import AlarmMarks
from hmi.ui.alarm_panel import AlarmPanel
from hmi.ui.alarm_quit_guard import QuitGuard
from hmi.ui.alarm_report_view import AlarmReportDock, show_alarm_report
from hmi.ui.alarm_strip import AlarmStrip
from hmi.ui.connection_bar import ConnectionBar
from hmi.ui.connections_menu import ConnectionsMenu
from hmi.ui.connections_view import ConnectionsDock
from hmi.ui.futures import FutureRelay
from hmi.ui.panels import Commands, Panel, PanelContext
from hmi.ui.rules_view import RulesDock, RulesRequests
from hmi.ui.screen_stack import ScreenStack
from hmi.ui.screen_view import ScreenView
from hmi.ui.session import GuiSession
from hmi.ui.sync_panel import SyncPanel
from hmi.ui.trend_panel import TrendPanel
from hmi.ui.user_panel import UserPanel

log = logging.getLogger(__name__)

MIN_READABLE_SCALE = 0.75
"""The mimic is never drawn smaller than this by the window's own layout: 12 px text stays ≥ 9 px."""
DEFAULT_SIZE = QSize(1600, 940)
SIZE_VARIABLE = "HMI_WINDOW_SIZE"
"""``WIDTHxHEIGHT`` (e.g. ``1024x700``): the window's first size, for screenshots of small screens."""


def initial_size() -> QSize:
    """The window's first size: ``HMI_WINDOW_SIZE`` when set to ``WIDTHxHEIGHT``, else 1600×940."""
    match = re.fullmatch(r"\s*(\d{3,5})\s*[xX×]\s*(\d{3,5})\s*", os.environ.get(SIZE_VARIABLE, ""))
    if match is None:
        return DEFAULT_SIZE
    return QSize(int(match.group(1)), int(match.group(2)))


class MainWindow(QMainWindow):
    """Screen + trend + alarms + status bar for one running project."""

    def __init__(self, project: Project, session: GuiSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.session = session
        self.relay = FutureRelay(self)
        self.setWindowTitle(f"{project.name} — Converge HMI")
        self.message = QLabel("")
        self.context = PanelContext(
            project,
            session.bridge,
            Commands(self._write, self._acknowledge, self._acknowledge_with, self._alarm_action),
            self.relay,
            session.diagnostics,
            self.message.setText,
            self,
        )
        self.connections_dock: ConnectionsDock | None = None
        self.rules_dock: RulesDock | None = None
        self.alarm_report_dock: AlarmReportDock | None = None
        self.panels: list[Panel] = []
        """Every attached panel, in attach order (detached in reverse on close)."""
        self._shut_down = False

        self.screen_stack = ScreenStack(project)
        self.screen_stack.sig_screen_shown.connect(self._title_for)
        for view in self.screen_stack.views.values():  # a signature dialog names who signs
            view.signer = lambda: self.session.actor
        trend_def = next(iter(project.trends.values()), None)
        self.trend_panel = (
            TrendPanel(trend_def, project, self.relay, can_save=not session.is_demo) if trend_def else None
        )
        if self.trend_panel is not None:
            self.trend_panel.sig_trend_saved.connect(self._audit_trend_save)
            self.trend_panel.permit = self.session.authorise
        self.blink_clock = BlinkClock(self)
        self.horn = Horn(parent=self)
        self.alarm_strip = AlarmStrip(clock=self.blink_clock, horn=self.horn)
        self.alarm_panel = AlarmPanel()
        self.alarm_marks = AlarmMarks(self.screen_stack.views, self.blink_clock)
        # click-through: the panel brings the alarm's screen forward, the marks frame the alarm's item
        self.alarm_panel.sig_alarm_activated.connect(self.alarm_marks.select_alarm)
        self.quit_guard = QuitGuard()
        self.connection_bar = ConnectionBar(list(project.connections))
        endpoints = project.sync or (demo_sync_endpoints() if session.is_demo else {})
        self.sync_panel = SyncPanel(endpoints) if endpoints else None
        if self.sync_panel is not None:
            self.sync_panel.resend = self.session.resend_quarantined
        self._lay_out()
        self._build_menus()
        for panel in (
            self.screen_stack,
            self.trend_panel,
            self.alarm_strip,
            self.alarm_panel,
            self.alarm_marks,
            self.horn,
            self.quit_guard,
            self.sync_panel,
        ):
            if panel is not None:
                self.attach_panel(panel)
        self.attach_panel(self.connection_bar)
        self.attach_panel(self.connections_menu)
        start = project.start_screen or next(iter(project.screens), None)
        if start is not None:
            self.show_screen(start)
        self.resize(initial_size())

    # -- building ------------------------------------------------------------------
    def attach_panel(self, panel: Panel) -> None:
        """Let ``panel`` wire itself to this window's context; it is detached when the window closes."""
        panel.attach(self.context)
        self.panels.append(panel)

    def _lay_out(self) -> None:
        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(self.alarm_strip)
        column.addWidget(self.screen_stack, 1)
        self.setCentralWidget(body)
        # the alarm summary spans the whole width under the mimic and the trend
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.trend_dock: QDockWidget | None = None
        if self.trend_panel is not None:
            self.trend_dock = self._dock(
                "Trend", "trend-dock", self.trend_panel, Qt.DockWidgetArea.RightDockWidgetArea
            )
            self.resizeDocks([self.trend_dock], [620], Qt.Orientation.Horizontal)
        self.alarm_dock = self._dock(
            "Alarms", "alarms-dock", self.alarm_panel, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.resizeDocks([self.alarm_dock], [200], Qt.Orientation.Vertical)
        self.statusBar().addPermanentWidget(self.connection_bar)
        self.user_panel = UserPanel(self.session, self.relay, lambda: self.session.commissioning, self)
        self.statusBar().addPermanentWidget(self.user_panel)
        self.context.sig_runtime_started.connect(lambda _path: self.user_panel.refresh())
        self.sync_dock: QDockWidget | None = None
        if self.sync_panel is not None:
            self.sync_dock = self._dock(
                "Sync", "sync-dock", self.sync_panel, Qt.DockWidgetArea.BottomDockWidgetArea
            )
            self.tabifyDockWidget(self.alarm_dock, self.sync_dock)
            self.alarm_dock.raise_()
            self.statusBar().addPermanentWidget(self.sync_panel.summary)
        self.statusBar().addWidget(self.message, 1)

    def _dock(self, title: str, name: str, panel: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(panel)
        self.addDockWidget(area, dock)
        return dock

    # -- keeping the mimic readable ------------------------------------------------------
    @property
    def mimic_scale(self) -> float:
        """How large the screen in front is drawn (1.0: one screen unit per pixel) in the space left."""
        view = self.screen_view
        if view is None:
            return 1.0
        rect = view.sceneRect()
        size = self.screen_stack.size()
        if rect.width() <= 0 or rect.height() <= 0:
            return 1.0
        return min(size.width() / rect.width(), size.height() / rect.height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        """A window made smaller first gives up the docks beside the mimic, so the mimic stays readable."""
        super().resizeEvent(event)
        self.fit_mimic()

    def showEvent(self, event: QShowEvent) -> None:
        """Shown at a size too small for everything: the mimic comes first."""
        super().showEvent(event)
        self.fit_mimic()

    def fit_mimic(self) -> None:
        """Hide docked panels (trend first, then the alarm summary) until the mimic is drawn readably."""
        if not self.isVisible():
            return  # before the first show nothing is laid out yet: every area still has its default size
        self._settle()
        # The alarm summary goes with the docks tabbed beside it (sync, reports...): a tab left behind
        # would keep the summary's space and show itself in place of the alarms.
        beside_alarms = self.tabifiedDockWidgets(self.alarm_dock)
        for group in ([self.trend_dock], [self.alarm_dock, *beside_alarms], [self.connections_dock]):
            if self.mimic_scale >= MIN_READABLE_SCALE:
                return
            shown = [d for d in group if d is not None and not d.isHidden() and not d.isFloating()]
            for dock in shown:
                dock.hide()
            if shown:
                self._settle()

    def _settle(self) -> None:
        layout = self.layout()
        if layout is not None:
            layout.activate()  # the space a hidden dock left is handed to the mimic now, not later

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
        quit_action.triggered.connect(lambda: self.quit_guard.request_quit(self, self.close))
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
        self.silence_action = QAction("&Silence horn", self)
        self.silence_action.setShortcut(SILENCE_KEY)
        self.silence_action.triggered.connect(self.horn.silence)
        alarms_menu.addAction(self.silence_action)
        view_menu = self.menuBar().addMenu("&View")
        if self.trend_dock is not None:
            self.trend_view_action = self.trend_dock.toggleViewAction()
            self.trend_view_action.setText("&Trend")
            self.trend_view_action.setShortcut("Ctrl+T")
            view_menu.addAction(self.trend_view_action)
        self.alarms_view_action = self.alarm_dock.toggleViewAction()
        self.alarms_view_action.setText("&Alarm summary")
        view_menu.addAction(self.alarms_view_action)
        if self.sync_dock is not None:
            self.sync_view_action = self.sync_dock.toggleViewAction()
            self.sync_view_action.setText("S&ync")
            view_menu.addAction(self.sync_view_action)
        self.connections_view_action = QAction("&Connections", self)
        self.connections_view_action.triggered.connect(self.show_connections_view)
        view_menu.addAction(self.connections_view_action)
        self.rules_view_action = QAction("&Rules", self)
        self.rules_view_action.triggered.connect(self.show_rules_view)
        view_menu.addAction(self.rules_view_action)
        self.audit_view_action = QAction("Au&dit trail", self)
        self.audit_view_action.triggered.connect(self.show_audit_view)
        view_menu.addAction(self.audit_view_action)
        self.alarm_report_action = QAction("Alarm &report", self)
        self.alarm_report_action.triggered.connect(lambda: show_alarm_report(self))
        view_menu.addAction(self.alarm_report_action)
        self.connections_menu = ConnectionsMenu(
            self,
            self.project,
            self.message.setText,
            running=self._running_project,
            audit_decision=self._audit_certificate,
            permit=self.session.authorise,
        )
        if self.session.is_demo:
            # the demo plant's servers get their ports when they start: until then there is nothing to browse
            self.connections_menu.set_browsing_enabled(False)
            demo_menu = self.menuBar().addMenu("&Demo")
            self.cut_modbus = QAction("Cut the PLC's Modbus link", self)
            self.cut_modbus.setCheckable(True)
            self.cut_modbus.toggled.connect(self._toggle_plant_modbus)
            demo_menu.addAction(self.cut_modbus)
            self.bearing_wear = QAction("Wear out the pump's bearing", self)
            self.bearing_wear.setCheckable(True)
            self.bearing_wear.toggled.connect(self.session.set_bearing_wear)
            demo_menu.addAction(self.bearing_wear)
            self.alarm_flood = QAction("Alarm flood (a surge on the tank's instruments)", self)
            self.alarm_flood.triggered.connect(lambda: self.session.start_alarm_flood())
            demo_menu.addAction(self.alarm_flood)
        help_menu = self.menuBar().addMenu("&Help")
        self.about_action = QAction("&About Converge HMI", self)
        self.about_action.triggered.connect(self.show_about)
        help_menu.addAction(self.about_action)

    def show_connections_view(self) -> ConnectionsDock:
        """Open (or bring back) the connections view: a tab beside the alarm summary, else floating.

        Either way the mimic keeps its size: a new dock row under it would shrink it.
        """
        dock = self.connections_dock
        if dock is None:
            dock = self.connections_dock = ConnectionsDock(self)
            self.attach_panel(dock)
            self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
            if not self.alarm_dock.isHidden() and not self.alarm_dock.isFloating():
                self.tabifyDockWidget(self.alarm_dock, dock)
            else:
                self._float(dock)
        elif not dock.isFloating() and self.alarm_dock.isHidden():
            self._float(dock)  # its tab partner is hidden: showing it docked would open a row of its own
        dock.show()
        self._settle()
        if self.mimic_scale < MIN_READABLE_SCALE and not dock.isFloating():
            self._float(dock)
        if not dock.isFloating():
            dock.raise_()  # its tab to the front (a floating dock is a window of its own, already on top)
        return dock

    def show_rules_view(self) -> RulesDock:
        """Open (or bring back) the rules view and the maintenance list, a tab beside the alarm summary."""
        dock = self.rules_dock
        if dock is None:
            session = self.session
            requests = RulesRequests(
                session.rules_snapshot, session.set_rule_enabled, session.acknowledge_maintenance
            )
            dock = self.rules_dock = RulesDock(requests, self)
            self.attach_panel(dock)
            self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
            if not self.alarm_dock.isHidden() and not self.alarm_dock.isFloating():
                self.tabifyDockWidget(self.alarm_dock, dock)
            else:
                self._float(dock)
        dock.show()
        if not dock.isFloating():
            dock.raise_()
        return dock

    def show_audit_view(self) -> QDialog:
        """Open the audit trail of the running project (records read and verified off the GUI thread)."""
        from hmi.security.paths import audit_path
        from hmi.ui.audit_view import AuditViewer

        viewer = AuditViewer(audit_path(self.session.history_path), self.session.runtime_thread.submit, self)
        viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        viewer.show()
        self.audit_viewer = viewer
        return viewer

    def _audit_trend_save(self, trend: str, before: object, after: object, error: str) -> None:
        self.session.record_change(SAVE_TREND, trend, value=after, old=before, error=error)

    def _audit_certificate(self, kind: str, thumbprint: str, subject: str, error: str) -> None:
        action = TRUST_CERTIFICATE if kind == "trust" else REJECT_CERTIFICATE
        self.session.record_change(action, thumbprint, value=subject, error=error)

    def show_about(self) -> QDialog:
        """Help > About: the version and, in the demo, its generated accounts."""
        from hmi.ui.about import AboutDialog

        about = AboutDialog(self.project.name, self.session.demo_data_dir, self)
        about.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        about.show()
        self.about = about
        return about

    def _float(self, dock: QDockWidget) -> None:
        dock.setFloating(True)
        frame = self.geometry()
        width, height = min(760, frame.width()), min(320, frame.height() // 2)
        dock.setGeometry(frame.right() - width, frame.bottom() - height, width, height)

    def _running_project(self) -> Project | None:
        station = self.session.station
        return station.project if station is not None else None

    def on_runtime_started(self) -> None:
        """Called once the station runs: panels that read history (the trend's backfill) start now."""
        self.connections_menu.set_browsing_enabled(True)
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
        self._acknowledge_with(alarm, "", None)

    def _acknowledge_with(self, alarm: str | None, comment: str, visible: tuple[str, ...] | None) -> None:
        future = self.session.acknowledge(alarm, origin=Origin.SCREEN, comment=comment, visible=visible)
        self.relay.watch(future, self._show_refusal)

    def _alarm_action(self, alarm: str, action: str, reason: str, duration: float) -> None:
        future = self.session.alarm_action(alarm, AlarmAction(action), reason=reason, duration=duration)
        self.relay.watch(future, self._show_refusal)

    def _show_refusal(self, finished: concurrent.futures.Future[CommandResult]) -> None:
        result = finished.result()
        if not result.ok:
            self.message.setText(result.error)

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
        self.user_panel.stop()
        self.context.close()
        self.relay.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop the panels; the application then stops the runtime (flushing history).

        A close from the window's own button (spontaneous) asks first while an urgent alarm is unacknowledged.
        """
        if event.spontaneous() and not self._shut_down and self.quit_guard.pressing():
            event.ignore()
            self.quit_guard.ask(self, self.close)
            return
        self.shutdown()
        super().closeEvent(event)
