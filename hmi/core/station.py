"""One running plant: the tag runtime with its store (history and alarm journal), and alarm engine.

Pure asyncio, no Qt: the GUI drives it on a loop thread, ``hmi run --headless`` under ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

from hmi.alarms.engine import AlarmEngine
from hmi.alarms.journal import AlarmJournal
from hmi.core.runtime import Feed, TagRuntime
from hmi.core.system_tags import SystemTags
from hmi.historian.deadband import storage_deadbands, swinging_door_tags
from hmi.historian.writer import HistoryWriter
from hmi.project.config import AlarmDef, Project
from hmi.project.system_tags import HISTORY_DISK_FULL
from hmi.store import Store, StoreLocked

__all__ = ["DISK_FULL_ALARM", "Station", "StoreLocked"]

log = logging.getLogger(__name__)

DISK_FULL_ALARM = HISTORY_DISK_FULL
"""Built-in alarm on the system tag of the same name: the history disk is full; samples wait in memory
(counted and dropped past the limit)."""

HEALTH_CHECK_EVERY = 1.0


def _system_alarms(history_path: Path) -> dict[str, AlarmDef]:
    return {
        DISK_FULL_ALARM: AlarmDef(
            name=DISK_FULL_ALARM,
            tag=HISTORY_DISK_FULL,
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
    system_tags: SystemTags = field(init=False)

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
        self.journal = AlarmJournal(self.store.writer)
        self._store_open = False
        self._add_system_tags()

    def _add_system_tags(self) -> None:
        """The station's own state as tags, through the runtime like any other: history, alarms, screens."""
        self.system_tags = SystemTags(
            list(self.project.connections),
            # Looked up at each check, not bound now: whichever writer the station runs is the one reported.
            lambda: self.history.stats(),
            self.runtime.subscribe_status,
            every=HEALTH_CHECK_EVERY,
        )
        self.runtime.add_source(self.system_tags)

    async def start(self) -> None:
        """Open the store (lock, migrations, writer), wire the fan-out, then start the drivers."""
        self.history_path.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(self.store.open)
        self._store_open = True
        self.runtime.subscribe(self.history.append)
        self.runtime.subscribe(self.alarms.on_sample, Feed.RAW)  # trip points exact, whatever the deadband
        self.alarms.subscribe(self.journal.on_event)
        await self.runtime.start()
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
        await self.runtime.stop()
        self.alarms.close()
        await asyncio.to_thread(self.store.close)
        self._store_open = False
