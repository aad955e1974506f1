"""One connection against four, with the drivers in the runtime's process and in worker processes.

Each connection polls its own server process (``benchmarks.modbus_image_server``: every value of
a read differs from the read before, at a few microseconds per request, so the servers leave the
cores to the client side) back to back: a CPU-bound load of many tags whose values change on every
read. The figure is the rate of samples reaching the runtime's changes feed (what history and the
screens take), counted by a listener on it. Per mode: one connection, four connections, the ratio;
and ``four_workers_to_one_in_process``, the gain a project sees by turning ``acquisition:`` on.
The runtime's CPU (one core = 1.0) and the worker processes' CPU are beside each figure, and the
load average, because the machine's other work moves the figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import statistics
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

from benchmarks.bench_servers import free_port, server_processes
from drivers.settings import ModbusSettings
from hmi.core.acquisition import ProcessDriver
from hmi.core.runtime import Feed, TagRuntime
from hmi.model import DataType, Sample, TagDef
from hmi.project.config import AcquisitionSettings, ConnectionConfig, HistorySettings, Project

TAGS_PER_CONNECTION = int(os.environ.get("HMI_BENCH_CONNECTION_TAGS", "3000"))
WINDOW_S = float(os.environ.get("HMI_BENCH_CONNECTION_WINDOW", "4"))
ROUNDS = int(os.environ.get("HMI_BENCH_CONNECTION_ROUNDS", "2"))
PLANT_TAGS = [int(n) for n in os.environ.get("HMI_BENCH_CONNECTION_PLANT", "10000,50000").split(",") if n]
PLANT_WINDOW_S = 6.0
PLANT_TAGS_PER_CONNECTION = 20000
START_WITHIN_S = 60.0
PERIOD_S = 0.001  # far below a cycle's time: each connection polls back to back


@contextlib.asynccontextmanager
async def _servers(count: int, registers: int) -> AsyncIterator[list[int]]:
    """``count`` image servers, each in its own process; yields their ports."""
    ports = [free_port() for _ in range(count)]
    async with server_processes([["benchmarks.modbus_image_server", str(p), str(registers)] for p in ports]):
        yield ports


def _tags(connection: str, count: int, period: float) -> Iterator[TagDef]:
    """Half float32 (two registers), half uint16, packed: the driver reads 125-register blocks."""
    floats = count // 2
    for i in range(floats):
        yield TagDef(f"{connection}.F{i}", connection, f"hr:{2 * i}", DataType.FLOAT32, scan_period=period)
    for i in range(count - floats):
        address = f"hr:{2 * floats + i}"
        yield TagDef(f"{connection}.W{i}", connection, address, DataType.UINT16, scan_period=period)


def _registers(tags: int) -> int:
    return tags // 2 * 2 + (tags - tags // 2)


def _project(
    ports: list[int], processes: int, tags_each: int = TAGS_PER_CONNECTION, period: float = PERIOD_S
) -> Project:
    connections = {
        f"plc{n}": ConnectionConfig(f"plc{n}", "modbus", ModbusSettings("127.0.0.1", port, timeout=2.0))
        for n, port in enumerate(ports)
    }
    tags = {tag.name: tag for name in connections for tag in _tags(name, tags_each, period)}
    return Project(
        name="connections",
        root=Path("."),
        connections=connections,
        scan_classes={"normal": period},
        tags=tags,
        alarms={},
        history=HistorySettings(Path("unused.db")),
        screens={},
        acquisition=AcquisitionSettings(processes),
    )


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_of(pids: list[int]) -> float | None:
    """CPU seconds of other processes from /proc (Linux); None where there is no /proc."""
    total = 0.0
    try:
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
    return total


async def _measure(
    ports: list[int], processes: int, window: float = WINDOW_S, **shape: float
) -> dict[str, float | None]:
    """Changes per second reaching the runtime's changes feed, and the CPU it took."""
    runtime = TagRuntime(_project(ports, processes, **shape))  # type: ignore[arg-type]
    changes = [0]

    def count(batch: Sequence[object]) -> None:
        changes[0] += len(batch)

    # A batch listener, as the station's consumers are (history's extend, the alarm engine's batch).
    runtime.subscribe_batch(count, Feed.CHANGES)
    loop = asyncio.get_running_loop()
    began = loop.time()
    await runtime.start()
    try:
        all_good_s = await _all_good(runtime, began)
        await asyncio.sleep(0.5)
        pids = [d.pid for d in runtime.drivers.values() if isinstance(d, ProcessDriver) and d.pid]
        pids = sorted(set(pids))
        before, cpu, workers, started = changes[0], _cpu_self(), _cpu_of(pids), time.perf_counter()
        await asyncio.sleep(window)
        elapsed = time.perf_counter() - started
        delivered = changes[0] - before
        runtime_cpu = (_cpu_self() - cpu) / elapsed
        workers_after = _cpu_of(pids)
        rss = _rss_mb(pids)
    finally:
        await runtime.stop()
    workers_cpu = None if workers is None or workers_after is None else (workers_after - workers) / elapsed
    return {
        "changes_per_s": round(delivered / elapsed),
        "runtime_cpu": round(runtime_cpu, 2),
        "workers_cpu": None if workers_cpu is None else round(workers_cpu, 2),
        "all_good_s": round(all_good_s, 2),
        "workers_rss_mb": rss,
    }


