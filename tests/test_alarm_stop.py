"""A station that stops raises no alarm: its links going down at the stop are no fault of the plant."""

from __future__ import annotations

import asyncio
import sqlite3
import textwrap
from collections.abc import Callable
from pathlib import Path

from modbus_peer import device, modbus_server, wait_for

from hmi.core.station import Station
from hmi.model import Quality
from hmi.project.loader import load_project

PROJECT = """\
name: Stopping
connections:
  plc1: {{driver: modbus, host: 127.0.0.1, port: {port}, unit: 1, timeout: 1s}}
scan_classes: {{fast: 100ms}}
history: {{commit_interval: 50ms}}
tags:
  LEVEL: {{connection: plc1, address: "hr:0", type: uint16, scan: fast}}
rules:
  level_watch:
    when: "LEVEL > 50"
    do: [{{log: "level high"}}]
"""


async def test_a_stop_raises_no_rule_fault_alarm(tmp_path: Path, free_port: Callable[[], int]) -> None:
    port = free_port()
    (tmp_path / "project.yaml").write_text(textwrap.dedent(PROJECT.format(port=port)), encoding="utf-8")
    project = load_project(tmp_path)
    async with modbus_server(port, device(hr=[10] * 10)):
        station = Station(project, tmp_path / "history.db")
        await station.start()
        try:
            await wait_for(lambda: station.runtime.values["LEVEL"].quality is Quality.GOOD, within=10)
            await asyncio.sleep(0.2)  # a commit interval or more: the start's events reach the file
        finally:
            await station.stop()
    with sqlite3.connect(tmp_path / "history.db") as conn:
        raised = conn.execute(
            "SELECT alarm FROM alarm_events WHERE kind = 'raised' AND alarm LIKE 'RULE.%'"
        ).fetchall()
    assert raised == []
