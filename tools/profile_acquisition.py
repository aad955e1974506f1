"""Profile the acquisition hot path: the tag runtime polling N Modbus tags whose values change every read.

The server is the benchmark's pymodbus server in its own process, so the profile is the client's alone.
Prints JSON: CPU used by this process as a share of one core, samples fanned out, and the functions
that took the most time (cProfile, own time).

    python -m tools.profile_acquisition 10000 --seconds 20
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


def plant_tags(count: int, period: float) -> list[TagDef]:
    """A plant-like mix that fits one device's map: 30 % float32, 50 % uint16, 20 % coils."""
    floats, words = count * 3 // 10, count // 2
    tags = [
        TagDef(f"F{i}", "plc", f"hr:{2 * i}", DataType.FLOAT32, scan_period=period) for i in range(floats)
    ]
    base = 2 * floats
    tags += [
        TagDef(f"W{i}", "plc", f"hr:{base + i}", DataType.UINT16, scan_period=period) for i in range(words)
    ]
    tags += [
        TagDef(f"C{i}", "plc", f"co:{i}", DataType.BOOL, scan_period=period)
        for i in range(count - floats - words)
    ]
    return tags


def registers_for(count: int) -> int:
    """The holding registers (and coils) the server must serve for ``plant_tags(count)``."""
    return max(2 * (count * 3 // 10) + count // 2, count - count * 3 // 10 - count // 2) + 16


def plant_project(port: int, tags: list[TagDef]) -> Project:
    """One Modbus connection carrying ``tags``."""
    settings = ModbusSettings("127.0.0.1", port, timeout=5.0)
    return Project(
        name="profile",
        root=Path("."),
        connections={"plc": ConnectionConfig("plc", "modbus", settings)},
        scan_classes={},
        tags={t.name: t for t in tags},
        alarms={},
        history=HistorySettings(Path("unused.db")),
        screens={},
    )


async def profile(count: int, seconds: float, top: int) -> dict[str, object]:
    """Run the runtime for ``seconds`` after its first full cycle, under cProfile when ``top`` > 0."""
    tags = plant_tags(count, 1.0)
    async with _servers(1, changing=True, registers=registers_for(count)) as (port,):
        runtime = TagRuntime(plant_project(port, tags))
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
            diagnostics = runtime.drivers["plc"].diagnostics()
        finally:
            await runtime.stop()
    out = io.StringIO()
    if top:
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return {
        "tags": count,
        "seconds": round(wall, 2),
        "cpu_share_of_one_core": round(cpu / wall, 3),
        "changes_per_s": round(fanned[0] / wall),
        "raw_per_s": round(fanned[1] / wall),
        "overruns": diagnostics["overruns"],
        "blocks": diagnostics["blocks"],
        "load_average": os.getloadavg(),
        "profile": out.getvalue().splitlines()[-(top + 3) :] if top else [],
    }


def main() -> None:
    """Parse the arguments and print the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tags", type=int)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--top", type=int, default=0, help="profile, and print this many functions")
    args = parser.parse_args()
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    print(json.dumps(asyncio.run(profile(args.tags, args.seconds, args.top)), indent=1))


if __name__ == "__main__":
    main()
