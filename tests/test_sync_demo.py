"""``hmi demo`` shows sync out of the box: the plant's stand-in enterprise receives every row once."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from drivers.sim.plant import DemoPlant
from hmi.core.demo import DEMO_ENDPOINT, demo_project
from hmi.core.station import Station


async def test_the_demo_delivers_history_and_alarms_to_its_stand_in_enterprise(tmp_path: Path) -> None:
    plant = DemoPlant()
    await plant.start()
    try:
        project = demo_project(plant, tmp_path)
        assert list(project.sync) == [DEMO_ENDPOINT]
        station = Station(project, project.history.path)
        await station.start()
        try:
            for _ in range(300):  # bounded: 30 s
                if plant.enterprise.rows["history"] > 0 and plant.enterprise.rows["alarms"] > 0:
                    break
                await asyncio.sleep(0.1)
        finally:
            await station.stop()  # flushes what the last commit added
    finally:
        await plant.stop()
    with sqlite3.connect(project.history.path) as conn:
        samples = conn.execute("SELECT count(*) FROM samples").fetchone()[0]
        events = conn.execute("SELECT count(*) FROM alarm_events").fetchone()[0]
    assert samples > 0 and events > 0
    assert plant.enterprise.rows == {"history": samples, "alarms": events}
    assert plant.enterprise.repeats == 0
