"""The station's own duties beside the runtime: the built-in disk-full alarm."""

import asyncio
from pathlib import Path

from hmi.alarms.engine import AlarmState
from hmi.core.station import DISK_FULL_ALARM, Station
from hmi.model import Quality, Sample
from hmi.project.config import HistorySettings, Project


async def test_a_full_history_disk_raises_an_urgent_alarm(tmp_path):
    path = tmp_path / "history.db"
    project = Project(
        name="t",
        root=Path(tmp_path),
        connections={},
        scan_classes={},
        tags={},
        alarms={},
        history=HistorySettings(path, commit_interval=0.05),
        screens={},
    )
    # A real SQLite ceiling stands in for a full disk (the historian tests do the same).
    station = Station(project, path, max_file_bytes=400_000)
    await station.start()
    try:
        station.history.extend(
            ("T", Sample(f"long text {i}" * 20, Quality.GOOD, 1e9 + i)) for i in range(20_000)
        )
        status = station.alarms.statuses[DISK_FULL_ALARM]
        for _ in range(100):  # bounded: 10 s
            if status.state is AlarmState.UNACKED:
                break
            await asyncio.sleep(0.1)
        assert status.state is AlarmState.UNACKED
        assert status.definition.priority == "urgent" and "History disk full" in status.message
    finally:
        await station.stop()
