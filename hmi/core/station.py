"""One running plant: the tag runtime with its store (history and alarm journal), and alarm engine.

Pure asyncio, no Qt: the GUI drives it on a loop thread, ``hmi run --headless`` under ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from hmi.alarms.engine import AlarmEngine
from hmi.alarms.journal import AlarmJournal
from hmi.core.runtime import TagRuntime
from hmi.historian.deadband import storage_deadbands, swinging_door_tags
from hmi.historian.writer import HistoryWriter
from hmi.model import Sample
from hmi.project.config import AlarmDef, Project
from hmi.store import Store, StoreLocked

__all__ = ["DISK_FULL_ALARM", "Station", "StoreLocked"]

log = logging.getLogger(__name__)

DISK_FULL_ALARM = "SYSTEM.HISTORY.DISK_FULL"
"""Built-in alarm: the history disk is full; samples wait in memory (counted and dropped past the limit)."""

HEALTH_CHECK_EVERY = 2.0


def _system_alarms(history_path: Path) -> dict[str, AlarmDef]:
    return {
        DISK_FULL_ALARM: AlarmDef(
            name=DISK_FULL_ALARM,
            tag=DISK_FULL_ALARM,
            type="hi",
            limit=0.5,
            priority="urgent",
            message=f"History disk full: free space for {history_path}; samples are held in memory meanwhile",
        )
    }


@dataclass
class Station:
    """Runtime + store (history, alarm journal) + alarms for one project.

    ``start`` raises StoreLocked, before anything runs, when another process writes the same store.
    """

    project: Project
    history_path: Path
    max_file_bytes: int | None = None  # a ceiling for the store file (tests stand it in for a full disk)
    store: Store = field(init=False)
    runtime: TagRuntime = field(init=False)
    history: HistoryWriter = field(init=False)
    alarms: AlarmEngine = field(init=False)
    journal: AlarmJournal = field(init=False)

    def __post_init__(self) -> None:
        self.runtime = TagRuntime(self.project)
        settings = self.project.history
        # One store per file: the lock, the migrations and one writer thread for every stream.
        self.store = Store(self.history_path, settings.commit_interval, max_file_bytes=self.max_file_bytes)
        self.history = HistoryWriter(
            self.history_path,
            writer=self.store.writer,
            deadbands=storage_deadbands(self.project.tags.values()),
            swinging_door=swinging_door_tags(self.project.tags.values()),
            retention=settings.retention,
            max_size=settings.max_size,
        )
        self.alarms = AlarmEngine({**self.project.alarms, **_system_alarms(self.history_path)})
        self._health: asyncio.Task[None] | None = None
        self.journal = AlarmJournal(self.store.writer)
        self._store_open = False

    async def start(self) -> None:
        """Open the store (lock, migrations, writer), wire the fan-out, then start the drivers."""
        self.history_path.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(self.store.open)
        self._store_open = True
        self.runtime.subscribe(self.history.append)
        self.runtime.subscribe(self.alarms.on_sample)
        self.alarms.subscribe(self.journal.on_event)
        await self.runtime.start()
        self._health = asyncio.create_task(self._watch_health(), name="station:health")
        log.info(
            "%s: running with %d tags on %d connections",
            self.project.name,
            len(self.project.tags),
            len(self.project.connections),
        )

    async def stop(self) -> None:
        """Stop the drivers, then flush the store (bounded) off the loop and release its lock."""
        if not self._store_open:  # start never got past the store (locked, or a bad file): nothing runs
            self.alarms.close()
            return
        if self._health is not None:
            self._health.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._health
        await self.runtime.stop()
        self.alarms.close()
        await asyncio.to_thread(self.store.close)
        self._store_open = False

    async def _watch_health(self) -> None:
        """Turn the historian's state into the built-in disk-full alarm (stats() is a cheap, locked read)."""
        while True:
            full = bool(self.history.stats().get("disk_full"))
            self.alarms.on_sample(DISK_FULL_ALARM, Sample.good(1.0 if full else 0.0))
            await asyncio.sleep(HEALTH_CHECK_EVERY)
