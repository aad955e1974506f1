"""One running plant: the tag runtime with its history writer, alarm engine and journal wired to it.

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
    """Runtime + historian + alarms for one project."""

    project: Project
    history_path: Path
    runtime: TagRuntime = field(init=False)
    history: HistoryWriter = field(init=False)
    alarms: AlarmEngine = field(init=False)
    journal: AlarmJournal = field(init=False)
    system_tags: SystemTags = field(init=False)

    def __post_init__(self) -> None:
        self.runtime = TagRuntime(self.project)
        settings = self.project.history
        self.history = HistoryWriter(
            self.history_path,
            commit_interval=settings.commit_interval,
            deadbands=storage_deadbands(self.project.tags.values()),
            swinging_door=swinging_door_tags(self.project.tags.values()),
            retention=settings.retention,
            max_size=settings.max_size,
        )
        self.alarms = AlarmEngine({**self.project.alarms, **_system_alarms(self.history_path)})
        self.journal = AlarmJournal(self.history_path)
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
        """Start the writers, wire the fan-out, then start the drivers."""
        self.history_path.parent.mkdir(parents=True, exist_ok=True)
        # The history schema must exist before the journal adds its table beside it.
        await asyncio.to_thread(self.history.start)
        self.journal.start()
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
        """Stop the drivers, then flush history and the journal (bounded) off the loop."""
        await self.runtime.stop()
        self.alarms.close()
        await asyncio.to_thread(self.history.stop)
        await asyncio.to_thread(self.journal.stop)
