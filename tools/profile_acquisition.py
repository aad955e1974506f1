"""Profile the acquisition hot path: the tag runtime polling N Modbus tags whose values change every read.

The server is the benchmark's pymodbus server in its own process, so the profile is the client's alone.
Prints JSON: CPU used by this process as a share of one core, samples fanned out, and the functions
that took the most time (cProfile, own time).

    python -m tools.profile_acquisition 50000 --servers 4 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import logging
import os
import pstats
import time
from pathlib import Path

from benchmarks.modbus import _servers
from drivers.settings import ModbusSettings
from hmi.core.runtime import Feed, TagRuntime
from hmi.model import DataType, Sample, TagDef
from hmi.project.config import ConnectionConfig, HistorySettings, Project


def plant_tags(count: int, period: float, connection: str = "plc") -> list[TagDef]:
    """A plant-like mix that fits one device's map: 30 % float32, 50 % uint16, 20 % coils."""
    floats, words = count * 3 // 10, count // 2
    tags = [
        TagDef(f"{connection}.F{i}", connection, f"hr:{2 * i}", DataType.FLOAT32, scan_period=period)
        for i in range(floats)
    ]
    base = 2 * floats
    tags += [
        TagDef(f"{connection}.W{i}", connection, f"hr:{base + i}", DataType.UINT16, scan_period=period)
        for i in range(words)
    ]
    tags += [
        TagDef(f"{connection}.C{i}", connection, f"co:{i}", DataType.BOOL, scan_period=period)
        for i in range(count - floats - words)
    ]
    return tags


def registers_for(count: int) -> int:
    """The holding registers (and coils) the server must serve for ``plant_tags(count)``."""
    return max(2 * (count * 3 // 10) + count // 2, count - count * 3 // 10 - count // 2) + 16


def plant_project(ports: list[int], tags: list[TagDef]) -> Project:
    """One Modbus connection per port (``plc0``, ``plc1``...) carrying ``tags``."""
    connections = {
        f"plc{n}": ConnectionConfig(f"plc{n}", "modbus", ModbusSettings("127.0.0.1", port, timeout=5.0))
        for n, port in enumerate(ports)
    }
    return Project(
        name="profile",
        root=Path("."),
        connections=connections,
        scan_classes={},
        tags={t.name: t for t in tags},
        alarms={},
        history=HistorySettings(Path("unused.db")),
        screens={},
    )


async def profile(count: int, seconds: float, top: int, servers: int = 1) -> dict[str, object]:
    """Run the runtime for ``seconds`` after its first full cycle, under cProfile when ``top`` > 0.

    The tags are split over ``servers`` connections, each to its own server process: one Python
    server answers about 450 blocks per second on this machine, so 50k tags at 1 s need several.
    """
    share = count // servers
    tags = [t for n in range(servers) for t in plant_tags(share, 1.0, f"plc{n}")]
    async with _servers(servers, changing=True, registers=registers_for(share)) as ports:
        runtime = TagRuntime(plant_project(ports, tags))
        fanned = [0, 0]

        def on_change(_name: str, _sample: Sample) -> None:
            fanned[0] += 1

        def on_raw(_name: str, _sample: Sample) -> None:
            fanned[1] += 1

        runtime.subscribe(on_change)
        runtime.subscribe(on_raw, Feed.RAW)
        await runtime.start()
        try:
            for _ in range(300):  # bounded: 30 s for the first full cycle
                if all(s.is_good for s in runtime.values.values()):
                    break
                await asyncio.sleep(0.1)
            fanned[:] = [0, 0]
            profiler = cProfile.Profile()
            cpu0, wall0 = time.process_time(), time.perf_counter()
            if top:
                profiler.enable()
            await asyncio.sleep(seconds)
            profiler.disable()
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            diagnostics = [driver.diagnostics() for driver in runtime.drivers.values()]
        finally:
            await runtime.stop()
    out = io.StringIO()
    if top:
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return {
        "tags": len(tags),
        "servers": servers,
        "seconds": round(wall, 2),
        "cpu_share_of_one_core": round(cpu / wall, 3),
        "changes_per_s": round(fanned[0] / wall),
        "raw_per_s": round(fanned[1] / wall),
        "overruns": sum(int(d["overruns"]) for d in diagnostics),
        "blocks": sum(int(d["blocks"]) for d in diagnostics),
        "load_average": os.getloadavg(),
        "profile": out.getvalue().splitlines()[-(top + 3) :] if top else [],
    }


def main() -> None:
    """Parse the arguments and print the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tags", type=int)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--top", type=int, default=0, help="profile, and print this many functions")
    parser.add_argument("--servers", type=int, default=1, help="server processes (connections)")
    args = parser.parse_args()
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    print(json.dumps(asyncio.run(profile(args.tags, args.seconds, args.top, args.servers)), indent=1))


if __name__ == "__main__":
    main()
