"""Alarm flood: the runtime loop's lag when a link drop flags 1,000 active alarms bad at once.

1,000 uint16 tags on one Modbus connection (a pymodbus server in its own process), one hi
alarm on each, all active. The server is killed (SIGKILL, as a PLC vanishes); the driver turns
every tag bad in one go and every alarm emits a quality event. A ticker task on the runtime
loop wakes every 10 ms and records how late it woke; p50, p99 and max of that lateness from
the kill until every alarm is flagged (plus a short tail) is the loop lag an operator's polls
would suffer.

Three sides, alternating in rounds of the same run:

- ``bare``: the same runtime and driver with no alarm engine at all;
- ``per_event``: the engine with the old GUI listener, which sorted and copied the alarm
  summary for the bridge on every alarm event;
- ``per_frame``: the engine with :class:`hmi.alarms.feed.AlarmSnapshotFeed`, which sends
  events one by one and builds the summary at most once per bridge frame.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import asyncio
import contextlib
import dataclasses
import logging
import socket
import statistics
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from drivers.settings import ModbusSettings
from hmi.alarms.engine import AlarmEngine, AlarmEvent, AlarmStatus
from hmi.alarms.feed import AlarmSnapshotFeed
from hmi.core.runtime import TagRuntime
from hmi.model import DataType, Quality, TagDef
from hmi.project.config import AlarmDef, ConnectionConfig, HistorySettings, Project
from hmi.ui.bridge import RuntimeBridge

TAGS = 1000
ROUNDS = 3
TICK_S = 0.010
TAIL_S = 0.5
"""Keep measuring this long after the last alarm is flagged (the frame task's last build falls in it)."""
WAIT_S = 15.0
SIDES = ("bare", "per_event", "per_frame")
TARGET_MAX_LAG_MS = 50.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _project(port: int) -> Project:
    tags = {f"T{i}": TagDef(f"T{i}", "plc", f"hr:{i}", DataType.UINT16, scan_period=0.1) for i in range(TAGS)}
    # The benchmark server holds i at register i: a limit below zero makes every alarm active.
    alarms = {f"T{i}.HI": AlarmDef(f"T{i}.HI", f"T{i}", "hi", -1.0, priority="high") for i in range(TAGS)}
    settings = ModbusSettings("127.0.0.1", port, timeout=1.0)
    return Project(
        name="alarm flood",
        root=Path("."),
        connections={"plc": ConnectionConfig("plc", "modbus", settings)},
        scan_classes={},
        tags=tags,
        alarms=alarms,
        history=HistorySettings(Path("unused.db")),
        screens={},
    )


@contextlib.asynccontextmanager
async def _server(port: int) -> AsyncIterator[asyncio.subprocess.Process]:
    """The Modbus benchmark server (register i holds i) in its own process."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.modbus",
        str(port),
        "0",
        "static",  # register i holds i: no changing values, no delay
        stdin=subprocess.PIPE,  # closed when we exit, however we exit: the server then ends too
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        if b"listening" not in line:
            raise RuntimeError(f"benchmark server did not start: {line!r}")
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


def _offer_every_event(engine: AlarmEngine, bridge: RuntimeBridge, builds: list[int]) -> None:
    """The old wiring: sort and copy the whole summary for the bridge on every alarm event."""

    def on_event(event: AlarmEvent, _status: AlarmStatus) -> None:
        builds[0] += 1
        bridge.offer_alarm_event(event)
        bridge.offer_alarm_snapshot([dataclasses.replace(s) for s in engine.shown()])

    engine.subscribe(on_event)


async def _wait(predicate: Callable[[], bool], what: str, runtime: TagRuntime) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while not predicate():
        if loop.time() > deadline:
            qualities = Counter(s.quality.name for s in runtime.values.values())
            status = runtime.statuses.get("plc")
            raise RuntimeError(
                f"alarm benchmark: {what} not reached within {WAIT_S:g} s"
                f" (tags by quality: {dict(qualities)}; link: {status})"
            )
        await asyncio.sleep(0.02)


async def _ticker(lags: list[float], stop: asyncio.Event) -> None:
    """Wake every ``TICK_S`` and record how late each wake-up came."""
    loop = asyncio.get_running_loop()
    due = loop.time() + TICK_S
    while not stop.is_set():
        await asyncio.sleep(max(0.0, due - loop.time()))
        now = loop.time()
        lags.append(max(0.0, now - due))
        due = now + TICK_S


async def _round(side: str) -> dict[str, Any]:
    port = _free_port()
    project = _project(port)
    runtime = TagRuntime(project)
    bridge = RuntimeBridge()
    engine: AlarmEngine | None = None
    feed: AlarmSnapshotFeed | None = None
    builds = [0]
    if side != "bare":
        engine = AlarmEngine(project.alarms)
        runtime.subscribe(engine.on_sample)

    def publish(engine: AlarmEngine) -> AlarmSnapshotFeed | None:
        """Wire the side's publisher to the engine (after start-up: the flood measured is the link drop)."""
        if side == "per_event":
            _offer_every_event(engine, bridge, builds)
            return None
        offer_event, offer_snapshot = bridge.offer_alarm_event, bridge.offer_alarm_snapshot
        feed = AlarmSnapshotFeed(engine, offer_event, offer_snapshot, bridge.frame_s)
        feed.start()
        return feed

    def all_values(quality: Quality) -> bool:
        return all(runtime.values[name].quality is quality for name in project.tags)

    def all_flagged() -> bool:
        return engine is None or all(s.bad_quality and s.active for s in engine.statuses.values())

    lags: list[float] = []
    stop = asyncio.Event()
    async with _server(port) as server:
        await runtime.start()
        try:
            await _wait(lambda: all_values(Quality.GOOD), "every tag good", runtime)
            if engine is not None:
                await _wait(
                    lambda: all(s.active for s in engine.statuses.values()), "every alarm active", runtime
                )
                feed = publish(engine)
            await asyncio.sleep(0.3)  # let the first snapshot go out
            builds_before = feed.builds if feed is not None else builds[0]
            ticker = asyncio.create_task(_ticker(lags, stop), name="bench:ticker")
            await asyncio.sleep(0.1)
            server.kill()
            await _wait(lambda: all_values(Quality.BAD) and all_flagged(), "every alarm flagged bad", runtime)
            await asyncio.sleep(TAIL_S)
            stop.set()
            await ticker
        finally:
            if feed is not None:
                await feed.stop()
            await runtime.stop()
    built = (feed.builds if feed is not None else builds[0]) - builds_before
    ordered = sorted(lags)
    return {
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        "max_ms": ordered[-1] * 1000,
        "snapshot_builds": built if side != "bare" else 0,
        "events_offered": bridge.alarm_events_offered,
    }


def _summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "lag_p50_ms": round(statistics.median(r["p50_ms"] for r in rounds), 2),
        "lag_p99_ms": round(statistics.median(r["p99_ms"] for r in rounds), 2),
        "lag_max_ms": round(max(r["max_ms"] for r in rounds), 2),
        "snapshot_builds_per_flood": round(statistics.median(r["snapshot_builds"] for r in rounds)),
        "alarm_events_per_flood": round(statistics.median(r["events_offered"] for r in rounds)),
    }


async def _all() -> dict[str, Any]:
    results: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    for _ in range(ROUNDS):
        for side in SIDES:
            results[side].append(await _round(side))
    summary = {side: _summary(rounds) for side, rounds in results.items()}
    bare_max = max(summary["bare"]["lag_max_ms"], TICK_S * 1000 / 10)  # never divide by a zero lag
    return {
        "case": "flood",
        "tags": TAGS,
        "active_alarms": TAGS,
        "rounds": ROUNDS,
        "tick_ms": TICK_S * 1000,
        **summary,
        "per_event_max_lag_ratio": round(summary["per_event"]["lag_max_ms"] / bare_max, 1),
        "per_frame_max_lag_ratio": round(summary["per_frame"]["lag_max_ms"] / bare_max, 1),
        "target_max_lag_ms": TARGET_MAX_LAG_MS,
        "target_met": summary["per_frame"]["lag_max_ms"] < TARGET_MAX_LAG_MS,
    }


def run() -> dict[str, Any]:
    """Measure the three sides, alternating, ``ROUNDS`` times each."""
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # the refused reconnects are not results
    logging.getLogger("drivers").setLevel(logging.ERROR)
    return asyncio.run(_all())
