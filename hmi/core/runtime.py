"""The tag engine: owns the drivers, the current-value table and the fan-out to consumers.

Pure asyncio, no Qt. Headless it runs under ``asyncio.run``; in the GUI it runs on
its own loop thread (``hmi.core.loop_thread.LoopThread``) so that a slow paint never delays a poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from drivers.base import Driver
from hmi.core.write_check import coerce_for_write
from hmi.model import ConnectionStatus, Quality, Reason, Sample, TagDef, WriteError
from hmi.project.config import ConnectionConfig, Project

SampleListener = Callable[[str, Sample], None]
"""Called on the runtime loop for every change of a tag; must not block or do IO."""

StatusListener = Callable[[ConnectionStatus], None]

log = logging.getLogger(__name__)

STALE_AFTER_PERIODS = 3
"""A good value not refreshed within this many scan periods (at least 2 s) turns uncertain/stale."""


def create_driver(
    config: ConnectionConfig,
    tags: list[TagDef],
    on_sample: Callable[[str, Sample], None],
    on_status: StatusListener,
) -> Driver:
    """Build the driver a connection names. Imported lazily so a Modbus-only plant never loads asyncua."""
    if config.driver == "modbus":
        from drivers.modbus import ModbusDriver

        return ModbusDriver(config.name, config.settings, tags, on_sample, on_status)
    if config.driver == "opcua":
        from drivers.opcua import OpcUaDriver
        from hmi.core.certs import resolve_pki_dir

        pki_dir = resolve_pki_dir(config.settings.pki_dir)
        return OpcUaDriver(config.name, config.settings, tags, on_sample, on_status, pki_dir=pki_dir)
    raise ValueError(f"connection {config.name!r}: unknown driver {config.driver!r}")


class TagRuntime:
    """Current values of every tag, fed by the drivers and fanned out to listeners on change."""

    def __init__(
        self,
        project: Project,
        driver_factory: Callable[..., Driver] = create_driver,
    ) -> None:
        self.project = project
        self.values: dict[str, Sample] = {
            name: Sample.bad(Reason.WAITING, ts=time.time()) for name in project.tags
        }
        self.statuses: dict[str, ConnectionStatus] = {}
        self._refreshed: dict[str, float] = {}
        self._sample_listeners: list[SampleListener] = []
        self._status_listeners: list[StatusListener] = []
        self._drivers: dict[str, Driver] = {}
        self._driver_factory = driver_factory
        self._watchdog: asyncio.Task[None] | None = None
        self._polled: set[str] = set()
        self.listener_errors = 0

    # -- consumers -------------------------------------------------------------
    def subscribe(self, listener: SampleListener) -> Callable[[], None]:
        """Receive every change of every tag; returns the function that unsubscribes."""
        self._sample_listeners.append(listener)
        return lambda: self._sample_listeners.remove(listener)

    def subscribe_status(self, listener: StatusListener) -> Callable[[], None]:
        """Receive every connection state change; returns the function that unsubscribes."""
        self._status_listeners.append(listener)
        return lambda: self._status_listeners.remove(listener)

    @property
    def drivers(self) -> dict[str, Driver]:
        """The running drivers by connection name (for diagnostics)."""
        return dict(self._drivers)

    # -- life cycle ------------------------------------------------------------
    async def start(self) -> None:
        """Create and start a driver for each connection that has tags, and the stale watchdog."""
        for name, config in self.project.connections.items():
            tags = [t for t in self.project.tags.values() if t.connection == name]
            driver = self._driver_factory(config, tags, self._on_driver_sample, self._on_status)
            driver.on_refresh = self._on_driver_refresh
            self._drivers[name] = driver
            self.statuses[name] = driver.status
            if driver.reports_every_scan:
                self._polled.update(t.name for t in tags)
            await driver.start()
        self._watchdog = asyncio.create_task(self._watch_staleness(), name="runtime:stale-watchdog")

    async def stop(self) -> None:
        """Stop the watchdog and every driver; tags end bad/not connected."""
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None
        await asyncio.gather(*(d.stop() for d in self._drivers.values()), return_exceptions=True)

    # -- writes ----------------------------------------------------------------
    async def write(self, tag_name: str, value: Any) -> Any:
        """Validate and write one value; returns the value as written. Raises WriteError for the operator."""
        tag = self.project.tags.get(tag_name)
        if tag is None:
            raise WriteError(f"{tag_name}: no such tag")
        coerced = coerce_for_write(tag, value)
        driver = self._drivers.get(tag.connection or "")
        if driver is None:
            raise WriteError(f"{tag_name}: connection {tag.connection!r} is not running")
        log.info("write %s = %r", tag_name, coerced)
        await driver.write(tag, coerced)
        return coerced

    # -- driver side -----------------------------------------------------------
    def _on_driver_refresh(self, names: Sequence[str]) -> None:
        """Tags read again, unchanged: only their freshness moves (a C-level update, no per-tag Python)."""
        self._refreshed.update(dict.fromkeys(names, time.monotonic()))

    def _on_driver_sample(self, tag_name: str, sample: Sample) -> None:
        tag = self.project.tags.get(tag_name)
        if tag is None:
            return
        previous = self.values.get(tag_name)
        if sample.quality is Quality.GOOD:
            self._refreshed[tag_name] = time.monotonic()
        elif sample.value is None and previous is not None and previous.value is not None:
            # Keep the last known value beside the bad quality so a screen can show it as such.
            sample = Sample(previous.value, sample.quality, sample.ts, sample.reason)
        if previous is not None and not _changed(tag, previous, sample):
            return
        self.values[tag_name] = sample
        self._fan_out(tag_name, sample)

    def _fan_out(self, tag_name: str, sample: Sample) -> None:
        for listener in list(self._sample_listeners):
            try:
                listener(tag_name, sample)
            except Exception:  # one broken consumer must not starve the others
                self.listener_errors += 1
                log.exception("sample listener failed for %s", tag_name)

    def _on_status(self, status: ConnectionStatus) -> None:
        self.statuses[status.name] = status
        for listener in list(self._status_listeners):
            try:
                listener(status)
            except Exception:
                self.listener_errors += 1
                log.exception("status listener failed for %s", status.name)

    async def _watch_staleness(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            now = time.monotonic()
            for name, sample in list(self.values.items()):
                if sample.quality is not Quality.GOOD or name not in self._polled:
                    continue
                tag = self.project.tags[name]
                allowed = max(STALE_AFTER_PERIODS * tag.scan_period, 2.0)
                if now - self._refreshed.get(name, now) > allowed:
                    stale = sample.with_quality(Quality.UNCERTAIN, Reason.STALE)
                    self.values[name] = stale
                    self._fan_out(name, stale)


def _changed(tag: TagDef, old: Sample, new: Sample) -> bool:
    """True when ``new`` must fan out: quality or reason changed, or the value moved past the deadband."""
    if old.quality is not new.quality or old.reason is not new.reason:
        return True
    if tag.type.is_numeric and _both_numbers(old.value, new.value):
        delta = abs(new.value - old.value)  # int - int stays exact: 2**60 + 1 differs from 2**60
        return delta > tag.deadband if tag.deadband > 0 else delta != 0
    return bool(new.value != old.value)


def _both_numbers(a: Any, b: Any) -> bool:
    return (
        isinstance(a, int | float)
        and isinstance(b, int | float)
        and not (isinstance(a, float) and math.isnan(a))
        and not (isinstance(b, float) and math.isnan(b))
    )
