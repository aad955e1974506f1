"""View > Audit trail: a real trail file's records, filtered, the chain checked off the GUI thread, CSV."""

from __future__ import annotations

import contextlib
import csv
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from hmi.core.loop_thread import LoopThread
from hmi.security.audit import AuditEntry
from hmi.security.trail import AuditTrail
from hmi.ui.audit_view import ALL, AuditViewer

pytestmark = pytest.mark.gui

T0 = 1_790_000_000.0  # 2026-09-21, UTC

ENTRIES = [
    AuditEntry("ada", "screen", "add_user", "ada", "ok", value="administrator", ts=T0),
    AuditEntry("ada", "screen", "log_on", "ada", "ok", ts=T0 + 10),
    AuditEntry("olga", "screen", "log_on", "olga", "refused", detail="wrong password", ts=T0 + 20),
    AuditEntry("olga", "faceplate", "write", "PUMP1.SPEED_SP", "done", value=1300, old=1200, read_back=1300,
               ts=T0 + 3600),
    AuditEntry("rule", "rule", "write", "VALVE.OPEN", "failed", value=True, old=False,
               detail="illegal data address", ts=T0 + 7200),
]  # fmt: skip


@pytest.fixture
def trail(tmp_path) -> Path:
    path = tmp_path / "history-audit.db"
    writer = AuditTrail(path, commit_interval=0.05)
    writer.start()
    for entry in ENTRIES:
        assert writer.record(entry)
    writer.stop()
    return path


@pytest.fixture
def runtime() -> Iterator[LoopThread]:
    thread = LoopThread("runtime")
    thread.start()
    yield thread
    thread.stop()


@contextlib.contextmanager
def viewer_on(qtbot, trail: Path, runtime: LoopThread) -> Iterator[AuditViewer]:
    viewer = AuditViewer(trail, runtime.submit)
    qtbot.addWidget(viewer)
    viewer.show()
    qtbot.waitUntil(lambda: viewer.verdict is not None, timeout=10000)
    yield viewer


def rows(viewer: AuditViewer) -> list[list[str]]:
    model = viewer.model
    return [[model.cell(r, c) for c in range(model.columnCount())] for r in range(model.rowCount())]


def test_the_table_shows_every_record_newest_first_and_the_chain_intact(qtbot, trail, runtime):
    with viewer_on(qtbot, trail, runtime) as viewer:
        table = rows(viewer)
        assert [row[1:4] for row in table] == [
            ["rule", "write", "VALVE.OPEN"],
            ["olga", "write", "PUMP1.SPEED_SP"],
            ["olga", "log_on", "olga"],
            ["ada", "log_on", "ada"],
            ["ada", "add_user", "ada"],
        ]
        assert table[1][4:] == ["1200 → 1300", "done: read back 1300", "faceplate"]
        assert table[0][4:] == ["false → true", "failed: illegal data address", "rule"]
        assert table[2][5] == "refused: wrong password"
        assert viewer.chain.text() == "Chain intact: 5 records verified"
        assert viewer.count.text() == "5 of 5 records"


def test_the_chain_is_verified_off_the_gui_thread(qtbot, trail, runtime, monkeypatch):
    import hmi.ui.audit_view as audit_view

    threads: list[threading.Thread] = []
    real = audit_view._verify

    def watched(path: Path):
        threads.append(threading.current_thread())
        return real(path)

    monkeypatch.setattr(audit_view, "_verify", watched)
    with viewer_on(qtbot, trail, runtime):
        assert threads and threads[0] is not threading.main_thread()


def test_filters_by_user_action_text_and_time(qtbot, trail, runtime):
    with viewer_on(qtbot, trail, runtime) as viewer:
        assert [viewer.user.itemText(i) for i in range(viewer.user.count())] == [ALL, "ada", "olga", "rule"]
        viewer.user.setCurrentText("olga")
        assert [row[2] for row in rows(viewer)] == ["write", "log_on"]
        viewer.action.setCurrentText("write")
        assert [row[3] for row in rows(viewer)] == ["PUMP1.SPEED_SP"]
        viewer.user.setCurrentText(ALL)
        qtbot.keyClicks(viewer.text, "address")  # the device's error, in the detail
        assert [row[3] for row in rows(viewer)] == ["VALVE.OPEN"]
        viewer.text.clear()
        viewer.action.setCurrentText(ALL)

        from PySide6.QtCore import QDateTime

        viewer.since.setDateTime(QDateTime.fromSecsSinceEpoch(int(T0 + 15)))
        viewer.until.setDateTime(QDateTime.fromSecsSinceEpoch(int(T0 + 3600)))
        viewer.since_on.setChecked(True)
        viewer.until_on.setChecked(True)
        assert [(row[1], row[2]) for row in rows(viewer)] == [("olga", "write"), ("olga", "log_on")]
        assert viewer.count.text() == "2 of 5 records"


def test_an_edited_record_shows_the_chain_broken_at_it(qtbot, trail, runtime):
    with contextlib.closing(sqlite3.connect(trail)) as conn, conn:
        conn.execute("UPDATE audit SET value = '1500' WHERE seq = 4")
    with viewer_on(qtbot, trail, runtime) as viewer:
        assert viewer.chain.text() == "Chain BROKEN at record 4: record 4 was changed after it was written"


def test_csv_export_writes_the_records_shown(qtbot, trail, runtime, tmp_path):
    with viewer_on(qtbot, trail, runtime) as viewer:
        viewer.user.setCurrentText("olga")
        out = tmp_path / "out.csv"
        future = viewer.export_csv(out)
        assert future.result(timeout=10) == 2
        qtbot.waitUntil(lambda: viewer.count.text() == "Exported 2 to out.csv", timeout=5000)
    with open(out, newline="", encoding="utf-8") as file:
        exported = list(csv.DictReader(file))
    assert [(r["seq"], r["actor"], r["action"], r["old"], r["value"]) for r in exported] == [
        ("4", "olga", "write", "1200", "1300"),
        ("3", "olga", "log_on", "null", "null"),
    ]
    assert exported[0]["time"] and exported[0]["hash"]


def test_a_project_without_a_trail_says_so(qtbot, tmp_path, runtime):
    with viewer_on(qtbot, tmp_path / "none-audit.db", runtime) as viewer:
        assert viewer.model.rowCount() == 0
        assert viewer.chain.text() == "Chain: no audit trail yet"


def test_view_audit_trail_opens_the_running_projects_trail(qtbot, tmp_path):
    from hmi.project.loader import load_project
    from hmi.security.paths import audit_path
    from hmi.ui.bridge import RuntimeBridge
    from hmi.ui.main_window import MainWindow
    from hmi.ui.session import GuiSession

    (tmp_path / "project.yaml").write_text("name: Viewer\nhistory: {path: history.db}\n", "utf-8")
    project = load_project(tmp_path)
    session = GuiSession(project, RuntimeBridge())
    writer = AuditTrail(audit_path(session.history_path), commit_interval=0.05)
    writer.start()
    writer.record(ENTRIES[1])
    writer.stop()
    window = MainWindow(project, session)
    qtbot.addWidget(window)
    session.runtime_thread.start()  # only the runtime thread: the viewer's reads and checks run there
    try:
        window.audit_view_action.trigger()
        viewer = window.audit_viewer
        qtbot.waitUntil(lambda: viewer.verdict is not None, timeout=10000)
        assert [row[1:4] for row in rows(viewer)] == [["ada", "log_on", "ada"]]
        assert viewer.chain.text() == "Chain intact: 1 record verified"
        viewer.close()
    finally:
        session.runtime_thread.stop()
