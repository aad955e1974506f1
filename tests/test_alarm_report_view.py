"""The alarm report page: built off the GUI thread from a real journal file, and opened from the View menu."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_alarm_kpi import HOUR, T0, journal_file, plant_hour

from hmi.alarms.kpi_file import load_report
from hmi.core.demo import FLOOD_AREA
from hmi.ui.alarm_report_view import AlarmReportDock, AlarmReportView
from hmi.ui.futures import FutureRelay


@pytest.fixture
def workers() -> Iterator[concurrent.futures.ThreadPoolExecutor]:
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="report-test") as pool:
        yield pool


def test_the_page_shows_the_flood_and_the_findings(
    qtbot: Any, tmp_path: Path, workers: concurrent.futures.ThreadPoolExecutor
) -> None:
    path = journal_file(tmp_path, plant_hour())
    asked: list[tuple[float, float]] = []

    def request(start: float, end: float) -> concurrent.futures.Future[Any]:
        asked.append((start, end))
        return workers.submit(load_report, path, start, end)

    relay = FutureRelay()
    view = AlarmReportView(request, relay, clock=lambda: T0 + HOUR)
    qtbot.addWidget(view)
    view.show()
    view.start()
    try:
        qtbot.waitUntil(lambda: view.report is not None, timeout=10000)
        assert asked == [(T0, T0 + HOUR)], "the default period: the last hour"
        assert view.figures["alarms"].text() == "16"
        assert "likely over-demanding" in view.figures["average"].text()
        assert view.floods.rowCount() == 1 and view.floods.item(0, 2).text() == "14"
        assert view.floods.item(0, 3).text().startswith("F.A ×7")
        assert view.tabs.tabText(0) == "Floods (1)"
        assert [view.top.item(r, 0).text() for r in range(3)] == ["F.A", "F.B", "F.C"]
        assert view.chattering.rowCount() == 2
        standing = {view.standing.item(r, 0).text(): view.standing.item(r, 4).text() for r in range(2)}
        assert standing == {"STALE": "stale", "LOW.ONE": ""}
        view.period.setCurrentIndex(0)  # the last 10 minutes: nothing but the standing alarms
        qtbot.waitUntil(lambda: view.report is not None and view.report.total == 0, timeout=10000)
        assert view.floods.rowCount() == 0 and view.tabs.tabText(0) == "Floods (0)"
    finally:
        view.stop()
        relay.close()


def test_a_journal_that_cannot_be_read_says_so(
    qtbot: Any, tmp_path: Path, workers: concurrent.futures.ThreadPoolExecutor
) -> None:
    damaged = tmp_path / "history.db"
    damaged.write_bytes(b"not a database at all" * 100)
    relay = FutureRelay()
    view = AlarmReportView(lambda s, e: workers.submit(load_report, damaged, s, e), relay)
    qtbot.addWidget(view)
    view.refresh()
    try:
        qtbot.waitUntil(lambda: "Cannot read the alarm journal" in view.status.text(), timeout=10000)
        assert view.report is None
    finally:
        relay.close()


def test_the_view_menu_opens_it_and_a_demo_flood_shows(
    running_demo: tuple[Any, Any, Any], qtbot: Any
) -> None:
    _project, session, window = running_demo
    qtbot.waitUntil(lambda: session.station is not None and session.plant is not None, timeout=30000)
    window.alarm_report_action.trigger()
    dock = window.alarm_report_dock
    assert isinstance(dock, AlarmReportDock) and dock.isVisible() and dock.view is not None
    qtbot.waitUntil(lambda: dock.view.refreshes >= 1, timeout=10000)
    window.alarm_flood.trigger()
    # more than 10 alarms in 10 minutes: the third surge period brings the eleventh
    qtbot.waitUntil(lambda: dock.view.report is not None and len(dock.view.report.floods) == 1, timeout=90000)
    flood = dock.view.report.floods[0]
    demo_alarms = {
        name for name, alarm in session.station.alarms.statuses.items() if alarm.definition.area == FLOOD_AREA
    }
    assert {name for name, _count in flood.top} & demo_alarms
