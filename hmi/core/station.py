"""One running plant: the tag runtime with its store (history and alarm journal), and alarm engine.

Pure asyncio, no Qt: the GUI drives it on a loop thread, ``hmi run --headless`` under ``asyncio.run``.

A store that cannot be opened (a damaged, truncated or read-only file, a folder that cannot be
created) never stops the station: it runs without history, live values, alarms and writes carry
on, ``SYSTEM.HISTORY.AVAILABLE`` goes false and raises its urgent alarm naming the cause, and
journal events wait in memory (bounded, counted). Only a store held by another process
(``StoreLocked``) stops the start, since two writers must never share one file.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hmi.alarms.builtin import link_alarms, sync_risk_alarms
from hmi.alarms.engine import AlarmEngine
from hmi.alarms.journal import AlarmJournal
from hmi.alarms.restore import SetAside, last_set_aside, restore_set_aside
from hmi.core.alarm_expressions import AlarmExpressions
from hmi.core.commands import AuditHook, CommandPath, audit_into, log_audit
from hmi.core.rule_fault_alarms import rule_fault_alarms
from hmi.core.rules_source import RulesSource, rule_state_path
from hmi.core.runtime import Feed, TagRuntime
from hmi.core.sync_tags import SyncRiskTags
from hmi.core.system_tags import SystemTags
from hmi.core.trail_sync import trail_streams
from hmi.historian.deadband import storage_deadbands, swinging_door_tags
from hmi.historian.writer import HistoryWriter
from hmi.project.config import AlarmDef, Project
from hmi.project.system_tags import HISTORY_AVAILABLE, HISTORY_DISK_FULL, RUNTIME_ERRORS
from hmi.rules.journal import RuleJournal
from hmi.security.paths import audit_path, users_path
from hmi.security.policy import AccessPolicy
from hmi.security.signatures import SignatureBook
from hmi.security.station_security import open_security
from hmi.security.trail import AuditTrail
from hmi.security.users import UserStore
from hmi.store import Store, StoreLocked
from hmi.sync.service import SyncService
from hmi.sync.wiring import station_sync

__all__ = ["DISK_FULL_ALARM", "HISTORY_UNAVAILABLE_ALARM", "RUNTIME_ERRORS_ALARM", "Station", "StoreLocked"]

log = logging.getLogger(__name__)

DISK_FULL_ALARM = HISTORY_DISK_FULL
"""Built-in alarm on the system tag of the same name: the history disk is full; samples wait in memory
(counted and dropped past the limit)."""

HISTORY_UNAVAILABLE_ALARM = HISTORY_AVAILABLE
"""Built-in urgent alarm: history cannot be recorded (the store did not open, or its writer fails)."""

RUNTIME_ERRORS_ALARM = RUNTIME_ERRORS
"""Built-in alarm: an alarm or a runtime listener failed; it was isolated and the rest carried on."""

HEALTH_CHECK_EVERY = 1.0


def _literal(text: object) -> str:
    """``text`` safe inside an alarm message template (a path may hold braces)."""
    return str(text).replace("{", "{{").replace("}", "}}")


def _unavailable_message(history_path: Path, cause: str = "") -> str:
    why = f" ({_literal(cause)})" if cause else " (see the log)"
    return (
        f"History unavailable: {_literal(history_path)} cannot be written{why}; live values, alarms and"
        " writes carry on but are not recorded"
    )


def _system_alarms(history_path: Path) -> dict[str, AlarmDef]:
    path = _literal(history_path)
    return {
        DISK_FULL_ALARM: AlarmDef(
            name=DISK_FULL_ALARM,
            tag=HISTORY_DISK_FULL,
            type="hi",
            limit=0.5,
            priority="urgent",
            message=f"History disk full: free space for {path}; samples are held in memory meanwhile",
        ),
        # A bool alarm below 0.5 is raised while the tag is false.
        HISTORY_UNAVAILABLE_ALARM: AlarmDef(
            name=HISTORY_UNAVAILABLE_ALARM,
            tag=HISTORY_AVAILABLE,
            type="lo",
            limit=0.5,
            priority="urgent",
            message=_unavailable_message(history_path),
        ),
        RUNTIME_ERRORS_ALARM: AlarmDef(
            name=RUNTIME_ERRORS_ALARM,
            tag=RUNTIME_ERRORS,
            type="hi",
            limit=0.5,
            priority="high",
            message="{value:g} runtime failures of an alarm or a listener, each isolated (see the log)",
        ),
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
    sync: SyncService | None = field(init=False, default=None)
    """Store-and-forward to the project's enterprise endpoints (``sync:``); None when it has none."""
    rules: RulesSource | None = field(init=False, default=None)
    """Derived tags and rules (None when the project has none)."""
    history_error: str | None = field(init=False, default=None)
    """Why the store could not be opened (the station then runs without history); None when it did."""
    audit: AuditTrail = field(init=False)
    """The project's hash-chained audit trail (a file of its own beside the history)."""
    access: AccessPolicy = field(init=False)
    signatures: SignatureBook = field(init=False)
    """Who may do what; refuses everything until ``start`` has read the users store."""

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
        alarm_settings = self.project.alarm_settings
        self.alarms = AlarmEngine(
            {
                **self.project.alarms,
                **_system_alarms(self.history_path),
                **rule_fault_alarms(self.project),
                **link_alarms(self.project.connections, alarm_settings),
                **sync_risk_alarms(name for name, ep in self.project.sync.items() if ep.enabled),
            },
            max_shelve=alarm_settings.max_shelve,
            expression=AlarmExpressions(self.project.alarms, self.runtime.tags),
        )
        self.journal = AlarmJournal(self.store.writer)
        self.sync = station_sync(self.project, self.store, trail_streams(audit_path(self.history_path)))
        if self.sync is not None:  # the retention guard's verdict as tags, for the AT_RISK alarms
            risk_tags = SyncRiskTags([endpoint.name for endpoint in self.sync.endpoints])
            self.sync.on_risk = risk_tags.set_risk
            self.runtime.add_source(risk_tags)
        self.audit = AuditTrail(audit_path(self.history_path))
        self.access = AccessPolicy(None)
        self.signatures = SignatureBook(UserStore(users_path()), self.audit.record)
        self._store_open = False
        self._detach_alarms: Callable[[], None] = lambda: None
        self._add_system_tags()
        if self.project.rules:  # rules write through a command path of their own (actor: the rule)
            journal = RuleJournal(self.store.writer)
            # Rules are engineered automation: not judged by a person's role, but audited as themselves.
            commands = CommandPath(self.runtime, self.alarms, audit=self.audit_hook())
            self.rules = RulesSource(
                self.runtime, commands, journal, self._readable_history, rule_state_path(self.history_path)
            )
            self.runtime.add_source(self.rules)

    def _add_system_tags(self) -> None:
        """The station's own state as tags, through the runtime like any other: history, alarms, screens."""
        self.system_tags = SystemTags(
            list(self.project.connections),
            # Looked up at each check, not bound now: whichever writer the station runs is the one reported.
            self._history_stats,
            self.runtime.subscribe_status,
            every=HEALTH_CHECK_EVERY,
            runtime_errors=lambda: self.runtime.listener_errors + self.alarms.errors,
        )
        self.runtime.add_source(self.system_tags)

    def audit_hook(self, also: AuditHook = log_audit) -> AuditHook:
        """The command path's audit hook: ``also``, then this station's audit trail."""
        return audit_into(self.audit.record, also)

    def _readable_history(self) -> Path | None:
        """The store's file once it is open (the rules seed their windows from it), else None."""
        return self.history_path if self._store_open else None

    def _history_stats(self) -> dict[str, Any]:
        # Looked up at each check, not bound once: whichever writer the station runs is the one reported.
        return self.history.stats() | {"available": self.history_error is None}

    async def start(self) -> None:
        """Open the store (lock, migrations, writer), wire the fan-out, then start the drivers.

        Raises StoreLocked when another process writes the store; any other store failure leaves the
        station running without history (see the module docstring).
        """
        try:
            set_aside = await asyncio.to_thread(self._open_store)
        except StoreLocked:
            raise
        except Exception as error:  # a damaged store must never keep the plant from being operated
            self._run_without_history(error)
        else:
            self._store_open = True
            restore_set_aside(self.alarms, set_aside)  # before any sample: a shelved alarm stays unannounced
            self.runtime.subscribe_batch(self.history.extend)
        await asyncio.to_thread(open_security, self.audit, self.access)
        # The raw feed: trip points exact, whatever the deadband.
        self._detach_alarms = self.runtime.subscribe_batch(self.alarms.on_samples, Feed.RAW)
        self.alarms.subscribe(self.journal.on_event)
        await self.runtime.start()
        if self._store_open and self.sync is not None:
            await self.sync.start()
        log.info(
            "%s: running with %d tags on %d connections",
            self.project.name,
            len(self.project.tags),
            len(self.project.connections),
        )

    def _open_store(self) -> list[SetAside]:
        self.history_path.parent.mkdir(parents=True, exist_ok=True)
        self.store.open()
        return last_set_aside(self.history_path)

    def _run_without_history(self, error: Exception) -> None:
        cause = f"{type(error).__name__}: {error}"
        self.history_error = cause
        self.alarms.set_message(HISTORY_UNAVAILABLE_ALARM, _unavailable_message(self.history_path, cause))
        log.error(
            "history unavailable, running without it: %s cannot be used (%s); live values, alarms and writes"
            " carry on, nothing is recorded, alarm journal events are held in memory (at most %d)."
            " Move the file aside (or fix its folder's permissions) and restart to record again",
            self.history_path,
            cause,
            self.journal.bound,
        )

    async def stop(self) -> None:
        """Stop the drivers, then flush the store (bounded) off the loop and release its lock."""
        if not self._store_open and self.history_error is None:
            # start never got past the store (locked by another process): nothing runs
            self.alarms.close()
            return
        # Before the drivers: links going down at a stop (and rules held by them) are no plant alarm.
        self._detach_alarms()
        await self.runtime.stop()
        self.alarms.close()
        await asyncio.to_thread(self.audit.stop)
        try:
            await asyncio.to_thread(self.store.close)
        finally:
            if self.sync is not None:
                await self.sync.stop()  # after the last commit, so the flush carries it; bounded
        self._store_open = False
