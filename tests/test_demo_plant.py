"""The demo plant: its physics and PLC program, and its real Modbus TCP and OPC UA servers on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from asyncua import Client, ua
from pymodbus.client import AsyncModbusTcpClient
from ruamel.yaml import YAML

from drivers.modbus_address import Table, parse_address
from drivers.sim import DemoPlant, TankProcess
from drivers.sim import modbus_server as modbus_map
from drivers.sim.opcua_server import HEATER_SETPOINT, MEASUREMENTS, unece_unit_id

DEMO_PROJECT = Path(__file__).resolve().parents[1] / "resources" / "demo" / "project.yaml"
UNIT = 1
FLOAT32 = AsyncModbusTcpClient.DATATYPE.FLOAT32


def run(process: TankProcess, seconds: float, dt: float = 0.1) -> list[tuple[float, float, bool]]:
    """Step the process and return (time, level, pump running) after every step."""
    trace = []
    for _ in range(round(seconds / dt)):
        process.step(dt)
        trace.append((process.elapsed, process.level, process.pump_running))
    return trace


async def wait_until(condition: Callable[[], bool], polls: int = 150) -> None:
    """Poll the plant's state every 20 ms, up to ``polls`` times."""
    for _ in range(polls):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"condition not met within {polls * 0.02:.1f} s")


# -- the process alone, in plant time ------------------------------------------------


def test_starts_mid_level_and_filling():
    process = TankProcess(seed=1)
    assert 55 <= process.level <= 65
    assert process.pump_running and process.auto
    start = process.level
    run(process, 5)
    assert process.level > start + 3


def test_auto_level_cycles_through_the_hi_alarm_band():
    process = TankProcess(seed=2)
    trace = run(process, 300)
    above_85 = [t for (_, before, _), (t, level, _) in itertools.pairwise(trace) if before <= 85 < level]
    below_83 = [t for (_, before, _), (t, level, _) in itertools.pairwise(trace) if before >= 83 > level]
    assert len(above_85) >= 3 and len(below_83) >= 3
    periods = [later - earlier for earlier, later in itertools.pairwise(above_85)]
    assert all(60 <= period <= 120 for period in periods), periods
    levels = [level for _, level, _ in trace]
    assert max(levels) < 95 and min(levels) > 17


def test_auto_starts_pump_below_20_and_stops_above_92():
    process = TankProcess(seed=3)
    trace = run(process, 300)
    starts = [level for (_, _, was_on), (_, level, on) in itertools.pairwise(trace) if on and not was_on]
    stops = [level for (_, _, was_on), (_, level, on) in itertools.pairwise(trace) if was_on and not on]
    assert len(starts) >= 2 and len(stops) >= 2
    assert all(18 < level < 20.5 for level in starts), starts
    assert all(91.5 < level < 94 for level in stops), stops


def test_manual_command_starts_and_stops_the_pump():
    process = TankProcess(seed=4)
    process.auto = False
    process.command = False
    run(process, 5)
    assert not process.pump_running
    assert process.pump_speed == 0 and process.inflow == 0
    process.command = True
    run(process, 5)
    assert process.pump_running
    assert process.pump_speed == pytest.approx(process.speed_setpoint)
    assert process.inflow == pytest.approx(40 * 1200 / 1500, abs=1.5)


def test_switching_to_manual_keeps_the_pump_as_it_is():
    process = TankProcess(seed=5)
    run(process, 1)
    assert process.pump_running
    process.auto = False
    run(process, 1)
    assert process.pump_running and process.command


def test_temperature_follows_the_heater_with_a_lag():
    process = TankProcess(seed=6)
    start = process.temperature
    process.heater_setpoint = 100
    run(process, 10)
    assert start + 1 < process.temperature < start + 12
    run(process, 400)
    assert 65 < process.temperature < 78
    process.heater_setpoint = 0
    run(process, 400)
    assert 12 < process.temperature < 22


def test_vibration_grows_with_speed():
    process = TankProcess(seed=7)
    process.auto = False
    process.command = False
    run(process, 5)
    idle = process.vibration
    process.command = True
    process.speed_setpoint = 1500
    run(process, 5)
    assert 0.5 < idle < 1.6
    assert 4.3 < process.vibration < 6


