"""Alarm snapshots are built at most once per frame, even in an alarm flood on a real Modbus link drop.

1,000 tags on one connection to a real pymodbus server, one active alarm on each; the server is
shut down, every tag turns bad at once and every alarm emits an event. The summary the GUI gets
must be rebuilt no more often than the bridge's frames, and still tell the whole truth.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from modbus_peer import device
from pymodbus.datastore import ModbusServerContext
from pymodbus.server import ModbusTcpServer

from hmi.alarms.engine import AlarmEngine, AlarmState, EventKind
from hmi.alarms.feed import AlarmSnapshotFeed
from hmi.core.loop_thread import LoopThread
from hmi.model import Sample
from hmi.project.config import AlarmDef
from hmi.project.loader import load_project
from hmi.ui.bridge import RuntimeBridge
from hmi.ui.session import GuiSession

TAGS = 1000
LIMIT = 50


def write_project(root: Path, port: int) -> None:
    """A project with ``TAGS`` uint16 tags on one connection and a hi alarm on each (all above the limit)."""
    lines = [
        "name: Alarm flood",
        "connections:",
        f"  plc1: {{driver: modbus, host: 127.0.0.1, port: {port}, timeout: 0.5s}}",
        "scan_classes: {fast: 100ms}",
        "history: {path: history.db, commit_interval: 200ms}",
        "tags:",
    ]
    tag_line = '  T{0}: {{connection: plc1, address: "hr:{0}", type: uint16, scan: fast}}'
    lines += [tag_line.format(i) for i in range(TAGS)]
    # Exactly the bridge's event bound: the connection's own link-lost alarm (tested apart) is left out.
    lines.append("alarm_settings: {link_alarms: false}")
    lines.append("alarms:")
    lines += [f"  T{i}.HI: {{tag: T{i}, type: hi, limit: {LIMIT}, priority: high}}" for i in range(TAGS)]
    (root / "project.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


class PlcThread:
    """A real pymodbus server on its own loop thread, so that shutting it down is a link drop for the HMI."""

    def __init__(self, port: int) -> None:
        self.thread = LoopThread("test-plc")
        self.server: Any = None
        self.port = port

    def start(self) -> None:
        self.thread.start()
        self.thread.call(self._start())

    async def _start(self) -> None:
        context = ModbusServerContext(devices=device(hr=[LIMIT * 2] * TAGS))
        self.server = ModbusTcpServer(context, address=("127.0.0.1", self.port))
        await self.server.serve_forever(background=True)

    def kill(self) -> None:
        if self.server is not None:
            self.thread.call(self.server.shutdown())
            self.server = None

    def stop(self) -> None:
        self.kill()
        self.thread.stop()


@pytest.mark.gui
def test_a_link_drop_under_1000_active_alarms_builds_a_snapshot_at_most_once_per_frame(
    qtbot: Any, tmp_path: Path, free_port: Callable[[], int]
) -> None:
    port = free_port()
    write_project(tmp_path, port)
    project = load_project(tmp_path)
    bridge = RuntimeBridge()
    snapshots: list[list[Any]] = []
    events: list[Any] = []
    bridge.sig_alarms_changed.connect(snapshots.append)
    bridge.sig_alarm_events.connect(events.extend)
    plc = PlcThread(port)
    plc.start()
    session = GuiSession(project, bridge)
    try:
        session.start().result(timeout=30)
        qtbot.waitUntil(lambda: bool(snapshots) and len(snapshots[-1]) == TAGS, timeout=30000)
        assert all(s.state is AlarmState.UNACKED and not s.bad_quality for s in snapshots[-1])
        feed = session.alarm_feed
        assert feed is not None
        builds, frames = feed.builds, feed.frames
        # Only the flood counts: on a loaded machine a start-up stall may already have flagged (and
        # then cleared) stale values before the kill.
        before_kill, dropped_before_kill = len(events), bridge.alarm_events_dropped
        plc.kill()

        def all_flagged() -> bool:
            shown = snapshots[-1] if snapshots else []
            return len(shown) == TAGS and all(s.bad_quality for s in shown)

        qtbot.waitUntil(all_flagged, timeout=15000)
        flood = [e for e in events[before_kill:] if e.kind is EventKind.QUALITY_BAD]
        assert len(flood) == TAGS, "every alarm's quality event reached the GUI, none dropped"
        assert bridge.alarm_events_dropped == dropped_before_kill, "the flood itself lost no event"
        builds_in_flood = feed.builds - builds
        frames_in_flood = feed.frames - frames
        assert 1 <= builds_in_flood <= frames_in_flood + 1, (builds_in_flood, frames_in_flood)
        assert feed.builds < len(events), "far fewer snapshots than events"
    finally:
        session.stop()
        plc.stop()


async def test_the_version_moves_on_every_state_change_and_the_snapshot_only_when_it_moved() -> None:
    definitions = {f"A{i}": AlarmDef(f"A{i}", f"T{i}", "hi", 10.0, priority="low") for i in range(3)}
    engine = AlarmEngine(definitions)
    offered: list[list[Any]] = []
    feed = AlarmSnapshotFeed(engine, lambda _event: None, offered.append, frame_s=3600)
    feed.start()
    try:
        assert engine.version == 0 and len(offered) == 1 and offered[0] == []
        assert feed.publish_if_changed() is False
        engine.on_sample("T0", Sample.good(20.0))
        engine.on_sample("T1", Sample.good(30.0))
        assert engine.version == 2
        assert feed.publish_if_changed() is True
        assert [s.name for s in offered[-1]] == ["A1", "A0"], "newest first within one priority"
        engine.on_sample("T0", Sample.good(25.0))  # no change of state
        assert feed.publish_if_changed() is False
        engine.acknowledge("A0")
        assert feed.publish_if_changed() is True
        assert offered[-1][1].state is AlarmState.ACKED
        assert offered[-2][1].state is AlarmState.UNACKED, "an offered snapshot is a copy, not live state"
        assert feed.builds == 3
    finally:
        await feed.stop()
