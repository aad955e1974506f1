"""One acquisition process seen from the runtime: launch, pipe threads, requests, crash and restart.

The runtime's loop never touches the pipe. A writer thread sends what the loop queues (an OPEN
carrying thousands of tags must not block the loop while the process is still importing), and a
reader thread receives and unpickles each message and hands it to the loop with
``call_soon_threadsafe``. At most :data:`MAX_PENDING` messages wait for the loop: past that the
reader stops reading, the process's sends block and its drivers slow down (their scans count the
overruns) instead of memory growing without bound. When the pipe closes, the reader waits for the
process's exit code and tells the loop; unless the runtime was stopping it, every connection of the
process turns bad and the process is started again with capped backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import queue
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from drivers.base import Backoff
from hmi.core.acquisition import child, wire
from hmi.model import WriteError

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from hmi.core.acquisition.proxy import ProcessDriver

log = logging.getLogger(__name__)

MAX_PENDING = 64
"""Messages received but not yet handled by the runtime's loop, at most."""
STOP_TIMEOUT_S = 10.0
"""How long a stopping process gets to stop its drivers before it is killed."""
HEALTHY_AFTER_S = 10.0
"""A process that ran this long before it ended starts again after the shortest delay."""
SILENT_AFTER_S = 20.0
"""A process that has said nothing for this long (it reports its drivers' figures every second) is
hung, not busy: it is killed and started again like one that crashed. Time the reader spends
waiting for the runtime's own loop does not count."""

_SPAWN = multiprocessing.get_context("spawn")


