"""CPU seconds per 100,000 samples in each stage of ``hmi bench scale``'s path, in one process, no socket.

``python -m benchmarks.scale_stages [--tags 100000] [--reads 5] [--seconds 10]`` prints JSON:

- ``driver``: the Modbus driver's work on the answers of ``--reads`` scans of the scale plant's blocks
  (120 registers, 40 float32 + 40 uint16 tags), every value changed: words, change detection,
  decode, samples and the batch (``ModbusDriver._publish_block``, what a read's answer costs);
- ``runtime``: those batches through the tag runtime (current-value table, deadband, both feeds,
  block refreshes) to one batch listener per feed, as the station subscribes history and alarms;
- ``history``: the history writer fed like a plant (every tag once per simulated second, one commit
  per second, rollups included, as :func:`benchmarks.plant_feed.ours`) through ``extend`` of 80-sample
  batches as the station's subscription feeds it; all threads' CPU;
- ``stale_watchdog``: one watchdog pass that finds every block expired (a stalled loop), per 100k tags;
- ``worker_batch``: the runtime process's side of ``acquisition: {processes: N}``: the driver stage's
  batches as a worker sends them (``BATCH`` messages of indices, values, one timestamp) decoded and
  delivered by ``ProcessDriver`` through the runtime as in ``runtime``; ``worker_batch_pairs`` the
  same with the samples built first and handed over as pairs (the path before the runtime took
  columns);
- ``history_pipe``: what handing the history writer's feed to another process would cost the
  runtime's process: the changes feed's pairs turned into columns (tag ids, values, qualities,
  timestamps) and pickled as one message per batch (the pipe write itself not counted);
- ``history_gil_share`` (with ``--gil``): the share of the GIL the history stage holds, measured by
  a pure-Python counting thread beside it (its rate beside the stage against its rate alone): what
  moving the writer out of the runtime's process would give back to the runtime's loop.

CPU is process time (less sensitive to a shared machine than wall time); the load average is beside
it. A stage's figure times 1 sample per tag per second is its share of one core at 1 Hz.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks import plant_feed
from benchmarks.scale_plant import FLOATS_PER_GROUP, GROUP_STRIDE, Connection, layout
from drivers.modbus import ModbusDriver
from drivers.modbus_plan import ReadBlock
from drivers.settings import ModbusSettings
from hmi.core.acquisition import wire
from hmi.core.acquisition.proxy import ProcessDriver
from hmi.core.heap import freeze_start_up_heap
from hmi.core.runtime import Feed, TagRuntime
from hmi.historian.writer import HistoryWriter
from hmi.model import DataType, Sample, TagDef
from hmi.project.config import ConnectionConfig, HistorySettings, Project

PER = 100_000


class _Answer:
    """A read's registers as the driver sees them (never an exception response)."""

    def __init__(self, registers: list[int]) -> None:
        self.registers = registers
        self.bits: list[bool] = []

    def isError(self) -> bool:
        """Never an exception response."""
        return False


def _tag_defs(plc: Connection) -> list[TagDef]:
    return [
        TagDef(
            name,
            plc.name,
            f"hr:{address}",
            DataType.FLOAT32 if "_F" in name else DataType.UINT16,
            scan_period=1.0,
        )
        for name, address in plc.tags
    ]


def _project(plcs: list[Connection], tags: list[TagDef]) -> Project:
    connections = {
        plc.name: ConnectionConfig(plc.name, "modbus", ModbusSettings("127.0.0.1", 1)) for plc in plcs
    }
    return Project(
        name="stages",
        root=Path("."),
        connections=connections,
        scan_classes={},
        tags={t.name: t for t in tags},
        alarms={},
        history=HistorySettings(Path("unused.db")),
        screens={},
    )


