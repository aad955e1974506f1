"""OPC UA subscriptions: our OpcUaDriver against a bare asyncua handler-mode subscription, same run.

An asyncua server runs in a separate process (so that the CPU time measured here is the
client's alone) and changes every one of its variables once per period. Each client
subscribes, waits for the initial values, asks the server for a number of rounds and
counts what arrives: offered (rounds × items) against received, per scenario:

- 1,000 items at 100 ms (10k changes/s), and 10,000 items at 1 s (10k changes/s);
- client CPU seconds per change, ours / bare (target ≤ 1.6);
- time to subscribe 10,000 items (target ≤ 2 s);
- ``full_rate``: the whole station (history, alarms) against the server changing every item as fast
  as it can for 60 s: offered = received = stored, zero link losses (``benchmarks.opcua_station``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from benchmarks.bench_servers import ServerProcess, add_numbered_variables, free_port, opcua_server

NAMESPACE = 2
SCENARIOS = ((1_000, 0.1, 50), (10_000, 1.0, 5))
"""(items, period s, rounds): 50,000 changes each."""
MAX_ITEMS = max(items for items, _, _ in SCENARIOS)
DRAIN_TIMEOUT = 20.0
START_TIMEOUT = 900.0
SUBSCRIBE_TIMEOUT = 60.0


# --- the server process ---------------------------------------------------------------------


def _server_process(port: int, items: int, control: Connection) -> None:
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(_serve(port, items, control))


async def _serve(port: int, items: int, control: Connection) -> None:
    from asyncua import ua

    server = await opcua_server(port)
    await server.register_namespace("urn:converge-hmi:bench")
    nodes = await add_numbered_variables(server, NAMESPACE, items)
    async with server:
        control.send("ready")
        while True:
            command = await asyncio.to_thread(control.recv)
            if command[0] == "stop":
                return
            _, count, period, rounds, first_value = command
            offered = 0
            began = time.monotonic()
            for round_number in range(rounds):
                value = ua.DataValue(ua.Variant(float(first_value + round_number), ua.VariantType.Double))
                for node in nodes[:count]:
                    await server.write_attribute_value(node, value)
                    offered += 1
                # Pace rounds by the clock; a late round starts at once (it is reported below).
                await asyncio.sleep(max(0.0, began + (round_number + 1) * period - time.monotonic()))
            control.send(("done", offered, time.monotonic() - began))


# --- the two clients ---------------------------------------------------------------------------


class Tally:
    """Counts notifications and keeps the newest value per item (no IO, as a handler must)."""

    def __init__(self) -> None:
        self.received = 0
        self.last: dict[Any, float] = {}

    def add(self, key: Any, value: float) -> None:
        """One notification."""
        self.received += 1
        self.last[key] = value


async def _wait(predicate: Callable[[], bool], within: float) -> bool:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def _bare(
    endpoint: str, count: int, control: Connection, period: float, rounds: int, first: int
) -> dict:
    from asyncua import Client, ua

    tally = Tally()

    class Handler:
        def datachange_notification(self, node: Any, value: Any, data: Any) -> None:
            tally.add(data.monitored_item.ClientHandle, value)

    client = Client(endpoint, timeout=10)
    await client.connect()
    try:
        began = time.perf_counter()
        subscription = await client.create_subscription(period * 1000, Handler())
        nodes = [client.get_node(ua.NodeId(i, NAMESPACE)) for i in range(1, count + 1)]
        await subscription.subscribe_data_change(nodes, queuesize=10_000)
        subscribed = time.perf_counter() - began
        await _wait(lambda: tally.received >= count, SUBSCRIBE_TIMEOUT)
        return await _measure(tally, count, control, period, rounds, first, subscribed)
    finally:
        await client.disconnect()


async def _ours(
    endpoint: str, count: int, control: Connection, period: float, rounds: int, first: int
) -> dict:
    from drivers.opcua import OpcUaDriver
    from drivers.settings import OpcUaSettings
    from hmi.model import ConnectionState, Sample, TagDef

    tally = Tally()
    tags = [
        TagDef(f"V{i}", "bench", f"ns={NAMESPACE};i={i}", scan_period=period) for i in range(1, count + 1)
    ]

    def on_sample(tag: str, sample: Sample) -> None:
        if sample.is_good:
            tally.add(tag, sample.value)

    driver = OpcUaDriver("bench", OpcUaSettings(endpoint, timeout=10.0), tags, on_sample, lambda _s: None)
    began = time.perf_counter()
    await driver.start()
    try:
        await _wait(lambda: driver.status.state is ConnectionState.CONNECTED, SUBSCRIBE_TIMEOUT)
        subscribed = time.perf_counter() - began  # CONNECTED comes after every item was created
        await _wait(lambda: tally.received >= count, SUBSCRIBE_TIMEOUT)
        result = await _measure(tally, count, control, period, rounds, first, subscribed)
        diagnostics = driver.diagnostics()
        result["driver_dropped"] = diagnostics["dropped"]
        result["server_queue_overflows"] = diagnostics["server_queue_overflows"]
        return result
    finally:
        await driver.stop()


async def _measure(
    tally: Tally, count: int, control: Connection, period: float, rounds: int, first: int, subscribed: float
) -> dict:
    """Have the server run its rounds; count what arrives and the client CPU it cost."""
    initial = tally.received
    cpu_began = time.process_time()
    control.send(("run", count, period, rounds, first))
    _, offered, server_seconds = await asyncio.to_thread(control.recv)
    await _wait(lambda: tally.received - initial >= offered, DRAIN_TIMEOUT)
    cpu = time.process_time() - cpu_began
    received = tally.received - initial
    last = first + rounds - 1
    return {
        "subscribe_s": round(subscribed, 3),
        "offered": offered,
        "received": received,
        "lost": offered - received,
        "items_with_final_value": sum(1 for v in tally.last.values() if v == last),
        "server_round_s": round(server_seconds / rounds, 3),
        "client_cpu_s": round(cpu, 3),
        "cpu_us_per_change": round(cpu / max(received, 1) * 1e6, 2),
    }


# --- the run -------------------------------------------------------------------------------------


def run() -> dict[str, Any]:
    """Both clients on both scenarios against one server process; ratios of ours to bare."""

    logging.getLogger("asyncua").setLevel(logging.ERROR)
    port = free_port()
    results: dict[str, Any] = {}
    with ServerProcess(_server_process, (port, MAX_ITEMS), START_TIMEOUT) as server:
        if server.ready != "ready":
            raise RuntimeError("the benchmark server did not start")
        ours_end = server.control
        endpoint = f"opc.tcp://127.0.0.1:{port}/"
        first = 1
        for count, period, rounds in SCENARIOS:
            label = f"{count}_items_at_{int(period * 1000)}ms"
            bare = asyncio.run(_bare(endpoint, count, ours_end, period, rounds, first))
            first += rounds
            ours = asyncio.run(_ours(endpoint, count, ours_end, period, rounds, first))
            first += rounds
            # A bare client that lost changes did less work: no ratio against it (it is reported).
            ratio = None if bare["lost"] else ours["cpu_us_per_change"] / max(bare["cpu_us_per_change"], 1e-9)
            results[label] = {
                "ours": ours,
                "bare": bare,
                "cpu_ratio": round(ratio, 3) if ratio is not None else None,
                "zero_loss": ours["lost"] == 0 and ours["items_with_final_value"] == count,
            }
        big = results[f"{MAX_ITEMS}_items_at_1000ms"]
        results["subscribe_10000_items_s"] = big["ours"]["subscribe_s"]
        scenarios = [v for v in results.values() if isinstance(v, dict)]
        ratios = [v["cpu_ratio"] for v in scenarios if v["cpu_ratio"] is not None]
        results["cpu_ratio_max"] = max(ratios, default=None)
        # A second station-sized run is benchmarks.opcua_station's, after this server is gone.
        results["targets"] = {"cpu_ratio": 1.6, "subscribe_10000_items_s": 2.0, "lost": 0}
    from benchmarks import opcua_station

    results["full_rate"] = opcua_station.run()
    return results
