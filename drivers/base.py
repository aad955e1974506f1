"""The shape every driver shares: a supervised connection with explicit state and backoff.

A driver owns one connection. ``start()`` launches a named supervisor task that
connects, serves (polls or subscribes) until the link fails, marks every tag bad
with the reason, backs off with capped exponential delay plus jitter, and tries
again. Subclasses implement ``_connect``, ``_serve``, ``_disconnect`` and ``write``.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from hmi.model import (
    ConnectionState,
    ConnectionStatus,
    DriverDiagnostics,
    DriverError,
    Reason,
    Sample,
    StalePolicy,
    TagDef,
    driver_error_of,
)

SampleSink = Callable[[str, Sample], None]
"""Receives (tag name, sample) on the runtime loop. Must not block or do IO."""

BatchSink = Callable[[Sequence[tuple[str, Sample]]], None]
"""Receives many (tag name, sample) pairs at once (a read block's), on the runtime loop; same rules."""

StatusSink = Callable[[ConnectionStatus], None]
"""Receives every connection state change on the runtime loop."""

RefreshSink = Callable[[Sequence[str]], None]
"""Receives the names of every tag one successful read covered, after the samples of those that changed:
all of them are fresh. A polling driver passes the same tuple for the same block on every read, so that a
consumer can track freshness per block rather than per tag."""

log = logging.getLogger(__name__)


class Backoff:
    """Capped exponential backoff with jitter, so that many clients do not retry in lockstep."""

    def __init__(self, initial: float = 0.5, maximum: float = 10.0, jitter: float = 0.2) -> None:
        self.initial = initial
        self.maximum = maximum
        self.jitter = jitter
        self._next = initial

    def next_delay(self) -> float:
        """The delay to wait now; doubles the one after, up to ``maximum``."""
        delay = self._next
        self._next = min(self._next * 2, self.maximum)
        return delay * (1 + random.uniform(-self.jitter, self.jitter))

    def reset(self) -> None:
        """Start again from ``initial`` after a successful connection."""
        self._next = self.initial


class Driver(abc.ABC):
    """One connection to one PLC or server, publishing samples for its tags."""

    reports_every_scan: bool = True
    """True when the driver publishes a sample on every successful read, changed or not (polling), so
    a value not refreshed within a few scan periods is stale. Subscription drivers publish changes only
    and prove freshness through their keep-alive instead."""

    def __init__(
        self,
        name: str,
        tags: Sequence[TagDef],
        on_sample: SampleSink,
        on_status: StatusSink,
        backoff: Backoff | None = None,
        stale: StalePolicy | None = None,
    ) -> None:
        self.name = name
        self.stale = stale or StalePolicy()
        """The runtime's rule for stale values, which a driver must not outwit by re-sending old samples."""
        self.tags = list(tags)
        self._on_sample = on_sample
        self._on_status = on_status
        self.on_refresh: RefreshSink | None = None
        """Set by a consumer that tracks freshness itself; without it, unchanged samples are re-sent."""
        self.on_samples: BatchSink | None = None
        """Set by a consumer that takes samples in batches; without it, each goes through ``on_sample``."""
        self._backoff = backoff or Backoff()
        self._task: asyncio.Task[None] | None = None
        self._status = ConnectionStatus(name, ConnectionState.STOPPED)

    @property
    def status(self) -> ConnectionStatus:
        """The connection state now, with the last error."""
        return self._status

    async def start(self) -> None:
        """Launch the supervisor task and return at once; values arrive through ``on_sample``."""
        if self._task is None:
            now = time.time()
            self.publish_batch([(tag.name, Sample.bad(Reason.WAITING, ts=now)) for tag in self.tags])
            self._task = asyncio.create_task(self._supervise(), name=f"driver:{self.name}")

    async def stop(self) -> None:
        """Cancel the supervisor, close the link and mark every tag not connected."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._mark_all_bad(Reason.NOT_CONNECTED)
        self._set_state(ConnectionState.STOPPED)

    def diagnostics(self) -> DriverDiagnostics:
        """A snapshot of the connection's figures; each kind returns its own subclass with more of them."""
        return DriverDiagnostics(state=self.status.state, last_error=self.status.last_error)

    @abc.abstractmethod
    async def write(self, tag: TagDef, value: Any) -> None:
        """Write ``value`` (already validated against the tag's type and limits) to the device.

        Raises ``hmi.model.WriteError`` with a message for the operator on failure.
        """

    @abc.abstractmethod
    async def _connect(self) -> None:
        """Open the link; raise on failure."""

    @abc.abstractmethod
    async def _serve(self) -> None:
        """Poll or subscribe until the link fails (raise) or the task is cancelled."""

    @abc.abstractmethod
    async def _disconnect(self) -> None:
        """Close the link; must not raise."""

    def publish(self, tag: str, sample: Sample) -> None:
        """Hand one sample to the runtime."""
        self._on_sample(tag, sample)

    def publish_batch(self, batch: Sequence[tuple[str, Sample]]) -> None:
        """Hand many samples to the runtime at once (through ``on_sample`` one by one without a batch sink).

        Samples in a batch do not vouch for freshness by themselves: a polling driver reports every
        read's tags through ``on_refresh`` as well (see ``RefreshSink``).
        """
        if self.on_samples is not None:
            self.on_samples(batch)
        else:
            on_sample = self._on_sample
            for name, sample in batch:
                on_sample(name, sample)

    def _mark_all_bad(self, reason: Reason) -> None:
        now = time.time()
        self.publish_batch(
            [(tag.name, Sample.bad(self._bad_reason(tag, reason), ts=now)) for tag in self.tags]
        )

    def _bad_reason(self, tag: TagDef, reason: Reason) -> Reason:
        """The reason shown for ``tag`` when the link fails (a driver may keep a config error instead)."""
        return reason

    def _set_state(
        self,
        state: ConnectionState,
        error: str = "",
        retry_in: float = 0.0,
        structured: DriverError | None = None,
    ) -> None:
        if state != self._status.state or error != self._status.last_error:
            self._status = ConnectionStatus(self.name, state, error, time.time(), retry_in, structured)
            self._on_status(self._status)

    async def _supervise(self) -> None:
        while True:
            previous = self._status
            self._set_state(ConnectionState.CONNECTING, previous.last_error, structured=previous.error)
            structured: DriverError | None = None
            reason = Reason.COMM_FAILURE
            try:
                await self._connect()
                self._set_state(ConnectionState.CONNECTED)
                self._backoff.reset()
                await self._serve()
                error = "link closed"
            except asyncio.CancelledError:
                await self._disconnect()
                raise
            except Exception as exc:  # any failure of the link is reported, never fatal
                error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                structured = driver_error_of(exc)
                # A driver's error may say better what the tags suffer from (a protocol error).
                said = getattr(exc, "reason", None)  # only our Reason: ssl and urllib errors carry text
                reason = said if isinstance(said, Reason) and said else Reason.COMM_FAILURE
            await self._disconnect()
            self._mark_all_bad(reason)
            delay = self._backoff.next_delay()
            log.warning("%s: %s; retrying in %.1f s", self.name, error, delay)
            self._set_state(ConnectionState.BACKING_OFF, error, delay, structured)
            await asyncio.sleep(delay)
