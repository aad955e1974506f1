"""The acquisition process: real drivers on their own asyncio loop, batches of samples to the runtime.

Started by :class:`hmi.core.acquisition.worker.WorkerProcess` through multiprocessing's ``spawn``
context (the same on Windows and Linux), it builds each connection's driver with the runtime's own
factory (:func:`hmi.core.runtime.create_driver`), so a process-hosted driver is the very driver the
runtime would run in process. A thread reads the pipe; when it closes, the runtime's process is gone
and this one stops its drivers and ends (and ends hard if the drivers do not stop in time).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from operator import attrgetter
from typing import Any

from drivers.base import Driver
from hmi.core.acquisition import wire
from hmi.core.heap import freeze_start_up_heap
from hmi.model import ConnectionState, ConnectionStatus, Quality, Reason, Sample, WriteError

log = logging.getLogger(__name__)

_QUALITY_AND_REASON = attrgetter("quality", "reason")
_VALUE, _TS = attrgetter("value"), attrgetter("ts")
_PLAIN_GOOD = {(Quality.GOOD, Reason.NONE)}

FLUSH_DELAY_S = 0.01
"""How long samples wait to share one message: a few block reads, far below any scan period. Each
message wakes the runtime's reader thread and then its loop; fewer, larger ones cost less."""
MAX_BATCH = 10_000
"""A batch this large goes at once, so that one message stays a few hundred kilobytes."""
DIAGNOSTICS_EVERY_S = 1.0
ORPHAN_GRACE_S = 5.0
"""After the runtime's process is gone, the drivers get this long to close their links; then we end."""


class Outbox:
    """Collects what the drivers publish and sends it as one message per flush."""

    def __init__(self, conn: Connection, loop: asyncio.AbstractEventLoop) -> None:
        self._conn = conn
        self._loop = loop
        self._goods: dict[int, tuple[list[int], list[Any], list[float]]] = {}
        self._blocks: list[tuple[int, list[int], list[Any], float | list[float]]] = []
        self._others: list[tuple[int, int, Any, int, float, str]] = []
        self._refreshes: list[tuple[int, int, list[int] | None]] = []
        self._scheduled: asyncio.TimerHandle | None = None
        self._pending = 0
        self.sent = 0

    def good(self, conn: int, index: int, value: Any, ts: float) -> None:
        """A good sample (the bulk of the traffic)."""
        lists = self._goods.get(conn)
        if lists is None:
            lists = self._goods[conn] = ([], [], [])
        lists[0].append(index)
        lists[1].append(value)
        lists[2].append(ts)
        self._pending += 1
        if self._pending >= MAX_BATCH:
            self.flush()
        else:
            self._schedule()

    def good_batch(self, conn: int, indices: list[int], values: list[Any], stamps: list[float]) -> None:
        """The good samples of one driver batch; one timestamp travels once when they share it (a read)."""
        singles = self._goods.pop(conn, None)
        if singles is not None:  # samples published one by one before this batch stay before it
            self._blocks.append((conn, *singles))
        shared = stamps[0]
        one_stamp = stamps.count(shared) == len(stamps)
        self._blocks.append((conn, indices, values, shared if one_stamp else stamps))
        self._pending += len(indices)
        if self._pending >= MAX_BATCH:
            self.flush()
        else:
            self._schedule()

    def other(self, conn: int, index: int, sample: Sample) -> None:
        """A sample that is not simply good: its quality and reason travel with it."""
        self._others.append((conn, index, sample.value, int(sample.quality), sample.ts, str(sample.reason)))
        self._schedule()

    def refresh(self, conn: int, block: int, indices: list[int] | None) -> None:
        """A block read again unchanged; ``indices`` only the first time the block is named."""
        self._refreshes.append((conn, block, indices))
        self._schedule()

    def send(self, message: tuple[Any, ...]) -> None:
        """Send ``message`` after everything collected before it, so the runtime sees them in order."""
        self.flush()
        self._write(message)

    def flush(self) -> None:
        """Send what is collected now."""
        if self._scheduled is not None:
            self._scheduled.cancel()
            self._scheduled = None
        if not (self._goods or self._blocks or self._others or self._refreshes):
            return
        goods = [(conn, *lists) for conn, lists in self._goods.items()]
        message = (wire.BATCH, [*self._blocks, *goods], self._others, self._refreshes)
        self._goods, self._blocks, self._others, self._refreshes, self._pending = {}, [], [], [], 0
        self._write(message)

    def _schedule(self) -> None:
        if self._scheduled is None:
            self._scheduled = self._loop.call_later(FLUSH_DELAY_S, self.flush)

    def _write(self, message: tuple[Any, ...]) -> None:
        # Blocks while the runtime's reader is behind: the drivers then slow down (their scans count
        # overruns) rather than this process piling up samples without bound.
        try:
            self._conn.send_bytes(wire.encode(message))
            self.sent += 1
        except (OSError, EOFError):
            pass  # the runtime is gone: the pipe reader ends this process


