"""The built-in demo: the bundled project pointed at a simulated plant on free loopback ports."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import platformdirs

from drivers.settings import ModbusSettings, OpcUaSettings
from drivers.sim.plant import DemoPlant
from hmi.core.resources import demo_project_dir
from hmi.project.config import Project
from hmi.project.loader import load_project

BEARING_WEAR_AFTER = 600.0
"""Plant seconds into a demo run after which the pump's bearing starts to wear (a long run shows it)."""


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
    return dataclasses.replace(project, connections=connections, history=history)
