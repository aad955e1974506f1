"""OPC UA at the asyncua server's full rate, through the whole station (history and alarms on).

An asyncua server in another process changes every one of its variables, round after
round, as fast as it can for ``seconds``; each change carries its own source timestamp
and a value that only grows. The station subscribes (1 s scan), stores history and runs
alarms. Counted: changes offered (server side), received (driver notifications),
stored (good history rows of those values), and link losses; zero loss means
offered = received = stored with no link lost.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import sqlite3
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from benchmarks.bench_servers import ServerProcess, add_numbered_variables, free_port, opcua_server

NAMESPACE_URI = "urn:converge-hmi:bench-full-rate"
ITEMS = int(os.environ.get("HMI_BENCH_OPCUA_ITEMS", "10000"))
SECONDS = float(os.environ.get("HMI_BENCH_OPCUA_SECONDS", "60"))
ALARM_EVERY = 100
"""One tag in this many has a HI alarm (it trips on the second round)."""
WRITES_PER_YIELD = 500
"""The server lets its own publishing run between this many writes (else it would publish nothing)."""
START_TIMEOUT = 900.0
"""The server builds its address space (minutes for 50k nodes on a busy machine); the station subscribes."""
DRAIN_TIMEOUT = 60.0


# --- the server process ---------------------------------------------------------------------


def _server_process(port: int, items: int, control: Connection) -> None:
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(_serve(port, items, control))


async def _serve(port: int, items: int, control: Connection) -> None:
    server = await opcua_server(port)
    namespace = await server.register_namespace(NAMESPACE_URI)
    nodes = await add_numbered_variables(server, namespace, items)
    async with server:
        control.send(("ready", namespace))
        while True:
            command = await _answer(control, within=24 * 3600.0)
            if command[0] == "stop":
                return
            control.send(("done", *await _full_rate(server, nodes, command[1])))


async def _full_rate(server: Any, nodes: list[Any], seconds: float) -> tuple[int, float, int]:
    """Change every node, round after round, until ``seconds`` have passed; (offered, seconds, rounds)."""
    from asyncua import ua

    offered, rounds = 0, 0
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        rounds += 1
        for start in range(0, len(nodes), WRITES_PER_YIELD):
            now = dt.datetime.now(dt.UTC)
            value = ua.DataValue(
                ua.Variant(float(rounds), ua.VariantType.Double), SourceTimestamp=now, ServerTimestamp=now
            )
            for node in nodes[start : start + WRITES_PER_YIELD]:
                await server.write_attribute_value(node, value)
                offered += 1
            await asyncio.sleep(0)
    return offered, time.monotonic() - began, rounds


# --- the station ----------------------------------------------------------------------------


def project_text(endpoint: str, namespace: int, items: int, trip_at: float) -> str:
    """A project of ``items`` OPC UA tags at 1 s, history every second, a HI alarm on every 100th tag."""
    lines = [
        "name: OPC UA full rate",
        "connections:",
        f'  ua1: {{driver: opcua, endpoint: "{endpoint}", timeout: 10s}}',
        "scan_classes: {normal: 1s}",
        "history: {commit_interval: 1s}",
        "tags:",
    ]
    numbers = range(1, items + 1)
    lines += [f'  V{i}: {{connection: ua1, address: "ns={namespace};i={i}", scan: normal}}' for i in numbers]
    lines.append("alarms:")
    lines += [f"  V{i}.HI: {{tag: V{i}, type: hi, limit: {trip_at}}}" for i in numbers[::ALARM_EVERY]]
    return "\n".join(lines) + "\n"


async def _until(condition: Any, within: float) -> bool:
    for _ in range(int(within / 0.05)):  # bounded
        if condition():
            return True
        await asyncio.sleep(0.05)
    return condition()


async def _answer(control: Connection, within: float) -> Any:
    await _until(control.poll, within)
    if not control.poll():
        raise RuntimeError("the benchmark server did not answer")
    return control.recv()


async def run_station(endpoint: str, namespace: int, items: int, seconds: float, control: Connection) -> dict:
    """Run the station against the server for one full-rate window; the counts and the CPU it cost."""
    from hmi.core.station import Station
    from hmi.model import ConnectionState
    from hmi.project.loader import load_project

    with tempfile.TemporaryDirectory(prefix="hmi-bench-opcua-") as folder:
        root = Path(folder)
        # The alarms trip on the second round and are evaluated on every change after it.
        (root / "project.yaml").write_text(project_text(endpoint, namespace, items, 1.5), encoding="utf-8")
        began = time.perf_counter()
        project = load_project(root)
        loaded = time.perf_counter() - began
        station = Station(project, root / "history.db")
        states: list[ConnectionState] = []
        station.runtime.subscribe_status(lambda status: states.append(status.state))
        await station.start()
        try:
            driver = station.runtime.drivers["ua1"]
            connected = await _until(lambda: driver.diagnostics()["notifications"] >= items, START_TIMEOUT)
            if not connected:
                raise RuntimeError(f"the station did not receive the {items} initial values")
            first_values = time.perf_counter() - began
            initial = driver.diagnostics()["notifications"]
            cpu_began, wall_began = time.process_time(), time.perf_counter()
            control.send(("run", seconds))
            _, offered, server_seconds, rounds = await _answer(control, seconds + DRAIN_TIMEOUT)
            await _until(lambda: driver.diagnostics()["notifications"] - initial >= offered, DRAIN_TIMEOUT)
            cpu, wall = time.process_time() - cpu_began, time.perf_counter() - wall_began
            diagnostics = driver.diagnostics()
            statuses = station.alarms.statuses
            raised = sum(1 for name, status in statuses.items() if name.endswith(".HI") and status.active)
        finally:
            await station.stop()
        history = station.history.stats()
        stored = _stored(root / "history.db")
    received = diagnostics["notifications"] - initial
    return {
        "items": items,
        "seconds": round(server_seconds, 1),
        "rounds": rounds,
        "offered": offered,
        "offered_per_s": round(offered / max(server_seconds, 1e-9)),
        "received": received,
        "stored": stored,
        "lost": offered - min(received, stored),
        "link_losses": diagnostics["link_losses"],
        "link_down_states": states.count(ConnectionState.BACKING_OFF),
        "driver_dropped": diagnostics["dropped"],
        "server_queue_overflows": diagnostics["server_queue_overflows"],
        "probes": diagnostics["probes"],
        "history_dropped": history["dropped"],
        "alarms_raised": raised,
        "load_s": round(loaded, 2),
        "first_values_s": round(first_values, 2),
        "runtime_cpu_percent": round(cpu / max(wall, 1e-9) * 100, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _stored(path: Path) -> int:
    """Good history rows of the changing values (the initial 0 of each tag is not a change)."""
    with sqlite3.connect(path) as db:
        query = (
            "SELECT COUNT(*) FROM samples JOIN tags ON tags.id = samples.tag_id"
            " WHERE tags.name GLOB 'V[0-9]*' AND samples.quality = 2 AND samples.value >= 1"
        )
        return int(db.execute(query).fetchone()[0])


class FullRateServer(ServerProcess):
    """The server process, started and stopped around a ``with`` block; ``control`` talks to it."""

    def __init__(self, port: int, items: int) -> None:
        super().__init__(_server_process, (port, items), START_TIMEOUT)
        self.endpoint = f"opc.tcp://127.0.0.1:{port}/"
        self.namespace = 0

    def __enter__(self) -> FullRateServer:
        super().__enter__()
        _, self.namespace = self.ready
        return self


def run(items: int = ITEMS, seconds: float = SECONDS) -> dict[str, Any]:
    """The full-rate scenario once (env HMI_BENCH_OPCUA_ITEMS, HMI_BENCH_OPCUA_SECONDS to resize it)."""
    logging.getLogger("asyncua").setLevel(logging.ERROR)
    with FullRateServer(free_port(), items) as server:
        result = asyncio.run(run_station(server.endpoint, server.namespace, items, seconds, server.control))
    links_held = result["link_losses"] == 0 and result["link_down_states"] == 0
    result["zero_loss"] = result["lost"] == 0 and links_held
    return result
