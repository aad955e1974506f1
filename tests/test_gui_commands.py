"""GUI writes and acknowledgements go through the command path with actor and origin (real PLC and window)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from project_files import write_project

from hmi.alarms.engine import AlarmState
from hmi.core.commands import AcknowledgeRequest, AuditRecord, AuditStage, Origin, WriteRequest, os_user
from hmi.project.loader import load_project
from hmi.ui.bridge import RuntimeBridge
from hmi.ui.main_window import MainWindow
from hmi.ui.session import GuiSession

pytestmark = pytest.mark.gui

BIG = 2**60 + 1
FC_READ_HOLDING = 3

PROJECT = """\
name: Operator
connections:
  plc1: {{driver: modbus, host: 127.0.0.1, port: {port}, unit: 1, timeout: 1s}}
scan_classes: {{fast: 100ms, normal: 1s, slow: 10s}}
tags:
  SPEED_SP: {{connection: plc1, address: "hr:0", type: uint16, writable: true, limits: [0, 1500], scan: fast}}
  COUNTER: {{connection: plc1, address: "hr:4", type: int64, writable: true, scan: fast}}
alarms:
  SPEED.HI: {{tag: SPEED_SP, type: hi, limit: 1000, priority: high, message: "Speed set high"}}
history: {{path: history.db, commit_interval: 200ms}}
"""

SCREEN = """\
size: [600, 200]
items:
  - {type: setpoint, id: speed, x: 10, y: 10, w: 300, h: 44, tag: SPEED_SP}
  - {type: setpoint, id: counter, x: 10, y: 60, w: 300, h: 44, tag: COUNTER}
"""


def make_project(root: Path, port: int):
    return load_project(write_project(root, PROJECT.format(port=port), {"main": SCREEN}))


def test_gui_writes_and_acknowledgements_carry_actor_and_origin(qtbot, tmp_path, plc):
    port, server, plc_thread = plc
    project = make_project(tmp_path, port)
    trail: list[AuditRecord] = []
    session = GuiSession(project, RuntimeBridge(), audit=trail.append)
    window = MainWindow(project, session)
    qtbot.addWidget(window)
    window.show()
    window.relay.watch(session.start(), lambda _future: None)
    me = os_user()
    try:
        qtbot.waitUntil(
            lambda: window.latest.get("SPEED_SP") is not None and window.latest["SPEED_SP"].is_good,
            timeout=20000,
        )
        speed = window.screen_view.items_by_id["speed"].panel

        # The entry's feedback is the runtime's check itself: refused at once, nothing sent or audited.
        speed.entry.setText("2000")
        speed.apply()
        assert (speed.message_kind, speed.message_text) == ("error", "2000 is outside the limits [0, 1500]")
        assert trail == []

        speed.entry.setText("1200")
        speed.apply()
        qtbot.waitUntil(lambda: speed.message_kind == "ok", timeout=10000)
        writes = [(r.request.tag, r.request.actor, r.request.origin, r.stage, r.value) for r in trail]
        assert writes == [
            ("SPEED_SP", me, Origin.SCREEN, AuditStage.SENDING, 1200),
            ("SPEED_SP", me, Origin.SCREEN, AuditStage.DONE, 1200),
        ]
        assert all(isinstance(r.request, WriteRequest) for r in trail)

        counter = window.screen_view.items_by_id["counter"].panel
        counter.entry.setText(str(BIG))
        counter.apply()
        qtbot.waitUntil(lambda: counter.message_kind == "ok", timeout=10000)
        assert plc_thread.call(server.async_getValues(1, FC_READ_HOLDING, 4, 4)) == [0x1000, 0, 0, 1]
        assert window.message.text() == f"COUNTER ← {BIG}"

        # 1200 > 1000 raised the alarm: the operator acknowledges it from the strip.
        qtbot.waitUntil(
            lambda: (
                window.alarm_strip.shown is not None and window.alarm_strip.shown.state is AlarmState.UNACKED
            ),
            timeout=10000,
        )
        window.alarm_strip.ack.click()
        qtbot.waitUntil(
            lambda: any(
                isinstance(r.request, AcknowledgeRequest) and r.stage is AuditStage.DONE for r in trail
            ),
            timeout=10000,
        )
        [ack] = [r for r in trail if isinstance(r.request, AcknowledgeRequest) and r.stage is AuditStage.DONE]
        assert (ack.request.alarm, ack.request.actor, ack.request.origin, ack.value) == (
            "SPEED.HI",
            me,
            Origin.SCREEN,
            1,
        )
    finally:
        window.close()
        session.stop()
    with sqlite3.connect(tmp_path / "history.db") as conn:
        users = conn.execute("SELECT user FROM alarm_events WHERE kind = 'acknowledged'").fetchall()
    assert users == [(me,)]
