"""A driver in the runtime that runs the real one in an acquisition process.

:class:`ProcessDriver` is a ``drivers.base.Driver`` to the runtime: ``start``, ``stop``, ``write``,
``status``, ``diagnostics`` and ``on_refresh`` mean what they mean for any driver. Its samples come
from the process in batches (see :mod:`hmi.core.acquisition.wire`) and are published one by one to
``on_sample``, or handed over as one list to ``on_samples`` when a consumer sets that batch callback.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any

from drivers.base import Driver, SampleSink, StatusSink
from hmi.core.acquisition import wire
from hmi.core.acquisition.worker import WorkerProcess
from hmi.model import (
    ConnectionState,
    ConnectionStatus,
    DriverDiagnostics,
    Quality,
    Reason,
    Sample,
    StalePolicy,
    TagDef,
    WriteError,
)
from hmi.project.config import ConnectionConfig

BatchSink = Callable[[Sequence[tuple[str, Sample]]], None]
"""Receives one batch of (tag name, sample) on the runtime loop, in the order the driver published them."""

GoodValuesSink = Callable[[Sequence[str], Sequence[int], Sequence[Any], float], None]
"""Receives a read's good values as they crossed the pipe: the connection's tag names, the indices into
them, the values, and the read's one timestamp; builds the samples itself (the runtime, in one pass)."""

WRITE_TIMEOUT_S = 30.0
"""A write the process has not answered by then fails (the driver's own timeouts answer long before)."""

_GOOD = Quality.GOOD
_QUALITIES = {int(q): q for q in Quality}


class ProcessDriver(Driver):
    """The runtime's side of one connection whose driver runs in ``worker``'s process."""

    def __init__(
        self,
        config: ConnectionConfig,
        conn_id: int,
        tags: Sequence[TagDef],
        on_sample: SampleSink,
        on_status: StatusSink,
        worker: WorkerProcess,
        stale: StalePolicy | None = None,
    ) -> None:
        super().__init__(config.name, tags, on_sample, on_status, stale=stale)
        self.config = config
        self.conn_id = conn_id
        self.worker = worker
        self.on_samples: BatchSink | None = None
        """Set by a consumer that takes a batch at once; without it, samples go one by one to on_sample."""
        self.on_good_values: GoodValuesSink | None = None
        """Set by a consumer that takes a read's good values as columns (before ``on_samples``)."""
        self.reports_every_scan = _reports_every_scan(config)
        self._names = tuple(tag.name for tag in self.tags)
        self._index = {name: n for n, name in enumerate(self._names)}
        self._blocks: dict[int, tuple[str, ...]] = {}
        self._diagnostics: DriverDiagnostics | None = None
        self._started = False

    def open_message(self) -> tuple[Any, ...]:
        """What the process needs to build this connection's driver (sent again after a restart)."""
        self._blocks.clear()  # block ids are the process's own: a new process names them anew
        wants_refresh = self.on_refresh is not None
        return (wire.OPEN, self.conn_id, self.config, self.tags, self.stale, wants_refresh)

    # ------------------------------------------------------------------ Driver

    async def start(self) -> None:
        """Hand the connection to the process; tags wait for their first value meanwhile."""
        if self._started:
            return
        self._started = True
        now = time.time()
        for name in self._names:
            self._on_sample(name, Sample.bad(Reason.WAITING, ts=now))
        self._set_state(ConnectionState.CONNECTING)
        self.worker.attach(self)

    async def stop(self) -> None:
        """Stop the connection in the process (the last one ends it); tags end not connected."""
        if not self._started:
            return
        self._started = False
        await self.worker.detach(self)
        self._mark_all_bad(Reason.NOT_CONNECTED)
        self._set_state(ConnectionState.STOPPED)

    async def write(self, tag: TagDef, value: Any) -> None:
        """Write through the process's driver; its ``WriteError`` comes back as ours."""
        index = self._index.get(tag.name)
        if index is None:
            raise WriteError(f"{tag.name}: not a tag of connection {self.name}")
        if not self._started:
            raise WriteError(f"{tag.name}: not connected")
        try:
            error = await self.worker.request((wire.WRITE, None, self.conn_id, index, value), WRITE_TIMEOUT_S)
        except WriteError as exc:
            raise WriteError(f"{tag.name}: {exc}") from None
        if error is not None:
            raise WriteError(error)

    def diagnostics(self) -> DriverDiagnostics:
        """The process's latest figures (sent every second), with the state as the runtime sees it."""
        status = self.status
        if self._diagnostics is None:
            return DriverDiagnostics(state=status.state, last_error=status.last_error)
        return dataclasses.replace(self._diagnostics, state=status.state)

    @property
    def pid(self) -> int | None:
        """The process that runs the driver now (None while it is being restarted)."""
        return self.worker.pid

    async def _connect(self) -> None:  # the process's driver connects; never called here
        raise NotImplementedError

    async def _serve(self) -> None:
        raise NotImplementedError

    async def _disconnect(self) -> None:
        return None

    # ------------------------------------------------------------------ from the process

    def deliver_good(self, indices: list[int], values: list[Any], stamps: float | list[float]) -> None:
        """Good samples of one batch; ``stamps`` one timestamp for all (a driver's read) or one each."""
        names = self._names
        if isinstance(stamps, float):
            columns = self.on_good_values
            if columns is not None:  # the runtime builds each Sample in its own pass over the read
                columns(names, indices, values, stamps)
                return
            samples = Sample.many_good(values, stamps)
        else:
            samples = [Sample(v, _GOOD, t) for v, t in zip(values, stamps, strict=True)]
        tags = list(map(names.__getitem__, indices))
        batch = self.on_samples
        if batch is not None:
            batch(list(zip(tags, samples, strict=True)))
            return
        publish = self._on_sample
        for name, sample in zip(tags, samples, strict=True):
            publish(name, sample)

    def deliver_other(self, index: int, value: Any, quality: int, ts: float, reason: str) -> None:
        """A sample that is not simply good."""
        sample = Sample(value, _QUALITIES[quality], ts, Reason(reason))
        if self.on_samples is not None:
            self.on_samples([(self._names[index], sample)])
        else:
            self._on_sample(self._names[index], sample)

    def deliver_refresh(self, block: int, indices: list[int] | None) -> None:
        """A block read again unchanged: the names are sent once per block, then only its id."""
        if indices is not None:
            self._blocks[block] = tuple(self._names[i] for i in indices)
        names = self._blocks.get(block)
        if names is not None and self.on_refresh is not None:
            self.on_refresh(names)

    def deliver_status(self, status: ConnectionStatus) -> None:
        """The process's driver changed state."""
        if self._started:
            self._status = status
            self._on_status(status)

    def deliver_diagnostics(self, diagnostics: DriverDiagnostics) -> None:
        """The process's driver's latest figures."""
        self._diagnostics = diagnostics

    def process_lost(self, error: str, retry_in: float) -> None:
        """The process ended unasked: every tag is bad until the restarted driver reads it again."""
        self._blocks.clear()
        self._mark_all_bad(Reason.COMM_FAILURE)
        self._set_state(ConnectionState.BACKING_OFF, error, retry_in)


def _reports_every_scan(config: ConnectionConfig) -> bool:
    """Whether the connection's own driver polls (publishes every read), as the runtime's watchdog asks."""
    from drivers import registry

    return registry.get(config.driver).reports_every_scan
