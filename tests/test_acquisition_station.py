"""A whole station (runtime, history, alarms) with its drivers in a worker process that is killed mid-run.

History must tell good -> bad (comm failure) -> good for every tag, as for a PLC that vanishes, and
the project file's ``acquisition:`` setting is what puts the drivers in the process.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

from modbus_peer import SERVER_HOLDING, server_process, wait_for
from station_history import all_quality, quality_runs, station_on

from hmi.core.acquisition import ProcessDriver
from hmi.model import Quality, Reason

PROJECT = """\
name: Worker process
acquisition: {{processes: 1}}
connections:
  plc1: {{driver: modbus, host: 127.0.0.1, port: {port}, timeout: 0.5s}}
scan_classes: {{fast: 100ms}}
history: {{commit_interval: 200ms}}
tags:
  LEVEL: {{connection: plc1, address: "hr:3", type: uint16, scan: fast}}
  RUN:   {{connection: plc1, address: "co:1", type: bool, scan: fast}}
"""
START_WITHIN = 30.0


async def test_history_shows_good_bad_good_when_the_worker_process_dies(
    tmp_path: Path, free_port: Callable[[], int]
) -> None:
    port = free_port()
    station = station_on(tmp_path, PROJECT.format(port=port))
    runtime = station.runtime
    names = list(station.project.tags)

    async with server_process(port):
        await station.start()
        try:
            driver = runtime.drivers["plc1"]
            assert isinstance(driver, ProcessDriver)
            await wait_for(lambda: all_quality(station, Quality.GOOD), within=START_WITHIN)
            assert runtime.values["LEVEL"].value == SERVER_HOLDING[3]
            pid = driver.pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            await wait_for(lambda: all_quality(station, Quality.BAD), within=10)
            assert {runtime.values[name].reason for name in names} == {Reason.COMM_FAILURE}
            await wait_for(lambda: all_quality(station, Quality.GOOD), within=START_WITHIN)
        finally:
            await station.stop()

    for name, seen in quality_runs(station).items():
        first_good = seen.index((Quality.GOOD, ""))
        assert seen[first_good:] == [
            (Quality.GOOD, ""),
            (Quality.BAD, Reason.COMM_FAILURE.value),
            (Quality.GOOD, ""),
            (Quality.BAD, Reason.NOT_CONNECTED.value),
        ], name
