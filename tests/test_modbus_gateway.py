"""Unit ids per tag (gateways), several sockets, write verification and staleness, on a real server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from modbus_peer import Recorder, device, make_driver, modbus_server, running, tag, wait_for
from pymodbus.pdu import ModbusPDU

from drivers.modbus_plan import ModbusPollPlan
from drivers.settings import ModbusSettings
from hmi.core.runtime import TagRuntime
from hmi.model import ConnectionState, DataType, Quality, Reason, WriteError
from hmi.project.config import ConnectionConfig, HistorySettings, Project

FC_READ_HOLDING = 3


def test_the_plan_groups_by_unit_and_never_joins_units() -> None:
    plan = ModbusPollPlan.build(
        [tag("a", "hr:0"), tag("b", "hr:1", unit=2), tag("c", "hr:2"), tag("d", "hr:3", unit=1)],
        max_gap=8,
        default_unit=1,
    )
    blocks = [(b.unit, b.start, b.count, [p.tag.name for p in b.tags]) for b in plan.groups[0].blocks]
    assert blocks == [(1, 0, 4, ["a", "c", "d"]), (2, 1, 1, ["b"])]
    assert plan.readback_block("b").unit == 2


def test_a_unit_id_outside_the_protocol_range_is_rejected() -> None:
    plan = ModbusPollPlan.build([tag("bad", "hr:0", unit=300)], max_gap=8)
    assert "unit id 300 is outside 0..255" in plan.rejected["bad"]


def test_scan_blocks_are_dealt_over_the_sockets() -> None:
    plan = ModbusPollPlan.build([tag(f"t{i}", f"hr:{i * 20}") for i in range(5)], max_gap=0)
    (group,) = plan.groups
    shares = group.dealt(2)
    assert [[b.start for b in share] for share in shares] == [[0, 40, 80], [20, 60]]
    assert len(group.dealt(8)) == 5, "no socket gets an empty share"


async def test_tags_of_other_units_behind_one_gateway(free_port: Callable[[], int]) -> None:
    port, recorder = free_port(), Recorder()
    units: list[int] = []

    def seen(sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        if not sending:
            units.append(pdu.dev_id)
        return pdu

    tags = [tag("one", "hr:0"), tag("two", "hr:0", unit=2, writable=True), tag("three", "hr:0", unit=3)]
    devices = {1: device(hr=[11] * 10), 2: device(hr=[22] * 10), 3: device(hr=[33] * 10)}
    driver = make_driver(port, tags, recorder)
    async with modbus_server(port, devices, seen) as server, running(driver):
        await wait_for(lambda: recorder.good("one", "two", "three"))
        assert [recorder.value(n) for n in ("one", "two", "three")] == [11, 22, 33]
        await driver.write(tags[1], 222)
        assert await server.async_getValues(2, FC_READ_HOLDING, 0, 1) == [222]
        assert await server.async_getValues(1, FC_READ_HOLDING, 0, 1) == [11]
        assert recorder.value("two") == 222
    assert set(units) == {1, 2, 3}


async def test_several_sockets_to_one_device_share_the_scan(free_port: Callable[[], int]) -> None:
    port, recorder = free_port(), Recorder()
    tags = [tag(f"t{i}", f"hr:{i * 20}", writable=True) for i in range(4)]
    hr = list(range(100))
    driver = make_driver(port, tags, recorder, sockets=3, max_gap=0)
    async with modbus_server(port, device(hr=hr)) as server, running(driver):
        await wait_for(lambda: recorder.good(*(t.name for t in tags)))
        assert len(server.active_connections) == 3
        assert [recorder.value(t.name) for t in tags] == [0, 20, 40, 60]
        await driver.write(tags[2], 4000)
        assert recorder.value("t2") == 4000
        diagnostics = driver.diagnostics()
        assert diagnostics["sockets"] == 3
    assert diagnostics["errors"] == 0


async def test_losing_one_of_several_sockets_reconnects_them_all(free_port: Callable[[], int]) -> None:
    port, recorder = free_port(), Recorder()
    tags = [tag("a", "hr:0"), tag("b", "hr:30")]
    driver = make_driver(port, tags, recorder, sockets=2, max_gap=0, timeout=0.5)
    async with modbus_server(port, device()) as server, running(driver):
        await wait_for(lambda: len(server.active_connections) == 2 and recorder.good("a", "b"))
        next(iter(server.active_connections.values())).close()
        await wait_for(lambda: driver.status.state is not ConnectionState.CONNECTED, within=2)
        await wait_for(lambda: driver.status.state is ConnectionState.CONNECTED, within=5)
        await wait_for(lambda: recorder.good("a", "b"))
        assert len(server.active_connections) == 2


def clamping_device(ceiling: int) -> object:
    """A device whose holding registers store at most ``ceiling``, as a PLC clamping a setpoint would."""
    clamped = device()

    async def clamp(
        function_code: int,
        start: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> None:
        if set_values and function_code in (6, 16):
            set_values[:] = [min(v, ceiling) for v in set_values]

    clamped.simdevice.action = clamp
    return clamped


async def test_verified_writes_fail_when_the_device_stores_something_else(
    free_port: Callable[[], int],
) -> None:
    port, recorder = free_port(), Recorder()
    checked = tag("checked", "hr:0", period=10, writable=True, verify=True)
    unchecked = tag("unchecked", "hr:1", period=10, writable=True, verify=False)
    inherits = tag("inherits", "hr:4", DataType.FLOAT32, period=10, writable=True)
    bit = tag("bit", "hr:6.3", DataType.BOOL, period=10, writable=True)
    driver = make_driver(port, [checked, unchecked, inherits, bit], recorder, verify=True)
    async with modbus_server(port, clamping_device(20000)), running(driver):
        await wait_for(lambda: recorder.good("checked", "unchecked"))
        await driver.write(checked, 15000)
        with pytest.raises(WriteError, match=r"^checked: wrote 25000, not verified: the device holds 20000"):
            await driver.write(checked, 25000)
        assert recorder.value("checked") == 20000  # the readback still shows the truth at once
        await driver.write(unchecked, 25000)  # the tag opts out of the connection's verify
        assert recorder.value("unchecked") == 20000
        await driver.write(inherits, 1.5)  # 0x3FC0 0x0000: both words fit under the ceiling
        with pytest.raises(WriteError, match=r"^inherits: wrote 1e\+20, not verified"):
            await driver.write(inherits, 1e20)
        await driver.write(bit, True)
        assert recorder.value("bit") is True


async def test_a_device_answering_too_slowly_turns_values_stale_not_bad(free_port: Callable[[], int]) -> None:
    """The link stays up (answers come within the timeout) but values are not refreshed in time."""
    port = free_port()
    slow = asyncio.Event()
    sluggish = device(hr=[5] * 10)

    async def maybe_late(function_code: int, *_rest: object) -> None:
        if slow.is_set() and function_code == FC_READ_HOLDING:
            await asyncio.sleep(2.6)

    sluggish.simdevice.action = maybe_late
    level = tag("LEVEL", "hr:0")
    project = Project(
        name="slow",
        root=Path("."),
        connections={
            "plc": ConnectionConfig("plc", "modbus", ModbusSettings("127.0.0.1", port, timeout=4.0))
        },
        scan_classes={"fast": 0.1},
        tags={"LEVEL": level},
        alarms={},
        history=HistorySettings(Path("unused.db")),
        screens={},
    )
    runtime = TagRuntime(project)
    async with modbus_server(port, sluggish):
        await runtime.start()
        try:
            await wait_for(lambda: runtime.values["LEVEL"].is_good)
            slow.set()
            await wait_for(lambda: runtime.values["LEVEL"].reason is Reason.STALE, within=4)
            assert runtime.values["LEVEL"].quality is Quality.UNCERTAIN
            assert runtime.values["LEVEL"].value == 5, "the stale value is kept, flagged"
            assert runtime.statuses["plc"].state is ConnectionState.CONNECTED
            stale_at = runtime.values["LEVEL"].ts
            slow.clear()
            await wait_for(lambda: runtime.values["LEVEL"].is_good, within=5)
            assert runtime.values["LEVEL"].ts > stale_at, "the recovery is stamped afresh, not back in time"
        finally:
            await runtime.stop()