def test_setpoints_are_clamped_to_their_ranges():
    process = TankProcess(seed=8)
    process.speed_setpoint = 9000
    process.valve_setpoint = -5
    process.heater_setpoint = 250
    assert (process.speed_setpoint, process.valve_setpoint, process.heater_setpoint) == (1500, 0, 100)


def test_same_seed_replays_the_same_plant():
    first, second = TankProcess(seed=9), TankProcess(seed=9)
    assert run(first, 30) == run(second, 30)
    assert first.temperature == second.temperature and first.vibration == second.vibration


def test_a_long_step_equals_many_short_ones():
    long_steps, short_steps = TankProcess(seed=10), TankProcess(seed=10)
    long_steps.step(200)
    run(short_steps, 200)
    assert long_steps.pump_running == short_steps.pump_running
    assert long_steps.pump_speed == pytest.approx(short_steps.pump_speed)


# -- the map agrees with the demo project ----------------------------------------------


def test_servers_publish_exactly_the_demo_project_points():
    tags = YAML(typ="safe").load(DEMO_PROJECT.read_text(encoding="utf-8"))["tags"]
    type_maps = {"float32": modbus_map.FLOAT32_REGISTERS, "uint16": modbus_map.UINT16_REGISTERS}
    ua_variables = {f"ns=2;s={variable.node_id}": False for variable in MEASUREMENTS}
    ua_variables[f"ns=2;s={HEATER_SETPOINT.node_id}"] = True
    modbus_points = 0
    for name, tag in tags.items():
        if "expr" in tag:  # a derived tag: computed by the station, not served by the plant
            continue
        writable = tag.get("writable", False)
        if tag["connection"] == "ua1":
            assert ua_variables.get(tag["address"]) is writable, name
            continue
        modbus_points += 1
        address = parse_address(tag["address"])
        if address.table is Table.COIL:
            assert tag["type"] == "bool" and address.index in modbus_map.COILS, name
            assert (address.index in modbus_map.WRITABLE_COILS) is writable, name
        else:
            assert address.table is Table.HOLDING_REGISTER, name
            assert address.index in type_maps[tag["type"]], name
            assert tag.get("byte_order", "ABCD") == "ABCD", name
            assert (address.index in modbus_map.WRITABLE_REGISTERS) is writable, name
    served = len(modbus_map.FLOAT32_REGISTERS) + len(modbus_map.UINT16_REGISTERS) + len(modbus_map.COILS)
    assert modbus_points == served


def test_unece_unit_ids():
    assert unece_unit_id("CEL") == 4408652
    assert unece_unit_id("P1") == 20529


# -- the plant served on loopback ---------------------------------------------------------


@contextlib.asynccontextmanager
async def modbus_client(port: int) -> AsyncIterator[AsyncModbusTcpClient]:
    # reconnect_delay=0: no background reconnect task when the plant goes away.
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=1, retries=0, reconnect_delay=0)
    assert await client.connect(), f"no Modbus server on port {port}"
    try:
        yield client
    finally:
        client.close()


async def read_level(client: AsyncModbusTcpClient) -> float:
    result = await client.read_holding_registers(0, count=2, device_id=UNIT)
    assert not result.isError(), result
    return client.convert_from_registers(result.registers, FLOAT32)


