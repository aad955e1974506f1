"""The tag runtime's own rules: deadband, quality fan-out, last known value, staleness, writes.

The driver here is a scripted in-memory source (a real ``Driver`` subclass fed by the
test): these rules do not depend on a protocol; the protocol paths are covered
against real servers in the driver and end-to-end tests.
"""

import asyncio
from pathlib import Path

import pytest

from drivers.base import Driver
from hmi.core.runtime import TagRuntime
from hmi.model import DataType, Quality, Reason, Sample, TagDef, WriteError
from hmi.project.config import ConnectionConfig, HistorySettings, Project


class ScriptedDriver(Driver):
    reports_every_scan = True

    def __init__(self, name, tags, on_sample, on_status):
        super().__init__(name, tags, on_sample, on_status)
        self.written = []

    async def _connect(self):
        pass

    async def _serve(self):
        await asyncio.Event().wait()

    async def _disconnect(self):
        pass

    async def write(self, tag, value):
        self.written.append((tag.name, value))


def make_runtime(**tag_overrides):
    tags = {
        "LEVEL": TagDef("LEVEL", "plc", "hr:0", DataType.FLOAT32, deadband=0.5, scan_period=0.1),
        "SP": TagDef("SP", "plc", "hr:10", DataType.UINT16, writable=True, limits=(0, 1500)),
    }
    project = Project(
        name="t",
        root=Path("."),
        connections={"plc": ConnectionConfig("plc", "scripted", None)},
        scan_classes={},
        tags=tags,
        alarms={},
        history=HistorySettings(Path("h.db")),
        screens={},
    )
    drivers = {}

    def factory(config, tags, on_sample, on_status, stale=None):
        drivers[config.name] = ScriptedDriver(config.name, tags, on_sample, on_status)
        return drivers[config.name]

    runtime = TagRuntime(project, driver_factory=factory)
    seen = []
    runtime.subscribe(lambda tag, sample: seen.append((tag, sample)))
    return runtime, drivers, seen


async def test_deadband_filters_small_moves_but_never_a_quality_change():
    runtime, drivers, seen = make_runtime()
    await runtime.start()
    driver = drivers["plc"]
    seen.clear()
    for value in (10.0, 10.3, 10.6, 10.7):
        driver.publish("LEVEL", Sample.good(value))
    assert [s.value for t, s in seen if t == "LEVEL"] == [10.0, 10.6]
    driver.publish("LEVEL", Sample.bad(Reason.COMM_FAILURE))
    last = runtime.values["LEVEL"]
    assert last.quality is Quality.BAD and last.reason is Reason.COMM_FAILURE
    assert last.value == 10.6, "a bad sample keeps the last known value beside it"
    await runtime.stop()


async def test_a_polled_value_not_refreshed_turns_stale_then_fresh_again():
    runtime, drivers, _seen = make_runtime()
    await runtime.start()
    drivers["plc"].publish("LEVEL", Sample.good(42.0))
    for _ in range(60):  # bounded: 3 s at most
        if runtime.values["LEVEL"].reason is Reason.STALE:
            break
        await asyncio.sleep(0.05)
    stale = runtime.values["LEVEL"]
    assert stale.quality is Quality.UNCERTAIN and stale.reason is Reason.STALE and stale.value == 42.0
    drivers["plc"].publish("LEVEL", Sample.good(42.0))
    assert runtime.values["LEVEL"].is_good
    await runtime.stop()


async def test_writes_are_checked_before_the_driver_sees_them():
    runtime, drivers, _ = make_runtime()
    await runtime.start()
    assert await runtime.write("SP", "900") == 900
    with pytest.raises(WriteError, match="outside the limits"):
        await runtime.write("SP", 2000)
    with pytest.raises(WriteError, match="read-only"):
        await runtime.write("LEVEL", 1)
    with pytest.raises(WriteError, match="no such tag"):
        await runtime.write("NOPE", 1)
    assert drivers["plc"].written == [("SP", 900)]
    await runtime.stop()


async def test_stop_leaves_every_tag_not_connected():
    runtime, drivers, _ = make_runtime()
    await runtime.start()
    drivers["plc"].publish("LEVEL", Sample.good(1.0))
    await runtime.stop()
    assert all(s.reason is Reason.NOT_CONNECTED for s in runtime.values.values())


async def test_a_failing_listener_does_not_starve_the_others():
    runtime, drivers, _seen = make_runtime()
    runtime.subscribe(lambda tag, sample: 1 / 0)
    after = []
    runtime.subscribe(lambda tag, sample: after.append(tag))
    await runtime.start()
    drivers["plc"].publish("LEVEL", Sample.good(5.0))
    assert "LEVEL" in after and runtime.listener_errors > 0
    await runtime.stop()


async def test_a_refresh_keeps_an_unchanged_polled_value_fresh():
    runtime, drivers, _ = make_runtime()
    await runtime.start()
    driver = drivers["plc"]
    assert driver.on_refresh is not None, "the runtime wires freshness reports"
    driver.publish("LEVEL", Sample.good(42.0))
    for _ in range(30):  # 1.5 s of steady reads, reported only as refreshes
        driver.on_refresh(["LEVEL"])
        await asyncio.sleep(0.05)
    assert runtime.values["LEVEL"].is_good
    await runtime.stop()


async def test_a_refresh_after_a_stall_brings_a_stale_value_back_to_good():
    # After a stall of the loop the watchdog may call a value stale that the next read finds unchanged:
    # that read, reported only as a refresh, must vouch for it again (else it stays uncertain for good).
    runtime, drivers, seen = make_runtime()
    await runtime.start()
    driver = drivers["plc"]
    driver.publish("LEVEL", Sample.good(42.0))
    for _ in range(60):  # bounded: 3 s at most
        if runtime.values["LEVEL"].reason is Reason.STALE:
            break
        await asyncio.sleep(0.05)
    assert runtime.values["LEVEL"].reason is Reason.STALE
    seen.clear()
    driver.on_refresh(["LEVEL"])
    assert runtime.values["LEVEL"].is_good and runtime.values["LEVEL"].value == 42.0
    assert [(t, s.quality) for t, s in seen] == [("LEVEL", Quality.GOOD)], "the recovery fans out once"
    driver.on_refresh(["LEVEL"])
    assert len(seen) == 1, "a refresh of a fresh value stays silent"
    await runtime.stop()
