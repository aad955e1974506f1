"""Consumers choose their feed: raw (every sample, for alarms) or changes (past the deadband, for history
and screens); internal sources publish through the same path as drivers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from modbus_peer import device, modbus_server, wait_for
from pymodbus.client import AsyncModbusTcpClient
from test_runtime import make_runtime

from hmi.alarms.engine import AlarmState
from hmi.core.runtime import Feed
from hmi.core.station import Station
from hmi.core.tag_source import TagSource
from hmi.historian.reader import HistoryReader
from hmi.model import DataType, Reason, Sample, TagDef
from hmi.project.loader import load_project

PROJECT = """\
name: Coarse deadband
connections:
  plc1: {{driver: modbus, host: 127.0.0.1, port: {port}, timeout: 1s}}
scan_classes: {{fast: 100ms, normal: 1s}}
history: {{commit_interval: 100ms}}
tags:
  LEVEL: {{connection: plc1, address: "hr:0", type: uint16, scan: fast, deadband: 5}}
alarms:
  LEVEL.HI: {{tag: LEVEL, type: hi, limit: 90}}
"""


async def test_a_move_below_the_deadband_still_trips_the_alarm_at_its_limit(
    tmp_path: Path, free_port: Callable[[], int]
) -> None:
    port = free_port()
    (tmp_path / "project.yaml").write_text(PROJECT.format(port=port), encoding="utf-8")
    station = Station(load_project(tmp_path), tmp_path / "history.db")
    alarm = station.alarms.statuses["LEVEL.HI"]
    async with modbus_server(port, device(hr=[88] + [0] * 49)):
        await station.start()
        try:
            await wait_for(lambda: station.runtime.values["LEVEL"].value == 88, within=5)
            assert alarm.state is AlarmState.NORMAL
            other = AsyncModbusTcpClient("127.0.0.1", port=port)  # the process moves: 88 -> 91
            await other.connect()
            await other.write_register(0, 91, device_id=1)
            other.close()
            await wait_for(lambda: alarm.state is AlarmState.UNACKED, within=3)
            assert alarm.value == 91
            changes = station.runtime.values["LEVEL"]
            assert changes.value == 88, "history and screens still see 88: 3 is inside the deadband of 5"
        finally:
            await station.stop()
    reader = HistoryReader(station.history_path)
    try:
        assert 91.0 not in [row.value for row in reader.iter_rows("LEVEL")]
    finally:
        reader.close()


async def test_the_raw_feed_has_every_sample_and_the_changes_feed_only_those_past_the_deadband() -> None:
    runtime, drivers, changes = make_runtime()
    raw: list[tuple[str, Sample]] = []
    unsubscribe = runtime.subscribe(lambda tag, sample: raw.append((tag, sample)), Feed.RAW)
    await runtime.start()
    try:
        changes.clear()
        raw.clear()
        for value in (10.0, 10.3, 10.6, 10.7):
            drivers["plc"].publish("LEVEL", Sample.good(value))
        assert [s.value for t, s in raw if t == "LEVEL"] == [10.0, 10.3, 10.6, 10.7]
        assert [s.value for t, s in changes if t == "LEVEL"] == [10.0, 10.6]
        drivers["plc"].publish("LEVEL", Sample.bad(Reason.COMM_FAILURE))
        bad = raw[-1][1]
        assert bad.reason is Reason.COMM_FAILURE and bad.value == 10.6, "the current value, as last known"
        assert runtime.values["LEVEL"].value == 10.6, "the current value is the changes feed's"
        unsubscribe()
        drivers["plc"].publish("LEVEL", Sample.good(11.5))
        assert raw[-1][1].reason is Reason.COMM_FAILURE
    finally:
        await runtime.stop()


class CountingSource(TagSource):
    """A source whose values the test sets."""

    def __init__(self) -> None:
        super().__init__("counter", [TagDef("COUNT", None, "count", DataType.UINT32, source="test")])
        self.running = False

    async def _start(self) -> None:
        self.running = True

    async def _stop(self) -> None:
        self.running = False


async def test_an_internal_source_publishes_like_a_driver_and_ends_not_connected() -> None:
    runtime, _drivers, changes = make_runtime()
    source = CountingSource()
    runtime.add_source(source)
    assert runtime.values["COUNT"].reason is Reason.WAITING
    await runtime.start()
    try:
        assert source.running
        source.publish("COUNT", Sample.good(3))
        assert runtime.values["COUNT"].value == 3
        assert ("COUNT", runtime.values["COUNT"]) in changes
        await asyncio.sleep(0)
    finally:
        await runtime.stop()
    assert not source.running
    assert runtime.values["COUNT"].reason is Reason.NOT_CONNECTED and runtime.values["COUNT"].value == 3


def test_a_source_may_not_take_over_a_project_tag() -> None:
    runtime, _drivers, _changes = make_runtime()

    class Impostor(CountingSource):
        def __init__(self) -> None:
            TagSource.__init__(self, "impostor", [TagDef("LEVEL", None, "x", source="test")])

    with pytest.raises(ValueError, match="already defined by the project"):
        runtime.add_source(Impostor())