async def test_modbus_serves_the_map_and_takes_writes():
    async with DemoPlant(tick=0.05, seed=11) as plant, modbus_client(plant.modbus_port) as client:
        holding = await client.read_holding_registers(0, count=13, device_id=UNIT)
        coils = await client.read_coils(0, count=3, device_id=UNIT)
        assert not holding.isError() and not coils.isError()
        level, inflow, outflow = (
            client.convert_from_registers(holding.registers[i : i + 2], FLOAT32) for i in (0, 2, 4)
        )
        assert level == pytest.approx(plant.process.level, abs=1.0)
        assert 50 < level < 70
        assert inflow == pytest.approx(32, abs=2) and 5 < outflow < 25
        assert holding.registers[10:13] == [1200, 1200, 40]
        assert coils.bits[:3] == [True, True, True]

        first = await read_level(client)
        await asyncio.sleep(0.3)
        assert await read_level(client) > first  # filling

        assert not (await client.write_register(10, 900, device_id=UNIT)).isError()
        assert plant.process.speed_setpoint == 900
        assert not (await client.write_register(12, 55, device_id=UNIT)).isError()
        assert plant.process.valve_setpoint == 55
        assert not (await client.write_coil(1, False, device_id=UNIT)).isError()
        assert plant.process.auto is False
        assert not (await client.write_coil(2, False, device_id=UNIT)).isError()
        await wait_until(lambda: not plant.process.pump_running)
        run_coil = await client.read_coils(0, count=3, device_id=UNIT)
        assert run_coil.bits[:3] == [False, False, False]
        readback = await client.read_holding_registers(10, count=3, device_id=UNIT)
        assert readback.registers[0] == 900 and readback.registers[2] == 55

        refused = await client.write_register(0, 1, device_id=UNIT)
        assert refused.isError() and refused.exception_code == 2
        spare = await client.read_holding_registers(90, count=10, device_id=UNIT)
        spare_coils = await client.read_coils(90, count=10, device_id=UNIT)
        assert spare.registers == [0] * 10 and spare_coils.bits[:10] == [False] * 10


async def test_opcua_serves_values_and_takes_the_heater_setpoint():
    async with DemoPlant(tick=0.05, seed=12) as plant, Client(plant.opcua_endpoint, timeout=2) as client:
        temperature = client.get_node("ns=2;s=Plant.Tank1.Temperature")
        first = await temperature.read_data_value()
        assert first.Value.VariantType is ua.VariantType.Double
        assert 30 < first.Value.Value < 45
        vibration = await client.get_node("ns=2;s=Plant.Pump1.Vibration").read_value()
        assert 1 < vibration < 6
        units = await client.get_node("ns=2;s=Plant.Tank1.Temperature.EngineeringUnits").read_value()
        assert units.DisplayName.Text == "°C"
        await asyncio.sleep(0.2)
        later = await temperature.read_data_value()
        assert later.SourceTimestamp > first.SourceTimestamp

        setpoint = client.get_node("ns=2;s=Plant.Heater1.PowerSetpoint")
        assert await setpoint.read_value() == 35.0
        await setpoint.write_value(ua.DataValue(ua.Variant(80.0, ua.VariantType.Double)))
        assert plant.process.heater_setpoint == 80.0
        await setpoint.write_value(ua.DataValue(ua.Variant(150.0, ua.VariantType.Double)))
        await wait_until(lambda: plant.process.heater_setpoint == 100.0)
        await asyncio.sleep(0.2)
        assert await setpoint.read_value() == 100.0  # the plant clamped it and wrote it back

        with pytest.raises(ua.UaStatusCodeError):
            await client.get_node("ns=2;s=Plant.Tank1.Level").write_value(
                ua.DataValue(ua.Variant(5.0, ua.VariantType.Double))
            )


async def test_modbus_outage_and_recovery_on_the_same_port():
    async with DemoPlant(tick=0.05, seed=13) as plant:
        port = plant.modbus_port
        async with modbus_client(port) as client:
            await read_level(client)
        await plant.stop_modbus()
        assert not plant.modbus_running and plant.opcua_running
        with pytest.raises(ConnectionRefusedError):
            await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 2)
        await plant.start_modbus()
        assert plant.modbus_port == port and plant.modbus_running
        async with modbus_client(port) as client:
            assert 0 < await read_level(client) < 100


async def test_opcua_outage_and_recovery_on_the_same_endpoint():
    async with DemoPlant(tick=0.05, seed=14) as plant:
        endpoint = plant.opcua_endpoint
        await plant.stop_opcua()
        assert not plant.opcua_running and plant.modbus_running
        with pytest.raises(OSError):
            await asyncio.wait_for(Client(endpoint, timeout=1).connect(), 3)
        await plant.start_opcua()
        assert plant.opcua_endpoint == endpoint
        async with Client(endpoint, timeout=2) as client:
            assert await client.get_node("ns=2;s=Plant.Tank1.Level").read_value() > 0


def test_refuses_to_bind_every_interface():
    with pytest.raises(ValueError, match="wildcard"):
        DemoPlant(host="0.0.0.0")
