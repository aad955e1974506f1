"""The rules engine wired into the station: a tag source for its tags, the command path for its writes.

``hmi.rules`` never imports the core: the station hands it a publish function (this source's), a
write function (the command path, actor = the rule's name, origin = rule) and the rule journal.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hmi.core.commands import CommandPath, Origin, WriteRequest
from hmi.core.runtime import Feed, TagRuntime
from hmi.core.tag_source import TagSource
from hmi.historian.reader import HistoryReader
from hmi.model import Quality, Reason, Sample
from hmi.project.rules_defs import RULES_SOURCE
from hmi.rules.engine import RulesEngine
from hmi.rules.events import RuleEvent, RuleStatus, WriteOutcome
from hmi.rules.journal import RuleJournal, acknowledgement, maintenance_events
from hmi.rules.state_file import RuleStateFile, rule_state_path

__all__ = ["RulesSnapshot", "RulesSource", "rule_state_path"]

log = logging.getLogger(__name__)

SEED_ROWS = 100_000
"""The most history rows read per tag to seed its windows at start."""


@dataclass(frozen=True, slots=True)
class RulesSnapshot:
    """What the rules view shows: every rule's status and the newest maintenance events."""

    rules: list[RuleStatus]
    maintenance: list[dict[str, Any]]


class RulesSource(TagSource):
    """Runs the project's derived tags and rules on the runtime loop, fed by the raw feed."""

    def __init__(
        self,
        runtime: TagRuntime,
        commands: CommandPath,
        journal: RuleJournal | None,
        history: Callable[[], Path | None] = lambda: None,
        state_path: Path | None = None,
    ) -> None:
        # The rules' tags are the project's own (the loader put them there), so none is added here.
        super().__init__(RULES_SOURCE, [])
        self._runtime = runtime
        self._commands = commands
        self.journal = journal
        self.dropped_records = 0
        self.engine = RulesEngine(
            runtime.project.rules,
            runtime.tags,
            publish=self.publish,
            write=self._write,
            record=self._record,
            publish_batch=self._publish_batch,
        )
        self._unsubscribe: Callable[[], None] | None = None
        self._history = history
        self.seeded_rows = 0
        self.state_file = RuleStateFile(state_path) if state_path is not None else None
        """Counters, totalisers and rules' enable states across a restart (None: not kept)."""
        self.restored = 0
        self.state_errors = 0
        """Saves of the state file that failed (logged; the next interval tries again)."""
        self._saved: dict[str, Any] = {}
        self._saver: asyncio.Task[None] | None = None

    def _publish_batch(self, batch: list[tuple[str, Sample]]) -> None:
        """The derived tags' samples of one input batch, handed on as one batch (dropped when stopped)."""
        if self._publish is not None:
            self._runtime.publish_batch(batch)

    def _record(self, event: RuleEvent) -> None:
        if self.journal is None or not self.journal.append(event):
            self.dropped_records += 1

    async def _write(self, tag: str, value: Any, actor: str) -> WriteOutcome:
        request = WriteRequest(tag, value, actor, Origin.RULE, reason="rule action")
        refused = self._commands.refusal(request)
        if refused is not None:
            return WriteOutcome(False, error=refused.error, refused=True)
        result = await self._commands.write(request)
        return WriteOutcome(result.ok, result.written, result.error)

    def acknowledge(self, event_id: str, actor: str) -> None:
        """Acknowledge maintenance event ``event_id`` (recorded in the rule journal)."""
        self._record(acknowledgement(event_id, actor, time.time()))

    async def snapshot(self, limit: int = 200) -> RulesSnapshot:
        """The rules' states (taken on the loop) and the maintenance list (read off the loop)."""
        statuses = self.engine.statuses()
        path = self._history()
        maintenance = await asyncio.to_thread(_read_maintenance, path, limit) if path is not None else []
        return RulesSnapshot(statuses, maintenance)

    async def _start(self) -> None:
        if self.state_file is not None:  # before the history: a restored totaliser is not seeded again
            try:
                saved = await asyncio.to_thread(self.state_file.load)
                self.restored = self.engine.restore(saved, time.time())
                self._saved = dict(saved)
            except Exception:  # a damaged state file must not keep the rules from running
                log.exception("rules: state not restored from %s", self.state_file.path)
        path = self._history()
        if path is not None:  # before the raw feed: history first, then live samples, in time order
            try:
                self.seeded_rows = await asyncio.to_thread(self._seed, path, time.time())
            except Exception:  # a store that cannot be read must not keep the rules from running
                log.exception("rules: windows not seeded from history %s", path)
        self._unsubscribe = self._runtime.subscribe_batch(self.engine.on_samples, Feed.RAW)
        self.engine.start()
        if self.state_file is not None:
            every = self._runtime.project.history.commit_interval
            self._saver = asyncio.get_running_loop().create_task(self._save_every(every), name="rules:state")

    async def _save_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            await self.save_state()

    async def save_state(self) -> None:
        """Write the state entries that changed since the last save (taken on the loop, written off it)."""
        if self.state_file is None:
            return
        state = self.engine.persistent_state()
        changed = {key: value for key, value in state.items() if self._saved.get(key) != value}
        if not changed:
            return
        try:
            await asyncio.to_thread(self.state_file.save, changed, time.time())
        except Exception:
            path = self.state_file.path
            self.state_errors += 1
            if self.state_errors % 100 == 1:  # the first, then one in a hundred: no log flood at 1 Hz
                log.exception("rules: state not saved (%d times): %s", self.state_errors, path)
            return
        self._saved.update(changed)

    def _seed(self, path: Path, now: float) -> int:
        """Read each windowed tag's recent history (off the loop) and feed it to the engine."""
        periods = {name: tag.scan_period for name, tag in self._runtime.tags.items()}
        horizons = self.engine.seed_horizons(now, periods)
        if not horizons or not path.exists():
            return 0
        reader = HistoryReader(path)
        rows_by_tag = {}
        try:
            for tag, seconds in horizons.items():
                rows = reader.range(tag, now - seconds, now, limit=SEED_ROWS)
                rows_by_tag[tag] = [(row.ts, row.value, row.quality is Quality.GOOD) for row in rows]
        finally:
            reader.close()
        return sum(self.engine.seed(tag, rows) for tag, rows in rows_by_tag.items())

    async def _stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._saver is not None:
            self._saver.cancel()
            await asyncio.gather(self._saver, return_exceptions=True)
            self._saver = None
        await self.engine.stop()
        if self.state_file is not None:  # the last word of a graceful stop
            await self.save_state()
            await asyncio.to_thread(self.state_file.close)
        now = time.time()
        for tag in self._runtime.project.tags.values():
            if tag.source == RULES_SOURCE:
                self.publish(tag.name, Sample.bad(Reason.NOT_CONNECTED, ts=now))


def _read_maintenance(path: Path, limit: int) -> list[dict[str, Any]]:
    """The newest maintenance events in the store (its own read connection; the table may not exist yet)."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2.0)) as conn:
            return maintenance_events(conn, limit)
    except sqlite3.Error as error:
        log.debug("maintenance list not read: %s", error)
        return []
