"""An OPC UA connection in a worker process: subscribed values arrive, writes reach the server."""

from __future__ import annotations

from pathlib import Path

from asyncua import ua
from modbus_peer import wait_for
from opcua_server import opcua_test_server

from drivers.settings import OpcUaSettings
from hmi.core.acquisition import ProcessDriver
from hmi.core.runtime import TagRuntime
from hmi.model import ConnectionState, DataType, TagDef
from hmi.project.config import AcquisitionSettings, ConnectionConfig, HistorySettings, Project

TEMP = "Plant.Tank1.Temperature"
START_WITHIN = 30.0


async def test_subscribed_values_and_writes_through_a_worker_process(free_port, tmp_path: Path) -> None:
    async with opcua_test_server(free_port()) as server:
        node = await server.add_variable(TEMP, 21.5, ua.VariantType.Double, writable=True)
        settings = OpcUaSettings(server.endpoint, timeout=2.0, pki_dir=str(tmp_path / "pki"))
        tag = TagDef("TEMP", "ua1", node, DataType.FLOAT64, scan_period=0.1, writable=True)
        project = Project(
            name="ua in a worker",
            root=tmp_path,
            connections={"ua1": ConnectionConfig("ua1", "opcua", settings)},
            scan_classes={},
            tags={"TEMP": tag},
            alarms={},
            history=HistorySettings(tmp_path / "unused.db"),
            screens={},
            acquisition=AcquisitionSettings(1),
        )
        runtime = TagRuntime(project)
        await runtime.start()
        try:
            driver = runtime.drivers["ua1"]
            assert isinstance(driver, ProcessDriver)
            assert not driver.reports_every_scan  # a subscription: freshness is the keep-alive's
            await wait_for(lambda: runtime.values["TEMP"].is_good, START_WITHIN)
            assert runtime.values["TEMP"].value == 21.5
            assert runtime.statuses["ua1"].state is ConnectionState.CONNECTED

            await server.set_value(TEMP, 42.25)
            await wait_for(lambda: runtime.values["TEMP"].value == 42.25, 10)

            await runtime.write("TEMP", 7.5)
            assert await server.read_value(TEMP) == 7.5
        finally:
            await runtime.stop()