def _word(address: int, step: int) -> int:
    # Every word changes on every read; a float32's high word stays in a range of finite values.
    if address % GROUP_STRIDE < 2 * FLOATS_PER_GROUP and address % 2 == 0:
        return 0x4100 + (address + step) % 64
    return (address * 7 + step * 131) % 65536


def drivers_stage(plcs: list[Connection], reads: int) -> tuple[float, list[Any]]:
    """CPU seconds for ``reads`` scans of every block, and what the drivers handed on (in order)."""
    out: list[Any] = []
    drivers: list[tuple[ModbusDriver, list[ReadBlock]]] = []
    for plc in plcs:
        driver = ModbusDriver(
            plc.name, ModbusSettings("127.0.0.1"), _tag_defs(plc), lambda *_: None, lambda _s: None
        )
        driver.on_samples = lambda batch: out.append(("samples", batch))
        driver.on_refresh = lambda names: out.append(("refresh", names))
        drivers.append((driver, [b for g in driver.plan.groups for b in g.blocks]))
    answers = [
        [
            [_Answer([_word(b.start + i, step) for i in range(b.count)]) for b in blocks]
            for _, blocks in drivers
        ]
        for step in range(reads)
    ]
    began = time.process_time()
    for step_answers in answers:
        for (driver, blocks), plc_answers in zip(drivers, step_answers, strict=True):
            for block, answer in zip(blocks, plc_answers, strict=True):
                driver._publish_block(block, answer)  # type: ignore[arg-type]
    return time.process_time() - began, out


def runtime_stage(runtime: TagRuntime, out: Sequence[Any]) -> tuple[float, int]:
    """CPU seconds for the drivers' output through the runtime, and the changes fanned out."""
    fanned = [0]

    def history(batch: Sequence[tuple[str, Sample]]) -> None:
        fanned[0] += len(batch)

    runtime.subscribe_batch(history)
    runtime.subscribe_batch(lambda _batch: None, Feed.RAW)
    on_samples, on_refresh = runtime._on_samples, runtime._on_driver_refresh
    began = time.process_time()
    for kind, payload in out:
        if kind == "samples":
            on_samples(payload)
        else:
            on_refresh(payload)
    return time.process_time() - began, fanned[0]


def history_stage(path: Path, names: list[str], seconds: int, per_batch: int = 80) -> tuple[float, int]:
    """CPU seconds of every thread for ``seconds - 1`` simulated seconds of history (the first, which
    creates the tags, untimed), fed as the station feeds it: one ``extend`` per read's batch."""
    writer = HistoryWriter(path, commit_interval=1.0, max_pending=len(names) * 4)
    writer.start()
    cpu, expected = 0.0, 0
    try:
        for second, batch in enumerate(plant_feed.seconds(names, seconds)):
            began = time.process_time()
            for first in range(0, len(batch), per_batch):
                writer.extend(batch[first : first + per_batch])
            expected += len(batch)
            writer.writer.wake.set()  # the simulated second is over: commit it now
            deadline = time.monotonic() + 120
            while writer.stats()["written"] < expected:  # bounded: a stuck writer fails the run
                if time.monotonic() > deadline:
                    raise RuntimeError(f"history writer did not commit a second in 120 s: {writer.stats()}")
                time.sleep(0.0005)
            if second:
                cpu += time.process_time() - began
    finally:
        writer.stop(timeout=300)
    stats = writer.stats()
    if stats["written"] != expected or stats["dropped"] or stats["rejected"]:
        raise RuntimeError(f"history lost data: {stats}")
    return cpu, int(stats["commits"])


def watchdog_stage(runtime: TagRuntime) -> float:
    """CPU seconds of one watchdog pass in which every block has expired."""
    began = time.process_time()
    runtime.check_staleness(time.monotonic() + 3600.0)
    return time.process_time() - began


