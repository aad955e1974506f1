"""The alarm report page: alarm system performance (EEMUA 191) over a chosen period, from the journal.

The report is built off the GUI thread: the view asks through a function that returns a
``concurrent.futures.Future`` (reading the journal file in a worker thread of the runtime
loop) and gets the answer on the GUI thread through the ``FutureRelay``. It refreshes every
few seconds while shown, never with a request still on its way.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from hmi.alarms.kpi import FLOOD_ABOVE, AlarmReport
from hmi.alarms.kpi_file import load_report
from hmi.ui.futures import FutureRelay
from hmi.ui.latest_request import LatestRequest
from hmi.ui.refreshing_dock import RefreshingDock
from hmi.ui.tables import fill_rows, read_only_table

if TYPE_CHECKING:
    from hmi.ui.main_window import MainWindow
    from hmi.ui.panels import PanelContext
    from hmi.ui.session import GuiSession

log = logging.getLogger(__name__)

REFRESH_MS = 5000
PERIODS = (
    ("Last 10 minutes", 600.0),
    ("Last hour", 3600.0),
    ("Last 8 hours", 8 * 3600.0),
    ("Last 24 hours", 86400.0),
    ("Last 7 days", 7 * 86400.0),
)
DEFAULT_PERIOD = 1
FLOOD_COLUMNS = ("Start", "End", "Alarms", "Most frequent in it")
TOP_COLUMNS = ("Alarm", "Priority", "Count", "Share")
CHATTER_COLUMNS = ("Alarm", "Priority", "Count", "Most in 1 min", "First")
STANDING_COLUMNS = ("Alarm", "Priority", "Active since", "State", "Stale")
SET_ASIDE_COLUMNS = ("Alarm", "Shelved", "Out of service")

ReportRequest = Callable[[float, float], "concurrent.futures.Future[AlarmReport]"]


def session_requests(session: GuiSession) -> ReportRequest:
    """Reports of the session's journal, read in a worker thread of the runtime loop."""

    def request(start: float, end: float) -> concurrent.futures.Future[AlarmReport]:
        return session.runtime_thread.submit(asyncio.to_thread(load_report, session.history_path, start, end))

    return request


def _time(value: float | None) -> str:
    if value is None:
        return "–"
    return datetime.datetime.fromtimestamp(value).strftime("%Y-%m-%d %H:%M:%S")


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.0f} s"


