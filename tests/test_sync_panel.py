"""The sync panel and its status-bar line show what the state file records, read off the GUI thread."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from sync_receiver import Receiver
from sync_store import filled_store, sync_once, sync_project

from hmi.ui.futures import FutureRelay
from hmi.ui.sync_panel import SyncPanel


class Context(QObject):
    """The part of the window's PanelContext the sync panel uses."""

    sig_runtime_started = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.relay = FutureRelay(self)


def test_the_panel_shows_backlog_delivery_and_quarantine(qtbot, tmp_path: Path, free_port) -> None:
    receiver = Receiver(free_port()).start()
    try:
        project = sync_project(tmp_path / "plant", receiver.url)
        receiver.plan = lambda n, request: 400 if n == 0 and request.stream == "history" else "ok"
        with filled_store(project.history.path, samples=300, events=5) as filled:
            sync_once(project, filled, receiver, {"history": 200})
            filled.add_samples(40)  # recorded after the endpoint went quiet: pending
            filled.commit()
    finally:
        receiver.stop()

    panel = SyncPanel(project.sync)
    qtbot.addWidget(panel)
    context = Context()
    panel.attach(context)  # type: ignore[arg-type]
    try:
        context.sig_runtime_started.emit(project.history.path)
        qtbot.waitUntil(lambda: len(panel.statuses) == 2, timeout=10_000)
        cells = {
            panel.table.item(row, 1).text(): [panel.table.item(row, c).text() for c in range(10)]
            for row in range(panel.table.rowCount())
        }
        assert cells["history"][:3] == ["ent", "history", "40"] and cells["history"][5] == "200"
        assert cells["history"][7] == "1" and cells["history"][8] == "0"
        assert cells["history"][9].startswith("HTTP 400")
        assert cells["alarms"][2] == "0" and cells["alarms"][5] == "5"
        assert panel.summary.text().startswith("Sync: 40 rows pending, 1 quarantined")
    finally:
        panel.detach()
        context.relay.close()


def test_the_demo_window_shows_its_sync_in_the_view_menu_and_the_status_bar(running_demo, qtbot) -> None:
    _, _, window = running_demo
    assert window.sync_panel is not None and window.sync_view_action.text() == "S&ync"
    qtbot.waitUntil(lambda: any(s.delivered_rows > 0 for s in window.sync_panel.statuses), timeout=30_000)
    assert window.sync_panel.summary.text().startswith("Sync: ")


def test_rows_at_risk_and_rows_lost_to_retention_are_said_in_the_status_line(qtbot) -> None:
    from hmi.sync.status import StreamStatus
    from hmi.ui.sync_panel import AT_RISK, COLUMNS, summary_text

    def status(**changes: object) -> StreamStatus:
        base = {"endpoint": "erp", "stream": "history", "state": "retrying", "cursor": 5, "backlog_rows": 900}
        base |= {"backlog_age_s": 3600.0, "rows_per_s": 0.0, "delivered_rows": 5, "last_success": None}
        base |= {"last_error": "", "last_error_at": None, "quarantined": 0, "inflight": None}
        return StreamStatus(**(base | changes))  # type: ignore[arg-type]

    assert summary_text([status()]) == "Sync: 900 rows pending"
    text = summary_text([status(lost_rows=1200, at_risk=True)])
    assert text == (
        "Sync: 900 rows pending, 1,200 rows lost to retention, AT RISK: erp is near the history's limits"
    )
    panel = SyncPanel({})
    qtbot.addWidget(panel)
    panel.show_statuses([status(lost_rows=1200, at_risk=True)])
    assert panel.table.item(0, COLUMNS.index("Lost")).text() == "1,200"
    assert panel.table.item(0, COLUMNS.index("Backlog rows")).foreground().color() == AT_RISK