def _worker_messages(runtime: TagRuntime, out: Sequence[Any], plcs: list[Connection]) -> list[bytes]:
    """The driver stage's output as the workers' BATCH messages, one per read (conn ids from 1)."""
    index_of = {t.name: (conn, n) for conn, plc in enumerate(plcs, 1) for n, t in enumerate(_tag_defs(plc))}
    block_ids: dict[tuple[str, ...], tuple[int, int]] = {}
    messages = []
    for kind, payload in out:
        if kind == "samples":
            conn = index_of[payload[0][0]][0]
            indices = [index_of[name][1] for name, _ in payload]
            good = (conn, indices, [s.value for _, s in payload], payload[0][1].ts)
            messages.append(wire.encode((wire.BATCH, [good], [], [])))
        else:
            conn = index_of[payload[0]][0]
            first = payload not in block_ids
            block = block_ids.setdefault(payload, (conn, len(block_ids)))[1]
            indices = [index_of[name][1] for name in payload] if first else None
            messages.append(wire.encode((wire.BATCH, [], [], [(conn, block, indices)])))
    return messages


def worker_batch_stage(plcs: list[Connection], messages: list[bytes], columns: bool) -> tuple[float, int]:
    """CPU seconds for the workers' messages decoded and delivered through a fresh runtime, and the
    changes it fanned out."""
    all_tags = [t for plc in plcs for t in _tag_defs(plc)]
    runtime = TagRuntime(_project(plcs, all_tags))
    runtime._polled.update(t.name for t in all_tags)
    fanned = [0]

    def history(batch: Sequence[tuple[str, Sample]]) -> None:
        fanned[0] += len(batch)

    runtime.subscribe_batch(history)
    runtime.subscribe_batch(lambda _batch: None, Feed.RAW)
    proxies = {}
    for conn, plc in enumerate(plcs, 1):
        config = runtime.project.connections[plc.name]
        proxy = ProcessDriver(config, conn, _tag_defs(plc), runtime._on_sample, lambda _s: None, None)  # type: ignore[arg-type]
        proxy.on_samples = runtime._on_samples
        proxy.on_refresh = runtime._on_driver_refresh
        if columns:
            proxy.on_good_values = runtime._on_good_values
        proxies[conn] = proxy
    began = time.process_time()
    for data in messages:
        _, goods, _others, refreshes = wire.decode(data)
        for conn, indices, values, stamps in goods:
            proxies[conn].deliver_good(indices, values, stamps)
        for conn, block, indices in refreshes:
            proxies[conn].deliver_refresh(block, indices)
    return time.process_time() - began, fanned[0]


def history_pipe_stage(out: Sequence[Any], names: Sequence[str]) -> float:
    """CPU seconds to turn the driver stage's batches into history columns and pickle them."""
    ids = {name: n for n, name in enumerate(names)}
    batches = [payload for kind, payload in out if kind == "samples"]
    began = time.process_time()
    for batch in batches:
        tags, samples = zip(*batch, strict=True)
        message = (
            list(map(ids.__getitem__, tags)),
            [s.value for s in samples],
            [int(s.quality) for s in samples],
            [s.ts for s in samples],
        )
        pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return time.process_time() - began


class _Counter(threading.Thread):
    """Counts in pure Python until told to stop: its rate is the GIL share left to a thread like it."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.count = 0
        self.done = threading.Event()

    def run(self) -> None:
        """Count in chunks; the flag is looked at between chunks."""
        while not self.done.is_set():
            for _ in range(10_000):
                pass
            self.count += 1


def _count_rate(seconds: float) -> float:
    counter = _Counter()
    began = time.perf_counter()
    counter.start()
    time.sleep(seconds)
    counter.done.set()
    counter.join()
    return counter.count / (time.perf_counter() - began)


def history_gil_share(path: Path, names: list[str], seconds: int) -> tuple[float, float]:
    """The share of the GIL the history stage holds (0..1), by a counting thread beside it, and the
    stage's wall seconds (their product: the seconds it held the GIL, the untimed first second too)."""
    alone = (_count_rate(1.0) + _count_rate(1.0)) / 2
    counter = _Counter()
    began = time.perf_counter()
    counter.start()
    history_stage(path, names, seconds)
    counter.done.set()
    counter.join()
    wall = time.perf_counter() - began
    return max(0.0, 1.0 - counter.count / wall / alone), wall