class HostedConnection:
    """One connection's driver in this process, and its sinks that turn samples into messages."""

    def __init__(
        self, conn: int, driver_of: Callable[..., Driver], outbox: Outbox, args: tuple[Any, ...]
    ) -> None:
        config, tags, stale, wants_refresh = args
        self.conn = conn
        self.tags = list(tags)
        self._outbox = outbox
        self._index = {tag.name: n for n, tag in enumerate(self.tags)}
        self._blocks: dict[tuple[str, ...], int] = {}
        self._starting = False
        self.driver = driver_of(config, self.tags, self._on_sample, self._on_status, stale=stale)
        self.driver.on_refresh = self._on_refresh if wants_refresh else None
        self.driver.on_samples = self._on_samples  # a read's changed tags cross the pipe as one block

    async def start(self) -> None:
        """Start the driver, keeping its 'waiting' burst here: the runtime's side said so at its own start,
        and after a restart its tags must read comm failure until the new driver has values."""
        self._starting = True
        try:
            await self.driver.start()
        finally:
            self._starting = False

    def _on_sample(self, name: str, sample: Sample) -> None:
        index = self._index.get(name)
        if index is None or (self._starting and sample.reason is Reason.WAITING):
            return
        if sample.quality is Quality.GOOD and sample.reason is Reason.NONE:
            self._outbox.good(self.conn, index, sample.value, sample.ts)
        else:
            self._outbox.other(self.conn, index, sample)

    def _on_samples(self, batch: Sequence[tuple[str, Sample]]) -> None:
        if not batch:
            return
        names, samples = zip(*batch, strict=True)
        if not self._starting and set(map(_QUALITY_AND_REASON, samples)) == _PLAIN_GOOD:
            try:
                indices = list(map(self._index.__getitem__, names))
            except KeyError:
                pass  # a name this connection does not carry: the general path drops it
            else:  # the common case, a read's changed tags, at C speed
                values = list(map(_VALUE, samples))
                self._outbox.good_batch(self.conn, indices, values, list(map(_TS, samples)))
                return
        for name, sample in batch:
            self._on_sample(name, sample)

    def _on_refresh(self, names: Sequence[str]) -> None:
        key = tuple(names)
        block = self._blocks.get(key)
        if block is None:
            block = self._blocks[key] = len(self._blocks)
            self._outbox.refresh(self.conn, block, [self._index[name] for name in key if name in self._index])
        else:
            self._outbox.refresh(self.conn, block, None)

    def _on_status(self, status: ConnectionStatus) -> None:
        self._outbox.send((wire.STATUS, self.conn, status))

    def diagnostics(self) -> tuple[Any, ...]:
        """The driver's figures as a message."""
        return (wire.DIAGNOSTICS, self.conn, self.driver.diagnostics())


