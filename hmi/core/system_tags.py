"""The station's own state as tags: history health and the state of every connection's link.

Names and types come from ``hmi.project.system_tags``, which the project loader validates against.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from drivers.tasks import cancel_and_wait
from hmi.core.tag_source import TagSource
from hmi.model import ConnectionState, ConnectionStatus, Reason, Sample
from hmi.project.system_tags import (
    HISTORY_AVAILABLE,
    HISTORY_BACKLOG,
    HISTORY_DISK_FULL,
    HISTORY_OK,
    RUNTIME_ERRORS,
    link_state,
    link_up,
    system_tag_defs,
)

log = logging.getLogger(__name__)

HistoryStats = Callable[[], Mapping[str, Any]]
"""A cheap, thread-safe snapshot of the history writer's counters (``HistoryWriter.stats``).

An ``available`` key set false says the store could not be opened at all (the station runs without it)."""

ErrorCount = Callable[[], int]
"""How many failures the runtime's isolated parts (alarms, listeners) have survived so far."""

SubscribeStatus = Callable[[Callable[[ConnectionStatus], None]], Callable[[], None]]
"""Registers a connection status listener, returning the function that unregisters it."""

HISTORY_CHECK_EVERY = 1.0


class SystemTags(TagSource):
    """Publishes ``SYSTEM.HISTORY.*`` from the history writer's counters and ``SYSTEM.LINK.<c>.*`` from
    connection state changes."""

    def __init__(
        self,
        connections: Sequence[str],
        history_stats: HistoryStats,
        subscribe_status: SubscribeStatus,
        every: float = HISTORY_CHECK_EVERY,
        runtime_errors: ErrorCount | None = None,
    ) -> None:
        super().__init__("system", list(system_tag_defs(connections).values()))
        self._runtime_errors = runtime_errors
        self.connections = list(connections)
        self._history_stats = history_stats
        self._subscribe_status = subscribe_status
        self._every = every
        self._unsubscribe: Callable[[], None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._settled: set[str] = set()  # connections whose first attempt has ended

    async def _start(self) -> None:
        # Subscribed before any driver starts (the runtime starts sources first): no state change is missed.
        self._unsubscribe = self._subscribe_status(self.on_status)
        for connection in self.connections:
            self.on_status(ConnectionStatus(connection, ConnectionState.STOPPED))
        self._task = asyncio.create_task(self._watch_history(), name="system-tags:history")

    async def _stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._task is not None:
            await cancel_and_wait([self._task])
            self._task = None

    def on_status(self, status: ConnectionStatus) -> None:
        """A connection changed state. Its link is up or down once its first attempt has ended; before
        that it is not known (no nuisance 'link down' at every start), and a stopped link is not down
        but not running (bad, not connected)."""
        name = status.name
        if name not in self.connections:
            return
        state = status.state
        if state is ConnectionState.STOPPED:
            self._settled.discard(name)
            self.publish(link_up(name), Sample.bad(Reason.NOT_CONNECTED, ts=status.since))
        elif state is ConnectionState.CONNECTING and name not in self._settled:
            self.publish(link_up(name), Sample.bad(Reason.WAITING, ts=status.since))
        else:
            self._settled.add(name)
            self.publish(link_up(name), Sample.good(state is ConnectionState.CONNECTED, status.since))
        self.publish(link_state(name), Sample.good(state.value, status.since))

    def check_history(self) -> None:
        """Publish the history writer's health now."""
        try:
            stats = self._history_stats()
        except Exception:  # the writer's own failure must still show, as a bad value
            log.exception("history counters unreadable")
            for name in (HISTORY_DISK_FULL, HISTORY_BACKLOG, HISTORY_OK):
                self.publish(name, Sample.bad(Reason.DEVICE_FAILURE))
            # Unreadable counters are themselves a broken history: a good False raises its alarm.
            self.publish(HISTORY_AVAILABLE, Sample.good(False))
            return
        full = bool(stats.get("disk_full"))
        running = bool(stats.get("running"))
        failing = bool(stats.get("failing"))
        self.publish(HISTORY_DISK_FULL, Sample.good(full))
        self.publish(HISTORY_BACKLOG, Sample.good(int(stats.get("pending", 0))))
        healthy = running and not failing and not full and not stats.get("fault")
        self.publish(HISTORY_OK, Sample.good(healthy))
        # A full disk has its own alarm; anything else that stops history being recorded is this one.
        available = (
            stats.get("available", True) and running and not stats.get("fault") and (full or not failing)
        )
        self.publish(HISTORY_AVAILABLE, Sample.good(bool(available)))

    def check_runtime(self) -> None:
        """Publish how many failures the runtime's isolated parts have survived."""
        if self._runtime_errors is None:
            return
        try:
            count = int(self._runtime_errors())
        except Exception:
            log.exception("runtime error counters unreadable")
            self.publish(RUNTIME_ERRORS, Sample.bad(Reason.DEVICE_FAILURE))
            return
        self.publish(RUNTIME_ERRORS, Sample.good(count))

    async def _watch_history(self) -> None:
        while True:
            self.check_history()
            self.check_runtime()
            await asyncio.sleep(self._every)
