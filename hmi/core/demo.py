"""The built-in demo: the bundled project pointed at a simulated plant on free loopback ports."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import platformdirs

from drivers.settings import ModbusSettings, OpcUaSettings
from drivers.sim.plant import DemoPlant
from hmi.core.resources import demo_project_dir
from hmi.project.config import AlarmDef, Project
from hmi.project.loader import load_project
from hmi.project.sync_settings import SyncEndpoint

DEMO_ENDPOINT = "enterprise"


def demo_sync_endpoints(url: str = "http://127.0.0.1/") -> dict[str, SyncEndpoint]:
    """The demo's one sync endpoint: the plant's stand-in enterprise receiver at ``url``."""
    return {DEMO_ENDPOINT: SyncEndpoint(DEMO_ENDPOINT, url, flush_timeout=2.0)}

BEARING_WEAR_AFTER = 600.0
"""Plant seconds into a demo run after which the pump's bearing starts to wear (a long run shows it)."""


FLOOD_AREA = "demo surge"
"""The area of the demo-only alarms that the Demo menu's alarm flood trips."""


def flood_alarms() -> dict[str, AlarmDef]:
    """Alarms only the demo has, on its level and flow tags, that a surge trips (the Demo menu's flood).

    With the project's own TANK1.LEVEL.HI they make four alarms per surge period: a 40 s surge
    brings about 20 alarms in well under a minute through the real engine.
    """
    rows = (
        ("TANK1.LEVEL.HIHI", "hihi", 95.0, "urgent", "Tank 1 level very high ({value:.1f} %)"),
        ("TANK1.INFLOW.SURGE", "hi", 45.0, "high", "Pump 1 discharge surge ({value:.1f} m³/h)"),
        ("TANK1.OUTFLOW.SURGE", "hi", 55.0, "medium", "Drain flow surge ({value:.1f} m³/h)"),
    )
    alarms = {}
    for name, kind, limit, priority, message in rows:
        alarms[name] = AlarmDef(
            name=name,
            tag=name.rsplit(".", 1)[0],
            type=kind,
            limit=limit,
            deadband=1.0,
            priority=priority,
            message=message,
            screen="overview",
            area=FLOOD_AREA,
        )
    return alarms


def default_data_dir() -> Path:
    """Per-user folder for the demo's history, so trends have a past on the next start."""
    return Path(platformdirs.user_data_dir("converge-hmi", appauthor=False)) / "demo"


def demo_project(plant: DemoPlant, data_dir: Path) -> Project:
    """The demo project with its connections aimed at ``plant`` and its history in ``data_dir``."""
    project = load_project(demo_project_dir())
    connections = {}
    for name, conn in project.connections.items():
        settings = conn.settings
        if isinstance(settings, ModbusSettings):
            settings = dataclasses.replace(settings, host="127.0.0.1", port=plant.modbus_port)
        elif isinstance(settings, OpcUaSettings):
            settings = dataclasses.replace(settings, endpoint=plant.opcua_endpoint)
        connections[name] = dataclasses.replace(conn, settings=settings)
    history = dataclasses.replace(project.history, path=data_dir / "history.db")
    # No enterprise in a demo: the plant's stand-in receiver takes the batches, shown in View > Sync.
    sync = project.sync or demo_sync_endpoints(plant.enterprise.url)
    alarms = {**project.alarms, **{k: v for k, v in flood_alarms().items() if k not in project.alarms}}
    return dataclasses.replace(project, connections=connections, history=history, sync=sync, alarms=alarms)
