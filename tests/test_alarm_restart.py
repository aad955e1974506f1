"""Shelved and out-of-service alarms stay so across a SIGKILL of the runtime: restored from the journal."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from modbus_peer import device, modbus_server, wait_for

from hmi.alarms.engine import AlarmState
from hmi.core.station import Station
from hmi.project.loader import load_project

ROOT = Path(__file__).resolve().parents[1]

PROJECT = """\
name: Restart
connections:
  plc1: {{driver: modbus, host: 127.0.0.1, port: {port}, timeout: 0.5s}}
scan_classes: {{fast: 100ms}}
history: {{commit_interval: 50ms}}
tags:
  A: {{connection: plc1, address: "hr:0", type: uint16, scan: fast}}
  B: {{connection: plc1, address: "hr:1", type: uint16, scan: fast}}
  C: {{connection: plc1, address: "hr:2", type: uint16, scan: fast}}
alarms:
  A.HI: {{tag: A, type: hi, limit: 50, priority: high}}
  B.HI: {{tag: B, type: hi, limit: 50, priority: high}}
  C.HI: {{tag: C, type: hi, limit: 50, priority: high}}
"""

# The runtime that is killed: raise all three, shelve A, take B out of service, then wait to be killed.
CHILD = """
import asyncio, sqlite3, sys
from hmi.core.station import Station
from hmi.project.loader import load_project

async def main(root):
    project = load_project(root)
    station = Station(project, project.history.path)
    await station.start()
    alarms = station.alarms
    while not all(s.state.value == "active unacknowledged" for s in alarms.statuses.values()
                  if not s.name.startswith("SYSTEM.")):
        await asyncio.sleep(0.05)
    assert alarms.shelve("A.HI", 3600, "transmitter repair", "alice") is None
    assert alarms.remove_from_service("B.HI", "sensor removed", "eng") is None
    while station.journal.stats().pending:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    print("ready", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main(sys.argv[1]))
"""


async def test_a_killed_runtime_comes_back_with_its_shelved_and_out_of_service_alarms(
    tmp_path: Path, free_port: Callable[[], int]
) -> None:
    port = free_port()
    (tmp_path / "project.yaml").write_text(textwrap.dedent(PROJECT.format(port=port)), "utf-8")
    async with modbus_server(port, device(hr=[99, 99, 99] + [0] * 47)):
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            CHILD,
            str(tmp_path),
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        try:
            line = await asyncio.wait_for(child.stdout.readline(), 60)  # type: ignore[union-attr]
            assert line.strip() == b"ready"
        finally:
            child.send_signal(signal.SIGKILL)
            await child.wait()

        project = load_project(tmp_path)
        station = Station(project, project.history.path)
        await station.start()
        try:
            statuses = station.alarms.statuses
            assert statuses["A.HI"].state is AlarmState.SHELVED and statuses["A.HI"].set_aside_by == "alice"
            assert statuses["B.HI"].state is AlarmState.OUT_OF_SERVICE
            assert statuses["B.HI"].set_aside_reason == "sensor removed"
            await wait_for(lambda: statuses["C.HI"].state is AlarmState.UNACKED, within=10)
            await wait_for(lambda: statuses["A.HI"].alarmed and statuses["B.HI"].alarmed, within=10)
            # Their values are still high, yet they stay set aside: not announced again.
            assert statuses["A.HI"].state is AlarmState.SHELVED
            assert statuses["B.HI"].state is AlarmState.OUT_OF_SERVICE
            assert [s.name for s in station.alarms.shown() if not s.name.startswith("SYSTEM.")] == ["C.HI"]
        finally:
            await station.stop()
    with sqlite3.connect(project.history.path) as conn:
        shelvings = conn.execute("SELECT count(*) FROM alarm_events WHERE kind = 'shelved'").fetchone()
    assert shelvings == (1,), "restoring is not shelving again"
