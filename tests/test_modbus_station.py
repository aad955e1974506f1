"""A whole station (runtime, history, alarms) on a Modbus server that is killed and restarted mid-run.

The server runs in its own process and is killed with SIGKILL, as a crashing PLC or gateway
would vanish; the history file must then tell good → bad (comm failure) → good for every tag.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from modbus_peer import SERVER_HOLDING, server_process, wait_for
from station_history import all_quality, quality_runs, station_on

from hmi.model import ConnectionState, Quality, Reason

PROJECT = """\
name: Killed PLC
connections:
  plc1: {{driver: modbus, host: 127.0.0.1, port: {port}, timeout: 0.5s, sockets: 2}}
scan_classes: {{fast: 100ms, normal: 1s}}
history: {{commit_interval: 200ms}}
tags:
  LEVEL: {{connection: plc1, address: "hr:3", type: uint16, scan: fast}}
  FLOW:  {{connection: plc1, address: "400031", type: uint16, scan: fast}}
  RUN:   {{connection: plc1, address: "co:1", type: bool, scan: fast}}
  SLOW:  {{connection: plc1, address: "ir:5", type: uint16, scan: normal}}
"""


async def test_history_shows_good_bad_good_when_the_server_dies_and_returns(
    tmp_path: Path, free_port: Callable[[], int]
) -> None:
    port = free_port()
    station = station_on(tmp_path, PROJECT.format(port=port))
    runtime = station.runtime
    names = list(station.project.tags)

    stopped = False
    try:
        async with server_process(port) as server:
            await station.start()
            await wait_for(lambda: all_quality(station, Quality.GOOD), within=10)
            server.kill()
        await wait_for(lambda: all_quality(station, Quality.BAD), within=3)
        assert {runtime.values[name].reason for name in names} == {Reason.COMM_FAILURE}
        assert runtime.values["LEVEL"].value == SERVER_HOLDING[3], "the last known value stays beside"
        async with server_process(port):
            await wait_for(lambda: all_quality(station, Quality.GOOD), within=15)
            assert runtime.statuses["plc1"].state is ConnectionState.CONNECTED
            stopped = True
            await station.stop()
    finally:
        if not stopped:
            await station.stop()

    for name, seen in quality_runs(station).items():
        first_good = seen.index((Quality.GOOD, ""))
        assert seen[first_good:] == [
            (Quality.GOOD, ""),
            (Quality.BAD, Reason.COMM_FAILURE.value),
            (Quality.GOOD, ""),
            (Quality.BAD, Reason.NOT_CONNECTED.value),
        ], name
    assert runtime.values["FLOW"].value == SERVER_HOLDING[30]
    assert station.history.stats()["dropped"] == 0