class WorkerProcess:
    """An acquisition process hosting the drivers of some connections; started with its first one."""

    def __init__(
        self, name: str, backoff: Backoff | None = None, silent_after: float = SILENT_AFTER_S
    ) -> None:
        self.name = name
        self.silent_after = silent_after
        self.restarts = 0
        """How many times the process ended unasked and was started again."""
        self._backoff = backoff or Backoff()
        self._drivers: dict[int, ProcessDriver] = {}
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[str | None]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._process: BaseProcess | None = None
        self._outgoing: queue.SimpleQueue[tuple[Any, ...] | None] | None = None
        self._threads: list[threading.Thread] = []
        self._slots = threading.Semaphore(MAX_PENDING)
        self._generation = 0
        self._started_at = 0.0
        self._ended: asyncio.Event | None = None
        self._stopping = False
        self._restart: asyncio.Task[None] | None = None
        self._watch: asyncio.Task[None] | None = None
        self._heard = 0.0
        self._waiting_for_loop = False
        self._killed_silent = False

    @property
    def pid(self) -> int | None:
        """The process id while a process runs, else None."""
        process = self._process
        return process.pid if process is not None and process.is_alive() else None

    # ------------------------------------------------------------------ connections

    def attach(self, driver: ProcessDriver) -> None:
        """Host ``driver``'s connection: start the process if needed, then open the connection in it."""
        self._loop = asyncio.get_running_loop()
        self._drivers[driver.conn_id] = driver
        self._stopping = False
        if self._process is None and self._restart is None:
            self._launch()
        elif self._process is not None:
            self._send(driver.open_message())

    async def detach(self, driver: ProcessDriver) -> None:
        """Stop ``driver``'s connection in the process; the last one to go ends the process."""
        if self._drivers.get(driver.conn_id) is not driver:
            return
        if self._process is not None and len(self._drivers) > 1:
            with contextlib.suppress(WriteError):
                await self.request((wire.CLOSE, None, driver.conn_id), STOP_TIMEOUT_S)
        del self._drivers[driver.conn_id]
        if not self._drivers:
            await self.shutdown()

    async def request(self, message: tuple[Any, ...], within: float) -> str | None:
        """Send ``message`` with a fresh request id in its second place; the process's answer (an error)."""
        if self._process is None:
            raise WriteError("acquisition process not running")
        request = next(self._ids)
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._pending[request] = future
        self._send((message[0], request, *message[2:]))
        try:
            async with asyncio.timeout(within):
                return await future
        except TimeoutError:
            raise WriteError(f"no answer from the acquisition process within {within:g} s") from None
        finally:
            self._pending.pop(request, None)

    async def shutdown(self) -> None:
        """End the process (asked, then killed after :data:`STOP_TIMEOUT_S`) and its pipe threads."""
        self._stopping = True
        for task in (self._restart, self._watch):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._restart = self._watch = None
        process, ended = self._process, self._ended
        if process is not None and ended is not None:
            self._send((wire.EXIT,))
            try:
                await asyncio.wait_for(ended.wait(), STOP_TIMEOUT_S)
            except TimeoutError:
                log.warning("%s: acquisition process %s did not stop; killing it", self.name, process.pid)
                process.kill()
                await asyncio.wait_for(ended.wait(), STOP_TIMEOUT_S)
        self._join_threads()

    # ------------------------------------------------------------------ the process

    def _launch(self) -> None:
        self._generation += 1
        generation = self._generation
        here, there = _SPAWN.Pipe(duplex=True)
        # daemon: multiprocessing also ends it when this process exits normally (the pipe covers the rest).
        process = _SPAWN.Process(target=child.main, args=(there,), name=f"hmi-{self.name}", daemon=True)
        process.start()
        there.close()  # only the child holds its end now: its death closes the pipe for our reader
        self._process, self._ended, self._started_at = process, asyncio.Event(), time.monotonic()
        self._heard, self._killed_silent = self._started_at, False
        outgoing: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self._outgoing = outgoing
        loop = self._loop
        assert loop is not None
        self._threads = [
            threading.Thread(
                target=self._write_pipe, args=(here, outgoing), name=f"hmi-{self.name}-send", daemon=True
            ),
            threading.Thread(
                target=self._read_pipe, args=(here, process, loop, generation),
                name=f"hmi-{self.name}-receive", daemon=True,
            ),
        ]
        for thread in self._threads:
            thread.start()
        for driver in self._drivers.values():
            self._send(driver.open_message())
        self._watch = loop.create_task(
            self._watch_silence(process, generation), name=f"acquisition:watch:{self.name}"
        )
        log.info("%s: acquisition process %s started for %d connection(s)", self.name, process.pid,
                 len(self._drivers))

    def _send(self, message: tuple[Any, ...]) -> None:
        if self._outgoing is not None:
            self._outgoing.put(message)  # pickled by the writer thread: an OPEN of many tags takes a while

    @staticmethod
    def _write_pipe(conn: Connection, outgoing: queue.SimpleQueue[tuple[Any, ...] | None]) -> None:
        while (message := outgoing.get()) is not None:
            try:
                conn.send_bytes(wire.encode(message))
            except (OSError, EOFError):
                break  # the process is gone; the reader reports it

    def _read_pipe(
        self, conn: Connection, process: BaseProcess, loop: asyncio.AbstractEventLoop, generation: int
    ) -> None:
        while True:
            try:
                message = wire.decode(conn.recv_bytes())
            except (EOFError, OSError):
                break
            self._heard = time.monotonic()
            self._waiting_for_loop = True
            while not self._slots.acquire(timeout=0.5):
                if loop.is_closed():
                    return
            self._heard, self._waiting_for_loop = time.monotonic(), False
            try:
                loop.call_soon_threadsafe(self._dispatch, message, generation)
            except RuntimeError:  # the loop is closed: nobody is left to tell
                self._slots.release()
                return
        process.join(STOP_TIMEOUT_S)
        if process.is_alive():  # it closed its pipe but lives on: never leave it behind
            process.kill()
            process.join(STOP_TIMEOUT_S)
        conn.close()
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._on_ended, generation, process.exitcode)

    def _join_threads(self) -> None:
        if self._outgoing is not None:
            self._outgoing.put(None)
        for thread in self._threads:
            thread.join(timeout=STOP_TIMEOUT_S)
        self._threads, self._outgoing = [], None

    def _dispatch(self, message: tuple[Any, ...], generation: int) -> None:
        self._slots.release()
        if generation != self._generation:
            return  # from a process that has already ended
        kind = message[0]
        if kind == wire.BATCH:
            _, goods, others, refreshes = message
            for conn, indices, values, stamps in goods:
                if (driver := self._drivers.get(conn)) is not None:
                    driver.deliver_good(indices, values, stamps)
            for conn, index, value, quality, ts, reason in others:
                if (driver := self._drivers.get(conn)) is not None:
                    driver.deliver_other(index, value, quality, ts, reason)
            for conn, block, indices in refreshes:
                if (driver := self._drivers.get(conn)) is not None:
                    driver.deliver_refresh(block, indices)
        elif kind == wire.STATUS:
            if (driver := self._drivers.get(message[1])) is not None:
                driver.deliver_status(message[2])
        elif kind == wire.DIAGNOSTICS:
            if (driver := self._drivers.get(message[1])) is not None:
                driver.deliver_diagnostics(message[2])
        elif kind == wire.DONE:
            future = self._pending.get(message[1])
            if future is not None and not future.done():
                future.set_result(message[2])
        elif kind == wire.READY:
            log.debug("%s: acquisition process %s ready", self.name, message[1])

    def _on_ended(self, generation: int, exitcode: int | None) -> None:
        if generation != self._generation:
            return
        ended = self._ended
        self._process = None
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        self._join_threads()
        if ended is not None:
            ended.set()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(WriteError(f"acquisition process ended (exit code {exitcode})"))
        if self._stopping or not self._drivers:
            return
        if time.monotonic() - self._started_at > HEALTHY_AFTER_S:
            self._backoff.reset()
        delay = self._backoff.next_delay()
        how = f"silent for {self.silent_after:g} s, killed" if self._killed_silent else "ended"
        error = f"acquisition process {how} (exit code {exitcode}); restarting in {delay:.1f} s"
        log.error("%s: %s", self.name, error)
        for driver in self._drivers.values():
            driver.process_lost(error, delay)
        self.restarts += 1
        self._restart = asyncio.get_running_loop().create_task(
            self._restart_after(delay), name=f"acquisition:restart:{self.name}"
        )

    async def _watch_silence(self, process: BaseProcess, generation: int) -> None:
        while generation == self._generation:
            await asyncio.sleep(min(1.0, self.silent_after / 4))
            silent = time.monotonic() - self._heard
            if not self._waiting_for_loop and silent > self.silent_after and process.is_alive():
                log.error("%s: acquisition process %s silent for %.0f s; killing it", self.name, process.pid,
                          silent)
                self._killed_silent = True
                process.kill()  # the pipe closes and the reader reports the end as for any crash
                return

    async def _restart_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._restart = None
        if not self._stopping and self._drivers:
            self._launch()


WorkerFactory = Callable[[str], WorkerProcess]
