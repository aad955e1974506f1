"""Drivers in worker processes: values, writes, a killed process, stop, and a runtime that dies."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from modbus_peer import device, modbus_server, wait_for

from drivers import registry
from drivers.registry import DriverKind
from drivers.settings import ModbusSettings, ModbusTagLink
from hmi.core.acquisition import ProcessDriver, ProcessDriverFactory
from hmi.core.runtime import TagRuntime
from hmi.model import ConnectionState, DataType, Quality, Reason, TagDef
from hmi.project.config import AcquisitionSettings, ConnectionConfig, HistorySettings, Project

FC_READ_HOLDING = 3
START_WITHIN = 30.0  # a spawned interpreter imports the drivers first: generous on a loaded machine


def project(ports: dict[str, int], processes: int | str = 1) -> Project:
    """Per connection: a uint16 setpoint (writable) at hr:0 and a float32 at hr:2, scanned at 100 ms."""
    connections, tags = {}, {}
    for name, port in ports.items():
        connections[name] = ConnectionConfig(name, "modbus", ModbusSettings("127.0.0.1", port, timeout=1.0))
        for tag in (
            TagDef(f"{name}.SP", name, "hr:0", DataType.UINT16, scan_period=0.1, writable=True),
            TagDef(f"{name}.PV", name, "hr:2", DataType.FLOAT32, scan_period=0.1, link=ModbusTagLink()),
        ):
            tags[tag.name] = tag
    return Project(
        name="acquisition",
        root=Path("."),
        connections=connections,
        scan_classes={},
        tags=tags,
        alarms={},
        history=HistorySettings(Path("unused.db")),
        screens={},
        acquisition=AcquisitionSettings(processes),
    )


def proxies(runtime: TagRuntime) -> list[ProcessDriver]:
    drivers = list(runtime.drivers.values())
    assert all(isinstance(d, ProcessDriver) for d in drivers)
    return drivers  # type: ignore[return-value]


def gone(pid: int) -> bool:
    """True when no process ``pid`` runs (a zombie waiting for a reaper that never comes counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


FLOAT_12_5 = [0x4148, 0x0000]  # 12.5 as float32, ABCD


async def test_values_arrive_and_writes_reach_the_server_and_read_back(free_port) -> None:
    port = free_port()
    async with modbus_server(port, device(hr=[7, 0, *FLOAT_12_5] + [0] * 46)) as server:
        runtime = TagRuntime(project({"plc": port}))
        await runtime.start()
        try:
            assert isinstance(runtime.drivers["plc"], ProcessDriver)
            await wait_for(lambda: runtime.values["plc.PV"].is_good, START_WITHIN)
            assert runtime.values["plc.SP"].value == 7
            assert runtime.values["plc.PV"].value == 12.5
            assert runtime.statuses["plc"].state is ConnectionState.CONNECTED

            assert await runtime.write("plc.SP", 1234) == 1234
            assert await server.async_getValues(1, FC_READ_HOLDING, 0, 1) == [1234]
            # The readback is published before the write returns, as in process.
            assert runtime.values["plc.SP"].value == 1234

            with pytest.raises(Exception, match=r"plc\.SP"):
                await runtime.write("plc.SP", 70000)  # the one write check refuses it before the process
            await wait_for(lambda: runtime.drivers["plc"].diagnostics().get("requests", 0) > 0, 5)
        finally:
            await runtime.stop()
        assert runtime.values["plc.SP"].reason is Reason.NOT_CONNECTED


async def test_unchanged_values_stay_fresh_through_block_refreshes(free_port) -> None:
    port = free_port()
    async with modbus_server(port, device(hr=[7, 0, *FLOAT_12_5] + [0] * 46)):
        runtime = TagRuntime(project({"plc": port}))
        await runtime.start()
        try:
            await wait_for(lambda: runtime.values["plc.PV"].is_good, START_WITHIN)
            first = runtime.values["plc.PV"]
            driver = proxies(runtime)[0]
            await wait_for(lambda: bool(driver._blocks), 5)  # the process names its block once...
            await asyncio.sleep(2.5)  # ...then only refreshes it: past the stale limit (2 s) of these tags
            assert runtime.values["plc.PV"] is first  # no new sample: unchanged words
            assert runtime.values["plc.PV"].quality is Quality.GOOD
        finally:
            await runtime.stop()


async def test_a_killed_process_turns_its_tags_bad_and_is_started_again(free_port) -> None:
    port = free_port()
    async with modbus_server(port, device(hr=[7, 0, *FLOAT_12_5] + [0] * 46)):
        runtime = TagRuntime(project({"plc": port}))
        await runtime.start()
        try:
            await wait_for(lambda: runtime.values["plc.PV"].is_good, START_WITHIN)
            driver = proxies(runtime)[0]
            first = driver.pid
            assert first is not None and first != os.getpid()
            os.kill(first, signal.SIGKILL)

            await wait_for(lambda: runtime.values["plc.PV"].quality is Quality.BAD, 10)
            assert runtime.values["plc.PV"].reason is Reason.COMM_FAILURE
            assert runtime.values["plc.PV"].value == 12.5  # the last known value stays beside it
            status = runtime.statuses["plc"]
            assert status.state is ConnectionState.BACKING_OFF
            assert "acquisition process ended" in status.last_error

            await wait_for(lambda: runtime.values["plc.PV"].is_good, START_WITHIN)
            assert driver.pid not in (None, first)
            assert driver.worker.restarts == 1
            assert await runtime.write("plc.SP", 99) == 99  # the new process writes too
        finally:
            await runtime.stop()
        assert gone(first)


async def test_stop_ends_every_process_and_connections_are_spread(free_port) -> None:
    ports = {f"plc{n}": free_port() for n in range(3)}
    async with contextlib.AsyncExitStack() as servers:
        for n, port in enumerate(ports.values()):
            await servers.enter_async_context(modbus_server(port, device(hr=[n, 0, *FLOAT_12_5] + [0] * 46)))
        runtime = TagRuntime(project(ports, processes=2))
        assert isinstance(runtime._driver_factory, ProcessDriverFactory)
        await runtime.start()
        try:
            await wait_for(lambda: all(runtime.values[f"{n}.PV"].is_good for n in ports), START_WITHIN)
            assert [runtime.values[f"plc{n}.SP"].value for n in range(3)] == [0, 1, 2]
            pids = {d.pid for d in proxies(runtime)}
            assert len(pids) == 2 and None not in pids  # three connections over two processes
        finally:
            await runtime.stop()
        for pid in pids:
            assert pid is not None
            assert gone(pid), f"acquisition process {pid} outlived the runtime's stop"
        assert all(runtime.statuses[name].state is ConnectionState.STOPPED for name in ports)


RUNTIME_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[2])
    from test_acquisition import project
    from hmi.core.runtime import TagRuntime

    async def main():
        runtime = TagRuntime(project({"plc": int(sys.argv[1])}))
        await runtime.start()
        for _ in range(600):  # at most 30 s; the test gives up sooner
            if runtime.drivers["plc"].pid is not None:
                break
            await asyncio.sleep(0.05)
        print(runtime.drivers["plc"].pid, flush=True)
        await asyncio.sleep(120)

    if __name__ == "__main__":
        asyncio.run(main())
    """
)


async def test_a_process_ends_when_the_runtime_dies(free_port, tmp_path: Path) -> None:
    port = free_port()
    script = tmp_path / "runtime_that_dies.py"
    script.write_text(RUNTIME_SCRIPT, "utf-8")
    here = str(Path(__file__).parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(here).parent), here])}
    parent = await asyncio.create_subprocess_exec(
        sys.executable, str(script), str(port), here, stdout=subprocess.PIPE, env=env
    )
    try:
        assert parent.stdout is not None
        line = await asyncio.wait_for(parent.stdout.readline(), START_WITHIN)
        child = int(line)
        assert not gone(child)
        parent.kill()  # no clean-up of any kind runs in the runtime's process
        await parent.wait()
        await wait_for(lambda: gone(child), 15)
    finally:
        if parent.returncode is None:
            parent.kill()
            await parent.wait()


async def test_a_driver_that_cannot_start_in_the_process_fails_its_connection_only(free_port) -> None:
    # A kind registered in code here (not a built-in) is unknown to a freshly spawned process.
    modbus = registry.get("modbus")
    probe = DriverKind("probe", "Probe", modbus.connection_model, modbus.factory, modbus.check_tag)
    registry.register(probe)
    try:
        port = free_port()
        async with modbus_server(port, device(hr=[7, 0, *FLOAT_12_5] + [0] * 46)):
            plant = project({"plc": port, "odd": port})
            odd = dataclasses.replace(plant.connections["odd"], driver="probe")
            runtime = TagRuntime(dataclasses.replace(plant, connections={**plant.connections, "odd": odd}))
            await runtime.start()
            try:
                await wait_for(lambda: runtime.statuses["odd"].state is ConnectionState.FAILED, START_WITHIN)
                assert "unknown driver 'probe'" in runtime.statuses["odd"].last_error
                assert runtime.values["odd.PV"].reason is Reason.CONFIG_ERROR
                await wait_for(lambda: runtime.values["plc.PV"].is_good, START_WITHIN)  # the other one runs
            finally:
                await runtime.stop()
    finally:
        registry.unregister("probe")


async def test_a_hung_process_is_killed_and_started_again(free_port) -> None:
    port = free_port()
    async with modbus_server(port, device(hr=[7, 0, *FLOAT_12_5] + [0] * 46)):
        plant = project({"plc": port})
        runtime = TagRuntime(plant, driver_factory=ProcessDriverFactory(1, silent_after=2.0))
        await runtime.start()
        try:
            await wait_for(lambda: runtime.values["plc.PV"].is_good, START_WITHIN)
            driver = proxies(runtime)[0]
            first = driver.pid
            assert first is not None
            os.kill(first, signal.SIGSTOP)  # alive, holding its pipe open, saying nothing
            await wait_for(lambda: runtime.values["plc.PV"].quality is not Quality.GOOD, 10)
            await wait_for(lambda: "silent for 2 s, killed" in runtime.statuses["plc"].last_error, 10)
            await wait_for(lambda: runtime.values["plc.PV"].is_good, START_WITHIN)
            assert driver.pid not in (None, first)
        finally:
            await runtime.stop()
        assert gone(first)