class AcquisitionHost:
    """Runs the connections the runtime opens here until it says EXIT or its process is gone."""

    def __init__(self, conn: Connection, loop: asyncio.AbstractEventLoop) -> None:
        self._conn = conn
        self._loop = loop
        self.outbox = Outbox(conn, loop)
        self._inbox: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()
        self._connections: dict[int, HostedConnection] = {}
        self._writes: set[asyncio.Task[None]] = set()
        self._hosted_tags = 0

    def read_pipe(self) -> None:
        """The pipe reader thread: hands each message to the loop; on EOF the runtime is gone."""
        while True:
            try:
                message = wire.decode(self._conn.recv_bytes())
            except (EOFError, OSError):
                break
            self._loop.call_soon_threadsafe(self._inbox.put_nowait, message)
        with contextlib.suppress(RuntimeError):  # the loop has already ended
            self._loop.call_soon_threadsafe(self._inbox.put_nowait, (wire.EXIT,))
        # Never outlive the runtime: if the drivers do not stop in time, end the process anyway.
        time.sleep(ORPHAN_GRACE_S)
        os._exit(1)

    async def serve(self) -> None:
        """Handle messages until EXIT, then stop every driver."""
        from hmi.core.runtime import create_driver  # the runtime's own factory, in this process only

        diagnostics = asyncio.create_task(self._report_diagnostics(), name="acquisition:diagnostics")
        self.outbox.send((wire.READY, os.getpid()))
        try:
            while True:
                message = await self._inbox.get()
                kind = message[0]
                if kind == wire.EXIT:
                    break
                if kind == wire.OPEN:
                    await self._open(message[1], create_driver, message[2:])
                elif kind == wire.CLOSE:
                    await self._close(message[1], message[2])
                elif kind == wire.WRITE:
                    name = f"acquisition:write:{message[1]}"
                    task = asyncio.create_task(self._write(*message[1:]), name=name)
                    self._writes.add(task)
                    task.add_done_callback(self._writes.discard)
        finally:
            diagnostics.cancel()
            for task in list(self._writes):
                task.cancel()
            await asyncio.gather(diagnostics, *self._writes, return_exceptions=True)
            stops = [hosted.driver.stop() for hosted in self._connections.values()]
            await asyncio.gather(*stops, return_exceptions=True)
            self.outbox.flush()

    async def _open(self, conn: int, driver_of: Callable[..., Driver], args: tuple[Any, ...]) -> None:
        try:
            hosted = HostedConnection(conn, driver_of, self.outbox, args)
            self._connections[conn] = hosted
            await hosted.start()
            self._hosted_tags += len(args[1])
            # As the runtime does: a large share of the plant's tags leaves the collector's view once built.
            freeze_start_up_heap(self._hosted_tags)
        except Exception as exc:  # a connection that cannot start must not take the others down
            config, tags = args[0], args[1]
            log.exception("acquisition: connection %s did not start", config.name)
            error = f"driver did not start in the acquisition process: {type(exc).__name__}: {exc}"
            now = time.time()
            for index in range(len(tags)):
                self.outbox.other(conn, index, Sample.bad(Reason.CONFIG_ERROR, ts=now))
            status = ConnectionStatus(config.name, ConnectionState.FAILED, error)
            self.outbox.send((wire.STATUS, conn, status))

    async def _close(self, request: int, conn: int) -> None:
        hosted = self._connections.pop(conn, None)
        if hosted is not None:
            await hosted.driver.stop()
            self.outbox.send(hosted.diagnostics())
        self.outbox.send((wire.DONE, request, None))

    async def _write(self, request: int, conn: int, index: int, value: Any) -> None:
        hosted = self._connections.get(conn)
        error: str | None = None
        if hosted is None:
            error = "not connected"
        else:
            try:
                await hosted.driver.write(hosted.tags[index], value)
            except WriteError as exc:
                error = str(exc)
            except Exception as exc:  # a driver's bug is the write's failure, never this process's
                error = f"{type(exc).__name__}: {exc}"
        self.outbox.send((wire.DONE, request, error))

    async def _report_diagnostics(self) -> None:
        while True:
            await asyncio.sleep(DIAGNOSTICS_EVERY_S)
            for hosted in list(self._connections.values()):
                self.outbox.send(hosted.diagnostics())


def main(conn: Connection) -> None:
    """The process's entry point (a module-level function, as ``spawn`` requires)."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s acquisition: %(message)s")
    logging.getLogger("pymodbus").setLevel(logging.ERROR)
    asyncio.run(_main(conn))


async def _main(conn: Connection) -> None:
    host = AcquisitionHost(conn, asyncio.get_running_loop())
    reader = threading.Thread(target=host.read_pipe, name="acquisition-pipe", daemon=True)
    reader.start()
    await host.serve()
