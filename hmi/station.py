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
from hmi.historian.writer import HistoryWriter
from hmi.project.config import Project
from hmi.runtime import TagRuntime

log = logging.getLogger(__name__)


@dataclass
class Station:
    """Runtime + historian + alarms for one project."""

    project: Project
    history_path: Path
    runtime: TagRuntime = field(init=False)
    history: HistoryWriter = field(init=False)
    alarms: AlarmEngine = field(init=False)
    journal: AlarmJournal = field(init=False)

    def __post_init__(self) -> None:
        self.runtime = TagRuntime(self.project)
        self.history = HistoryWriter(self.history_path, commit_interval=self.project.history.commit_interval)
        self.alarms = AlarmEngine(self.project.alarms)
        self.journal = AlarmJournal(self.history_path)

    async def start(self) -> None:
        """Start the writers, wire the fan-out, then start the drivers."""
        self.history_path.parent.mkdir(parents=True, exist_ok=True)
        # The history schema must exist before the journal adds its table beside it.
        await asyncio.to_thread(self.history.start)
        self.journal.start()
        self.runtime.subscribe(self.history.append)
        self.runtime.subscribe(self.alarms.on_sample)
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
