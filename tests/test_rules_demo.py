"""The demo's predictive-maintenance loop, end to end through the demo plant's real Modbus server.

The bearing wears out fast (fully worn in 30 s); the smoothed vibration crosses the rules' levels
long before the raw vibration reaches the PLC's 11 mm/s trip: the maintenance event is raised, the
speed setpoint is lowered by the rule through the command path to the PLC, the vibration falls with
the speed, and the pump never trips. Each step is checked where it lands: the plant's register, the
history, the rule journal.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from modbus_peer import wait_for
from pymodbus.client import AsyncModbusTcpClient

from drivers.sim.plant import DemoPlant
from drivers.sim.process import TRIP_VIBRATION_MM_S, TankProcess
from hmi.core.demo import demo_project
from hmi.core.station import Station
from hmi.historian.reader import HistoryReader
from hmi.model import Quality
from hmi.rules.journal import maintenance_events


def test_a_worn_bearing_vibrates_more_heats_up_and_trips_the_pump():
    process = TankProcess(seed=1)
    process.auto, process.command = False, True
    healthy_vibration, healthy_bearing = process.vibration, process.bearing_temperature
    process.start_bearing_wear(1 / 60)
    for _ in range(300):  # bounded: 30 s of plant time
        process.step(0.1)
    assert process.vibration > healthy_vibration + 3 and process.bearing_temperature > healthy_bearing + 3
    for _ in range(600):  # on to full wear at full speed: the protection trips and latches
        process.step(0.1)
    assert process.tripped and not process.pump_running
    process.repair_bearing()
    process.command = True
    process.step(0.1)
    assert not process.tripped and process.pump_running


async def test_bearing_wear_is_caught_and_the_pump_slowed_before_its_trip(tmp_path: Path) -> None:
    async with DemoPlant(seed=3) as plant:
        process = plant.process
        process.auto, process.command = False, True  # keep the pump running whatever the level
        project = demo_project(plant, tmp_path)
        station = Station(project, project.history.path)
        await station.start()
        try:
            runtime = station.runtime
            assert station.rules is not None
            rules = station.rules.engine.rules
            await wait_for(lambda: runtime.values["PUMP1.VIB_TREND"].quality is Quality.GOOD, within=20)
            await plant.set_bearing_wear(True, 1 / 30)
            await wait_for(lambda: rules["pump1_bearing_wear"].fire_count > 0, within=60)
            assert not process.tripped
            await wait_for(lambda: process.speed_setpoint <= 900, within=60)
            client = AsyncModbusTcpClient(
                "127.0.0.1", port=plant.modbus_port, timeout=1, retries=0, reconnect_delay=0
            )
            assert await client.connect()
            try:
                register = await client.read_holding_registers(10, count=1, device_id=1)
            finally:
                client.close()
            assert register.registers == [900]
            assert runtime.values["PUMP1.WEAR_SUSPECTED"].value is True
            assert not process.tripped and process.pump_running
        finally:
            await station.stop()

    history = project.history.path
    with sqlite3.connect(history) as conn:
        raised = maintenance_events(conn)
        writes = conn.execute(
            "SELECT tag, old, new, actor FROM rule_events WHERE kind = 'write' ORDER BY seq"
        ).fetchall()
        trips = conn.execute(
            "SELECT count(*) FROM alarm_events WHERE alarm = 'PUMP1.TRIP' AND kind = 'raised'"
        ).fetchone()[0]
    assert [event["rule"] for event in raised] == ["pump1_bearing_wear"]
    assert writes and all(w[0] == "PUMP1.SPEED_SP" and w[3] == "pump1_slow_down" for w in writes)
    assert writes[-1][2] == 900 and trips == 0
    reader = HistoryReader(history)
    vibration_until_alert = [
        row.value
        for row in reader.iter_rows("PUMP1.VIBRATION", end=raised[0]["ts"] / 1e6)
        if row.value is not None
    ]
    assert max(vibration_until_alert) < TRIP_VIBRATION_MM_S, "the alert came well before the trip level"
    speeds = [row.value for row in reader.iter_rows("PUMP1.SPEED_SP")]
    assert speeds[0] == 1200 and 900 in speeds, "the rule's write is in history"
