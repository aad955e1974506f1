"""``hmi run --headless`` and ``hmi demo --headless``: the station under plain asyncio, logging to stderr."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

from drivers.tasks import cancel_and_wait
from hmi.alarms.engine import AlarmEvent, AlarmStatus
from hmi.core.station import Station, StoreLocked
from hmi.model import ConnectionStatus
from hmi.project.config import Project

log = logging.getLogger("hmi")

DIAGNOSTICS_EVERY = 10.0
EXIT_STORE_LOCKED = 3
"""Exit status when another process writes this project's (or data folder's) store."""


async def run_headless(project: Project, seconds: float | None, demo_data_dir: Path | None = None) -> int:
    """Run ``project`` (the demo plant with ``demo_data_dir``) until ``seconds`` pass or a signal arrives."""
    plant = None
    if demo_data_dir is not None:
        from drivers.sim.plant import DemoPlant
        from hmi.core.demo import BEARING_WEAR_AFTER, demo_project

        plant = DemoPlant(wear_after=BEARING_WEAR_AFTER)
        await plant.start()
        project = demo_project(plant, demo_data_dir)
        log.info("demo plant: modbus 127.0.0.1:%d, opc ua %s", plant.modbus_port, plant.opcua_endpoint)
    station = Station(project, project.history.path)
    station.runtime.subscribe_status(_log_status)
    station.alarms.subscribe(_log_alarm)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows has no add_signal_handler
            loop.add_signal_handler(sig, stop.set)
    try:
        await station.start()
    except StoreLocked as locked:
        log.error("%s", locked)  # names the running process; nothing was written to its store
        await station.stop()
        if plant is not None:
            await plant.stop()
        return EXIT_STORE_LOCKED
    reporter = asyncio.create_task(_report_diagnostics(station), name="headless:diagnostics")
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)
    finally:
        await cancel_and_wait([reporter])
        await station.stop()
        if plant is not None:
            await plant.stop()
    stats = station.history.stats()
    # Every sample offered is written, dropped (counted and logged above with its time range), refused
    # as unstorable or skipped by a storage deadband: the four add up to "offered".
    log.info(
        "stopped: %s samples written to %s, %s dropped, %s refused, %s filtered, of %s offered",
        stats.get("written"),
        project.history.path,
        stats.get("dropped"),
        stats.get("rejected"),
        stats.get("filtered"),
        stats.get("offered"),
    )
    return 0


def _log_status(status: ConnectionStatus) -> None:
    detail = f" ({status.last_error})" if status.last_error else ""
    log.info("connection %s: %s%s", status.name, status.state.value, detail)


def _log_alarm(event: AlarmEvent, _status: AlarmStatus) -> None:
    log.warning("alarm %s %s [%s]: %s", event.alarm, event.kind.value, event.priority, event.message)


async def _report_diagnostics(station: Station) -> None:
    while True:
        await asyncio.sleep(DIAGNOSTICS_EVERY)
        for name, driver in station.runtime.drivers.items():
            log.info("diagnostics %s: %s", name, driver.diagnostics().figures())
        for stream in station.sync.status() if station.sync is not None else ():
            log.info(
                "sync %s/%s: %s, backlog %d rows, %.0f rows/s, %d quarantined%s",
                stream.endpoint, stream.stream, stream.state, stream.backlog_rows, stream.rows_per_s,
                stream.quarantined, f", last error: {stream.last_error}" if stream.last_error else "",
            )  # fmt: skip
