"""Acquisition across the GIL: the drivers of a project's connections in worker processes.

One Python process runs one bytecode at a time, so four Modbus connections polled by one runtime
gain nothing once the work is CPU-bound. Here each worker process runs the real drivers of its
share of the connections on its own asyncio loop (socket IO, frame decoding, change detection)
and ships batches of samples to the runtime, which keeps its job: the current-value table,
deadbands, stale values and the fan-out to history, alarms and screens.

:func:`driver_factory` gives the runtime its driver factory for a project: the in-process one
for ``acquisition: {processes: 0}``, else a :class:`ProcessDriverFactory`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from drivers.base import Backoff, Driver, SampleSink, StatusSink
from hmi.core.acquisition.proxy import ProcessDriver
from hmi.core.acquisition.worker import SILENT_AFTER_S, WorkerProcess
from hmi.model import StalePolicy, TagDef
from hmi.project.config import ConnectionConfig, Project

__all__ = ["AUTO_MIN_TAGS", "ProcessDriver", "ProcessDriverFactory", "WorkerProcess", "driver_factory",
           "process_count"]

AUTO_MIN_TAGS = 5000
"""Below this many connected tags, ``auto`` keeps the drivers in process: a worker costs a Python
interpreter's memory and a second of start-up, and such a plant is far from needing a second core."""


def process_count(project: Project, cpus: int | None = None) -> int:
    """How many worker processes the project's ``acquisition`` setting asks for (0: in process)."""
    wanted = project.acquisition.processes
    used = {tag.connection for tag in project.tags.values()}
    connections = sum(1 for name in project.connections if name in used)
    if wanted != "auto":
        return min(int(wanted), connections)
    tags = sum(1 for tag in project.tags.values() if tag.connection in project.connections)
    if tags < AUTO_MIN_TAGS or connections == 0:
        return 0
    return max(1, min(connections, cpus or os.cpu_count() or 1))


class ProcessDriverFactory:
    """The runtime's driver factory when drivers run in workers: spreads connections over the workers.

    Each connection goes to the worker with the fewest tags so far, so a big connection and three
    small ones do not share one process while another idles.
    """

    def __init__(
        self, processes: int, backoff: Callable[[], Backoff] = Backoff, silent_after: float = SILENT_AFTER_S
    ) -> None:
        if processes < 1:
            raise ValueError("a process factory needs at least one process")
        self.workers = [WorkerProcess(f"acquisition-{n}", backoff(), silent_after) for n in range(processes)]
        self._load = [0] * processes
        self._next_id = 0

    def __call__(
        self,
        config: ConnectionConfig,
        tags: Sequence[TagDef],
        on_sample: SampleSink,
        on_status: StatusSink,
        stale: StalePolicy | None = None,
    ) -> Driver:
        """A proxy for ``config``'s driver, hosted by the least loaded worker."""
        slot = min(range(len(self.workers)), key=self._load.__getitem__)
        self._load[slot] += max(1, len(tags))
        self._next_id += 1
        return ProcessDriver(config, self._next_id, tags, on_sample, on_status, self.workers[slot], stale)


def driver_factory(project: Project, in_process: Callable[..., Driver]) -> Callable[..., Driver]:
    """``in_process`` for a project that keeps its drivers in process, else a process factory."""
    processes = process_count(project)
    return in_process if processes == 0 else ProcessDriverFactory(processes)