def run(
    tags: int = PER, reads: int = 5, seconds: int = 10, freeze: bool = True, gil: bool = False
) -> dict[str, Any]:
    """Every stage's CPU seconds per 100k samples (or tags, for the watchdog).

    ``freeze``: the start-up heap leaves the collector's view as the runtime's start does (False: as
    before that was done).
    """
    load_before = os.getloadavg()
    plcs = layout(tags, 5_000)
    all_tags = [t for plc in plcs for t in _tag_defs(plc)]
    runtime = TagRuntime(_project(plcs, all_tags))
    runtime._polled.update(t.name for t in all_tags)  # as start() does for a polling driver
    frozen = freeze and freeze_start_up_heap(len(all_tags))  # as start() does
    driver_cpu, out = drivers_stage(plcs, reads)
    samples = sum(len(payload) for kind, payload in out if kind == "samples")
    runtime_cpu, changes = runtime_stage(runtime, out)
    watchdog_cpu = watchdog_stage(runtime)
    messages = _worker_messages(runtime, out, plcs)
    worker_cpu, worker_changes = worker_batch_stage(plcs, messages, columns=True)
    worker_pairs_cpu, worker_pairs_changes = worker_batch_stage(plcs, messages, columns=False)
    pipe_cpu = history_pipe_stage(out, [t.name for t in all_tags])
    with tempfile.TemporaryDirectory(prefix="hmi-stages-") as folder:
        names = plant_feed.tag_names(tags)
        history_cpu, commits = history_stage(Path(folder) / "history.db", names, seconds)
        gil_share: float | None = None
        gil_wall = 0.0
        if gil:
            gil_share, gil_wall = history_gil_share(Path(folder) / "gil.db", names, seconds)
    timed_history = tags * (seconds - 1)
    return {
        "benchmark": "scale_stages",
        "tags": tags,
        "start_up_heap_frozen": frozen,
        "driver_samples": samples,
        "driver_cpu_s_per_100k": round(driver_cpu / samples * PER, 4),
        "runtime_changes": changes,
        "runtime_cpu_s_per_100k": round(runtime_cpu / samples * PER, 4),
        "history_samples_timed": timed_history,
        "history_commits": commits,
        "history_cpu_s_per_100k": round(history_cpu / timed_history * PER, 4),
        "history_gil_share": None if gil_share is None else round(gil_share, 3),
        "history_gil_held_s_per_100k": None
        if gil_share is None
        else round(gil_share * gil_wall / (tags * seconds) * PER, 4),
        "stale_watchdog_cpu_s_per_100k_tags": round(watchdog_cpu / tags * PER, 4),
        "worker_batch_changes": worker_changes,
        "worker_batch_pairs_changes": worker_pairs_changes,
        "worker_batch_cpu_s_per_100k": round(worker_cpu / samples * PER, 4),
        "worker_batch_pairs_cpu_s_per_100k": round(worker_pairs_cpu / samples * PER, 4),
        "history_pipe_cpu_s_per_100k": round(pipe_cpu / samples * PER, 4),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    """Parse the options, print the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tags", type=int, default=PER)
    parser.add_argument("--reads", type=int, default=5, help="scans of every block for the driver stage")
    parser.add_argument("--seconds", type=int, default=10, help="simulated seconds for the history stage")
    parser.add_argument("--no-freeze", action="store_true", help="leave the start-up heap to the collector")
    parser.add_argument("--gil", action="store_true", help="also measure the history stage's GIL share")
    args = parser.parse_args()
    print(json.dumps(run(args.tags, args.reads, args.seconds, not args.no_freeze, args.gil)))


if __name__ == "__main__":
    main()
