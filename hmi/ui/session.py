"""The GUI's handle on the runtime: a station on its own loop thread (plus the demo plant on another).

Everything here is called on the GUI thread and returns at once; work happens on the
loop threads and comes back through the bridge or through futures.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hmi.alarms.feed import AlarmSnapshotFeed
from hmi.core.commands import (
    AcknowledgeRequest,
    AlarmAction,
    AlarmActionRequest,
    AuditHook,
    CommandPath,
    CommandResult,
    Origin,
    WriteRequest,
    log_audit,
    new_request_id,
    os_user,
    secured,
    signed,
)
from hmi.core.loop_thread import LoopThread
from hmi.core.rules_source import RulesSnapshot, RulesSource
from hmi.core.station import Station
from hmi.model import DriverDiagnostics
from hmi.project.config import Project
from hmi.rules.events import RuleState
from hmi.security.actions import HAND_OVER, refusal
from hmi.security.audit import DISABLE_RULE, ENABLE_RULE, SYNC_RESEND
from hmi.security.config_audit import change_entry
from hmi.security.logon import add_first_administrator, log_off, log_on
from hmi.security.paths import users_path
from hmi.security.policy import AccessPolicy
from hmi.security.users import LogOn, UserStore
from hmi.ui.bridge import RuntimeBridge
from hmi.ui.write_confirm_form import SignedValue

log = logging.getLogger(__name__)

STOP_TIMEOUT = 15.0


class GuiSession:
    """Starts, feeds and stops the runtime side for one window."""

    def __init__(
        self,
        project: Project,
        bridge: RuntimeBridge,
        demo_data_dir: Path | None = None,
        *,
        audit: AuditHook = log_audit,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """``clock`` (seconds) measures the users' inactivity; tests control it (default: monotonic)."""
        self.project = project
        self.bridge = bridge
        self.demo_data_dir = demo_data_dir
        self.runtime_thread = LoopThread("runtime")
        self.plant_thread: LoopThread | None = LoopThread("plant") if demo_data_dir is not None else None
        self.plant: Any = None
        self.station: Station | None = None
        self.alarm_feed: AlarmSnapshotFeed | None = None
        self.commands: CommandPath | None = None
        self.actor = os_user()  # until the security layer adds logins
        self._audit = audit
        self._clock = clock
        self.started: concurrent.futures.Future[None] | None = None
        self._stopped = False

    @property
    def is_demo(self) -> bool:
        """True when this session runs the built-in demo plant."""
        return self.plant_thread is not None

    def start(self) -> concurrent.futures.Future[None]:
        """Start the loop threads, then (asynchronously) the plant and the station."""
        self.runtime_thread.start()
        if self.plant_thread is not None:
            self.plant_thread.start()
        self.bridge.start()
        self.started = self.runtime_thread.submit(self._start_station())
        return self.started

    async def _start_station(self) -> None:
        project = self.project
        if self.plant_thread is not None and self.demo_data_dir is not None:
            from hmi.core.demo import BEARING_WEAR_AFTER, DemoPlant, demo_project

            self.plant = DemoPlant(wear_after=BEARING_WEAR_AFTER)
            await asyncio.wrap_future(self.plant_thread.submit(self.plant.start()))
            project = demo_project(self.plant, self.demo_data_dir)
        station = Station(project, project.history.path)
        if self._clock is not None:
            station.access = AccessPolicy(None, self._clock)  # before the start reads the users store into it
        self.bridge.follow_table(station.runtime.values)  # tags shown before the start get theirs now
        station.runtime.subscribe_batch(self.bridge.offer_batch)  # one lock per read, not per tag
        station.runtime.subscribe_status(self.bridge.offer_status)
        self.alarm_feed = self._offer_alarms(station)
        policy = secured(station.access, station.project)  # every protected action: the runtime side
        self.commands = CommandPath(
            station.runtime,
            station.alarms,
            policy=policy,
            audit=station.audit_hook(self._audit),
            signatures=signed(station.signatures, station.access),
        )
        self.station = station
        await station.start()

    def _offer_alarms(self, station: Station) -> AlarmSnapshotFeed:
        """Events to the bridge as they happen; the sorted summary at most once per bridge frame."""
        bridge = self.bridge
        feed = AlarmSnapshotFeed(
            station.alarms, bridge.offer_alarm_event, bridge.offer_alarm_snapshot, bridge.frame_s
        )
        feed.start()
        return feed

    @property
    def history_path(self) -> Path:
        """The history database the station writes (the demo's data folder in demo mode)."""
        if self.demo_data_dir is not None:
            return self.demo_data_dir / "history.db"
        return self.project.history.path

    # -- log-on (GUI thread) ------------------------------------------------------------
    def log_on(self, name: str, password: str) -> concurrent.futures.Future[LogOn]:
        """Log ``name`` on (checked off the GUI thread); on success this session acts as ``name``."""
        return self.runtime_thread.submit(self._log_on(name, password))

    async def _log_on(self, name: str, password: str) -> LogOn:
        station = self.station
        if station is None:
            return LogOn(False, name, reason="the runtime is still starting")
        store = UserStore(users_path())
        result = await asyncio.to_thread(
            log_on, store, station.access, station.audit.record, name, password, "screen"
        )
        if result.ok:
            previous, self.actor = self.actor, name
            if previous != name:
                station.access.log_off(previous)
        return result

    def add_first_administrator(self, name: str, password: str) -> concurrent.futures.Future[LogOn]:
        """First run: create the installation's administrator and act as them from now on."""
        return self.runtime_thread.submit(self._first_administrator(name, password))

    async def _first_administrator(self, name: str, password: str) -> LogOn:
        station = self.station
        if station is None:
            return LogOn(False, name, reason="the runtime is still starting")
        store = UserStore(users_path())
        record = station.audit.record
        result = await asyncio.to_thread(
            add_first_administrator, store, station.access, record, name, password, "screen"
        )
        if result.ok:
            self.actor = name
        return result

    def log_off(self) -> concurrent.futures.Future[None]:
        """The logged-on user leaves; the session acts as the OS user again (a viewer once users exist)."""
        return self.runtime_thread.submit(self._log_off())

    async def _log_off(self) -> None:
        if self.station is not None:
            log_off(self.station.access, self.station.audit.record, self.actor, "screen")
        self.actor = os_user()

    def hand_over(self, name: str, password: str) -> concurrent.futures.Future[LogOn]:
        """Shift hand-over: ``name`` logs on, then the previous user is logged off (both audited).

        Nothing else changes: screens, trends and the alarm view stay as they are. A refused log-on
        leaves the previous user logged on.
        """
        return self.runtime_thread.submit(self._hand_over(name, password))

    async def _hand_over(self, name: str, password: str) -> LogOn:
        station = self.station
        if station is None:
            return LogOn(False, name, reason="the runtime is still starting")
        previous = self.actor
        store = UserStore(users_path())
        result = await asyncio.to_thread(
            log_on, store, station.access, station.audit.record, name, password, "screen"
        )
        if result.ok:
            self.actor = name
            if previous != name:
                log_off(station.access, station.audit.record, previous, "screen")
            entry = change_entry(name, Origin.SCREEN.value, HAND_OVER, name, old=previous, value=name)
            station.audit.record(entry)
        return result

    @property
    def clock(self) -> Callable[[], float]:
        """The clock inactivity is measured with (the policy's)."""
        return self._clock or time.monotonic

    def note_activity(self) -> None:
        """The operator pressed a key or moved the mouse in the window: the idle log-off starts again.

        In memory (the policy is thread-safe), so the GUI thread may call it on input.
        """
        if self.station is not None:
            self.station.access.touch(self.actor)

    def idle_remaining(self) -> float | None:
        """Seconds until the acting user is logged off for inactivity; None when nobody is logged on."""
        return self.station.access.idle_remaining(self.actor) if self.station is not None else None

    @property
    def commissioning(self) -> bool:
        """True while the installation has no users (known once the station has started)."""
        return self.station is not None and self.station.access.commissioning

    # -- operator actions (GUI thread) -----------------------------------------------
    def write(
        self, tag: str, value: Any, *, origin: Origin = Origin.SCREEN, request_id: str | None = None
    ) -> concurrent.futures.Future[CommandResult]:
        """Hand a write to the command path as this session's actor; the future carries the result.

        A :class:`SignedValue` carries what the operator typed to sign: the signature is checked (and
        issued) off the GUI thread first, and only then does the write go to the command path.
        """
        signing = value if isinstance(value, SignedValue) else None
        plain = signing.value if signing is not None else value
        request = WriteRequest(tag, plain, self.actor, origin, id=request_id or new_request_id())
        return self.runtime_thread.submit(self._write(request, signing))

    async def _write(self, request: WriteRequest, signing: SignedValue | None = None) -> CommandResult:
        if self.commands is None or self.station is None:
            return CommandResult(request.id, False, error=f"{request.tag}: the runtime is still starting")
        if signing is not None:
            book, origin = self.station.signatures, request.origin.value
            signature = await asyncio.to_thread(
                book.sign,
                request.tag,
                request.value,
                request.actor,
                signing.form,
                double=signing.double,
                origin=origin,
            )
            if isinstance(signature, str):  # the book audited the refused signature
                return CommandResult(
                    request.id, False, error=f"{request.tag}: signature refused: {signature}"
                )
            request = dataclasses.replace(request, signature=signature)
        return await self.commands.write(request)

    def acknowledge(
        self,
        alarm: str | None,
        *,
        origin: Origin = Origin.SCREEN,
        comment: str = "",
        visible: tuple[str, ...] | None = None,
    ) -> concurrent.futures.Future[CommandResult]:
        """Acknowledge one alarm, or all of them (those ``visible``) when ``alarm`` is None, as this actor."""
        request = AcknowledgeRequest(alarm, self.actor, origin, comment, visible=visible)
        return self.runtime_thread.submit(self._acknowledge(request))

    def alarm_action(
        self, alarm: str, action: AlarmAction, *, reason: str = "", duration: float = 0.0
    ) -> concurrent.futures.Future[CommandResult]:
        """Shelve, unshelve, or take an alarm out of or back into service, as this session's actor."""
        request = AlarmActionRequest(alarm, action, self.actor, Origin.SCREEN, reason, duration)
        return self.runtime_thread.submit(self._alarm_action(request))

    async def _alarm_action(self, request: AlarmActionRequest) -> CommandResult:
        if self.commands is None:
            return CommandResult(request.id, False, error="the runtime is still starting")
        return self.commands.alarm_action(request)

    async def _acknowledge(self, request: AcknowledgeRequest) -> CommandResult:
        # On the runtime loop: the alarm engine lives there.
        if self.commands is None:
            return CommandResult(request.id, False, written=0, error="the runtime is still starting")
        return self.commands.acknowledge(request)

    def diagnostics(self) -> concurrent.futures.Future[dict[str, DriverDiagnostics]]:
        """Every connection's state, last error and traffic figures, taken on the runtime thread."""
        return self.runtime_thread.submit(self._diagnostics())

    async def _diagnostics(self) -> dict[str, DriverDiagnostics]:
        # Runs on the runtime loop, where the drivers live; the GUI only sees the frozen snapshots.
        if self.station is None:
            return {}
        return {name: driver.diagnostics() for name, driver in self.station.runtime.drivers.items()}

    def set_plant_modbus(self, running: bool) -> concurrent.futures.Future[None] | None:
        """Demo only: stop or restart the simulated PLC's Modbus server (to show a comm failure)."""
        if self.plant is None or self.plant_thread is None:
            return None
        action = self.plant.start_modbus() if running else self.plant.stop_modbus()
        return self.plant_thread.submit(action)

    # -- rules (rules view) -------------------------------------------------------------
    def rules_snapshot(self) -> concurrent.futures.Future[RulesSnapshot | None]:
        """Every rule's state and the maintenance list; None when the project has no rules."""
        return self.runtime_thread.submit(self._rules_snapshot())

    async def _rules_snapshot(self) -> RulesSnapshot | None:
        rules = self.station.rules if self.station is not None else None
        return await rules.snapshot() if rules is not None else None

    def set_rule_enabled(self, rule: str, enabled: bool) -> concurrent.futures.Future[None]:
        """Enable or disable one rule at run time (audited)."""

        def change(rules: RulesSource) -> None:
            action = ENABLE_RULE if enabled else DISABLE_RULE
            refused = self._refusal(action, rule, enabled)
            if refused:
                raise PermissionError(refused)
            found = rules.engine.rules.get(rule)
            if found is None:
                self._audit_change(action, rule, value=enabled, error=f"no rule named {rule!r}")
                raise KeyError(rule)
            was = found.state is not RuleState.DISABLED
            rules.engine.set_enabled(rule, enabled)
            self._audit_change(action, rule, value=enabled, old=was)

        return self.runtime_thread.submit(self._on_rules(change))

    # -- configuration changes made from the window (audited) ---------------------------
    def authorise(self, action: str, target: str, value: Any = None) -> str | None:
        """Whether this session's actor may do ``action`` on ``target`` now: why not (audited), or None.

        Decided by the same function the command path and the CLI use (hmi.security.actions), in memory
        and without IO (the policy is thread-safe and the trail's queue never blocks), so the window
        can ask before it touches a file.
        """
        return self._refusal(action, target, value)

    def resend_quarantined(self) -> concurrent.futures.Future[str]:
        """Resend every quarantined sync batch as this session's actor (``resend_sync``); what came of it."""
        return self.runtime_thread.submit(self._resend_quarantined())

    async def _resend_quarantined(self) -> str:
        station = self.station
        if station is None:
            return "Not resent: the runtime is still starting"
        refused = self._refusal(SYNC_RESEND, "all")
        if refused:
            return f"Not allowed to resend: {refused}"
        history, endpoints = self.history_path, dict(station.project.sync)
        batches, results = await asyncio.to_thread(_resend_all, history, endpoints)
        ranges = {b.key: f"{b.endpoint}/{b.stream} {b.seq_first}..{b.seq_last}" for b in batches}
        for result in results:
            error = "" if result.delivered else result.detail
            self._audit_change(SYNC_RESEND, result.key, value=ranges.get(result.key), error=error)
        delivered = sum(result.delivered for result in results)
        if not results:
            return "Nothing is quarantined"
        return f"Resent {delivered} of {len(results)} quarantined batches"

    def _refusal(self, action: str, target: str, value: Any = None) -> str | None:
        station = self.station
        if station is None:
            return "the runtime is still starting"
        origin = Origin.SCREEN.value
        return refusal(
            station.access,
            self.actor,
            action,
            target,
            record=station.audit.record,
            origin=origin,
            value=value,
        )

    def record_change(
        self, action: str, target: str, *, value: Any = None, old: Any = None, error: str = ""
    ) -> concurrent.futures.Future[None]:
        """Audit a configuration change made from the window (a trend saved, a certificate trusted)."""

        async def record() -> None:
            self._audit_change(action, target, value=value, old=old, error=error)

        return self.runtime_thread.submit(record())

    def _audit_change(
        self, action: str, target: str, *, value: Any = None, old: Any = None, error: str = ""
    ) -> None:
        # On the runtime loop: the trail's queue never blocks.
        entry = change_entry(
            self.actor, Origin.SCREEN.value, action, target, value=value, old=old, error=error
        )
        if self.station is None or not self.station.audit.record(entry):
            log.error("a configuration change could not be audited: %s", entry)

    def acknowledge_maintenance(self, event_id: str) -> concurrent.futures.Future[None]:
        """Acknowledge one maintenance event as this session's actor."""
        action = self._on_rules(lambda rules: rules.acknowledge(event_id, self.actor))
        return self.runtime_thread.submit(action)

    async def _on_rules(self, action: Callable[[RulesSource], None]) -> None:
        # On the runtime loop: the rules engine lives there.
        if self.station is not None and self.station.rules is not None:
            action(self.station.rules)

    def set_bearing_wear(self, wearing: bool) -> concurrent.futures.Future[None] | None:
        """Demo only: the pump's bearing starts wearing out, or a new one is fitted."""
        if self.plant is None or self.plant_thread is None:
            return None
        return self.plant_thread.submit(self.plant.set_bearing_wear(wearing))

    def start_alarm_flood(self) -> concurrent.futures.Future[None] | None:
        """Demo only: a surge swings the level and flow readings and floods the alarms (about 20 in 40 s)."""
        if self.plant is None or self.plant_thread is None:
            return None
        return self.plant_thread.submit(self.plant.start_surge())

    # -- shutdown ----------------------------------------------------------------------
    def stop(self) -> None:
        """Stop the station (flushing history) and the plant, then the loop threads. Bounded; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self.bridge.stop()
        try:
            if self.started is not None:
                self.started.result(timeout=STOP_TIMEOUT)
        except Exception:
            log.exception("runtime failed to start")
        if self.alarm_feed is not None:
            try:
                self.runtime_thread.call(self.alarm_feed.stop(), timeout=STOP_TIMEOUT)
            except Exception:
                log.exception("alarm feed did not stop cleanly")
        if self.station is not None:
            try:
                self.runtime_thread.call(self.station.stop(), timeout=STOP_TIMEOUT)
            except Exception:
                log.exception("runtime did not stop cleanly")
        if self.plant is not None and self.plant_thread is not None:
            try:
                self.plant_thread.call(self.plant.stop(), timeout=STOP_TIMEOUT)
            except Exception:
                log.exception("demo plant did not stop cleanly")
        self.runtime_thread.stop()
        if self.plant_thread is not None:
            self.plant_thread.stop()


def _resend_all(history: Path, endpoints: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """Every quarantined batch and what its resend came to; blocking (SQLite, HTTP): a thread of its own."""
    from hmi.sync.outbox import Outbox, outbox_path
    from hmi.sync.resend import resend

    outbox = Outbox(outbox_path(history))
    try:
        batches = outbox.quarantined()
        return batches, asyncio.run(resend(outbox, endpoints, batches)) if batches else []
    finally:
        outbox.close()