async def _all_good(runtime: TagRuntime, began: float) -> float:
    """Seconds from ``began`` (before ``start``) until every tag holds a good value."""
    loop = asyncio.get_running_loop()
    names = list(runtime.project.tags)
    while not all(runtime.values[name].is_good for name in names):
        if loop.time() - began > START_WITHIN_S:
            raise RuntimeError("not every tag got a good value")
        await asyncio.sleep(0.05)
    return loop.time() - began


def _rss_mb(pids: list[int]) -> float | None:
    """Resident memory of the worker processes together, from /proc (Linux); None elsewhere."""
    total = 0
    try:
        for pid in pids:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return round(total / 1024, 1)


def _median(rounds: list[dict[str, float | None]]) -> dict[str, float | None]:
    figures: dict[str, float | None] = {}
    for key in rounds[0]:
        values = [float(v) for r in rounds if (v := r[key]) is not None]
        figures[key] = round(statistics.median(values), 2) if values else None
    return figures


async def _split_at_1s(tags: int) -> dict[str, object]:
    """``tags`` at 1 s, values changing every second: how much of the runtime's CPU a worker takes over.

    At most :data:`PLANT_TAGS_PER_CONNECTION` tags per connection (a device's registers run out past
    65,536), each connection to its own server; in process, then all of them on one worker process.
    """
    connections = -(-tags // PLANT_TAGS_PER_CONNECTION)
    tags = tags // connections
    figures: dict[str, object] = {"tags": tags * connections, "connections": connections}
    async with _servers(connections, _registers(tags)) as ports:
        for case, processes in (("in_process", 0), ("one_worker", 1)):
            shape = {"tags_each": tags, "period": 1.0}
            figures[case] = await _measure(ports, processes, window=PLANT_WINDOW_S, **shape)
    return figures


def _runtime_work(tags: int = 10_000, reads: int = 12) -> dict[str, float]:
    """The runtime process's own cost per change, without a socket or a worker: ``TagRuntime._on_samples``
    fed blocks of 100 good float samples that all changed (a quarter of the tags with a deadband they
    pass), a batch listener on each feed. CPU µs per change, the best read after two warm-up reads."""
    defs = {
        f"T{i}": TagDef(f"T{i}", "plc", f"hr:{i}", DataType.FLOAT32, deadband=0.5 if i % 4 == 0 else 0.0)
        for i in range(tags)
    }
    project = Project("work", Path("."), {}, {}, defs, {}, HistorySettings(Path("unused.db")), {})
    runtime = TagRuntime(project)
    runtime.subscribe_batch(lambda _batch: None, Feed.RAW)
    runtime.subscribe_batch(lambda _batch: None, Feed.CHANGES)
    names = list(defs)
    blocks = [names[i : i + 100] for i in range(0, tags, 100)]
    times = []
    for read in range(reads):
        batches = [
            list(zip(b, Sample.many_good([float(read + j) for j in range(len(b))], 1.0 + read), strict=True))
            for b in blocks
        ]
        start = time.process_time()
        for batch in batches:
            runtime._on_samples(batch)
        times.append((time.process_time() - start) / tags * 1e6)
    return {"us_per_change": round(min(times[2:]), 3), "load_average_1m": round(os.getloadavg()[0], 2)}


async def _all() -> dict[str, object]:
    registers = _registers(TAGS_PER_CONNECTION)
    cases = {
        "one_in_process": (1, 0),
        "four_in_process": (4, 0),
        "one_worker": (1, 1),
        "four_workers": (4, 4),
        "four_on_two_workers": (4, 2),
    }
    rounds: dict[str, list[dict[str, float | None]]] = {case: [] for case in cases}
    async with _servers(4, registers) as ports:
        for _ in range(ROUNDS):  # alternating: a burst of other load hits one round of every case
            for case, (connections, processes) in cases.items():
                rounds[case].append(await _measure(ports[:connections], processes))
    result: dict[str, object] = {case: _median(figures) for case, figures in rounds.items()}

    def rate(case: str) -> float:
        figures = result[case]
        assert isinstance(figures, dict)
        return float(figures["changes_per_s"])

    result |= {
        "runtime_work_per_change": _runtime_work(),
        "tags_per_connection": TAGS_PER_CONNECTION,
        "ratio_four_to_one_in_process": round(rate("four_in_process") / rate("one_in_process"), 2),
        "ratio_four_to_one_workers": round(rate("four_workers") / rate("one_worker"), 2),
        "four_workers_to_one_in_process": round(rate("four_workers") / rate("one_in_process"), 2),
        "four_on_two_workers_to_one_in_process": round(
            rate("four_on_two_workers") / rate("one_in_process"), 2
        ),
        "plant_1s": [await _split_at_1s(tags) for tags in PLANT_TAGS],
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    return result


def run() -> dict[str, object]:
    """One against four connections, in process and in worker processes."""
    import logging

    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    return asyncio.run(_all())