class AlarmReportView(QWidget):
    """The period, the headline figures, and one table per finding (floods, top 10, chattering, ...)."""

    def __init__(
        self,
        request: ReportRequest,
        relay: FutureRelay,
        parent: QWidget | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(parent)
        self._request = request
        self._clock = clock
        self._latest: LatestRequest[AlarmReport] = LatestRequest(relay, "alarm report")
        self.report: AlarmReport | None = None
        self.refreshes = 0
        self.period = QComboBox()
        for label, _seconds in PERIODS:
            self.period.addItem(label)
        self.period.setCurrentIndex(DEFAULT_PERIOD)
        self.period.currentIndexChanged.connect(lambda _index: self.refresh(force=True))
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(lambda: self.refresh(force=True))
        self.status = QLabel("")
        self.figures = {name: QLabel("–") for name in ("alarms", "average", "peak", "priority", "flood")}
        self.floods = read_only_table(FLOOD_COLUMNS)
        self.top = read_only_table(TOP_COLUMNS)
        self.chattering = read_only_table(CHATTER_COLUMNS)
        self.standing = read_only_table(STANDING_COLUMNS)
        self.set_aside = read_only_table(SET_ASIDE_COLUMNS)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.floods, "Floods")
        self.tabs.addTab(self.top, "Top 10")
        self.tabs.addTab(self.chattering, "Chattering")
        self.tabs.addTab(self.standing, "Standing and stale")
        self.tabs.addTab(self.set_aside, "Shelved / out of service")
        self._build_layout()
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)

    def _build_layout(self) -> None:
        top = QHBoxLayout()
        top.addWidget(QLabel("Period"))
        top.addWidget(self.period)
        top.addWidget(self.refresh_button)
        top.addWidget(self.status, 1)
        grid = QGridLayout()
        labels = ("Alarms", "Per 10 min (EEMUA 191)", "Peak 10 min", "By priority", "Time in flood")
        for row, (label, figure) in enumerate(zip(labels, self.figures.values(), strict=True)):
            grid.addWidget(QLabel(label), row // 3, (row % 3) * 2)
            grid.addWidget(figure, row // 3, (row % 3) * 2 + 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addLayout(grid)
        layout.addWidget(self.tabs, 1)

    def start(self) -> None:
        """Refresh now and then every few seconds."""
        self.refresh()
        self._timer.start()

    def stop(self) -> None:
        """Stop refreshing."""
        self._timer.stop()

    def span(self) -> tuple[float, float]:
        """The chosen period, ending now."""
        end = self._clock()
        return end - PERIODS[self.period.currentIndex()][1], end

    def refresh(self, force: bool = False) -> None:
        """Ask for the report of the chosen period, unless an answer is still on its way."""
        # forced: the operator changed the period, so an answer on its way is no longer wanted
        self._latest.ask(self._ask_report, self._on_answer, replace=force)

    def _ask_report(self) -> concurrent.futures.Future[AlarmReport]:
        future = self._request(*self.span())
        self.status.setText("Reading the journal…")  # before the answer can say otherwise
        return future

    def _on_answer(self, future: concurrent.futures.Future[AlarmReport]) -> None:
        if future is not self._latest.pending or future.cancelled():
            return
        error = future.exception()
        if error is not None:
            log.warning("alarm report failed: %s", error)
            self.status.setText(f"Cannot read the alarm journal: {error}")
            return
        self.apply(future.result())

    def apply(self, report: AlarmReport) -> None:
        """Show ``report``."""
        self.report = report
        self.refreshes += 1
        self.status.setText(f"{_time(report.start)} – {_time(report.end)}")
        self.figures["alarms"].setText(str(report.total))
        self.figures["average"].setText(f"{report.average_per_window:.2f}  ({report.band})")
        self.figures["peak"].setText(str(report.peak_per_window))
        self.figures["priority"].setText(
            ", ".join(f"{p} {n}" for p, n in report.by_priority.items()) or "none"
        )
        self.figures["flood"].setText(
            f"{_duration(report.time_in_flood_s)} ({report.time_in_flood_share:.1%}),"
            f" {len(report.floods)} flood(s) of more than {FLOOD_ABOVE} alarms in 10 min"
        )
        fill_rows(
            self.floods,
            [
                (_time(f.start), _time(f.end), str(f.count), ", ".join(f"{n} ×{c}" for n, c in f.top))
                for f in report.floods
            ],
        )
        fill_rows(self.top, [(t.alarm, t.priority, str(t.count), f"{t.share:.1%}") for t in report.top])
        fill_rows(
            self.chattering,
            [
                (c.alarm, c.priority, str(c.count), str(c.most_per_minute), _time(c.first))
                for c in report.chattering
            ],
        )
        stale = {(s.alarm, s.start) for s in report.stale}
        spans = report.standing + [s for s in report.stale if s.end is not None]
        fill_rows(
            self.standing,
            [
                (s.alarm, s.priority, _time(s.start), s.state, "stale" if (s.alarm, s.start) in stale else "")
                for s in spans
            ],
        )
        fill_rows(
            self.set_aside,
            [(s.alarm, _duration(s.shelved_s), _duration(s.out_of_service_s)) for s in report.set_aside],
        )
        self.tabs.setTabText(0, f"Floods ({len(report.floods)})")
        self.tabs.setTabText(2, f"Chattering ({len(report.chattering)})")
        self.tabs.setTabText(3, f"Standing and stale ({len(spans)})")


class AlarmReportDock(RefreshingDock[AlarmReportView]):
    """The report page in a dock; it refreshes only while visible and attached."""

    def __init__(self, request: ReportRequest, parent: QWidget | None = None) -> None:
        super().__init__("Alarm report", "alarm-report-dock", parent)
        self._request = request

    def make_view(self, context: PanelContext) -> AlarmReportView:
        """Answers come back through the context's relay."""
        return AlarmReportView(self._request, context.relay, self)


def show_alarm_report(window: MainWindow) -> AlarmReportDock:
    """Open (or bring back) the report page of ``window``: a tab beside the alarm summary, else floating."""
    dock = window.alarm_report_dock
    if dock is None:
        dock = window.alarm_report_dock = AlarmReportDock(session_requests(window.session), window)
        window.attach_panel(dock)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        if not window.alarm_dock.isHidden() and not window.alarm_dock.isFloating():
            window.tabifyDockWidget(window.alarm_dock, dock)
        else:
            dock.setFloating(True)
    dock.show()
    if not dock.isFloating():
        dock.raise_()
    return dock
