"""``hmi bench sync``: drain a history backlog to a loopback receiver, against a bare HTTP client.

An outage first: ``HMI_BENCH_SYNC_ROWS`` samples (default 2,000,000) are committed through
the history writer while the sync service runs against an endpoint that refuses every
connection, so it encodes each committed span into a ready batch as a plant's commits
would have it (the CPU this costs per row and the state file's size are reported). Then
the endpoint comes back: the sync service drains the backlog (read a stored body, post
it, forget it and move the cursor) to a receiver in its own process (TCP_NODELAY; it reads
each body and answers 204). The bare side posts the same stored bodies, byte for byte,
with the same httpx client settings, one after the other, as a user's own client would.
Ours keeps the endpoint's ``in_flight`` batches posted at once (the product default, or
``HMI_BENCH_SYNC_IN_FLIGHT``); the bare side stays a plain sequential client.
``HMI_BENCH_SYNC_LATENCY_MS`` (default 0) makes the receiver wait that long before each
answer, as one across a network would: both sides wait alike.

The receiver stands in for the enterprise's server, which never shares the station's CPU: on a
machine with two cores or more it gets a core of its own, and this process (both clients, ours
with its worker threads) the others; ``HMI_BENCH_SYNC_PIN=0`` leaves the scheduler to place them
(then our worker threads, our loop and the receiver contend for the cores, which a bare client
with no thread of its own never does). Before each timed side the garbage of the one before is
collected and the restored state file is flushed to disk, so that neither side pays the other's.

The two sides run in ``HMI_BENCH_SYNC_ROUNDS`` paired rounds (default 9), which side goes
first alternating; before each round the state file is restored to the backlog the outage
left, so every drain of ours posts the same batches. Each round's rows/s of both sides, its
ratio and the load average are reported, and the figure is the median of the paired ratios:
a swing of the machine or the receiver within a round is seen by both sides. Beside it, how
late a 10 ms ticker on the sync's event loop woke while ours drained: what a poll on the
runtime loop would suffer. Last, a *cold* drain of the same backlog to a second endpoint that
has nothing stored yet (it reads and encodes while it posts), paired with one more bare run:
what a newly added endpoint, or the first start after an upgrade, sees.
"""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from hmi.historian.writer import HistoryWriter
from hmi.model import Sample
from hmi.project.sync_settings import SyncBatch, SyncEndpoint
from hmi.store import Store
from hmi.sync.forwarder import batch_headers
from hmi.sync.outbox import Outbox, outbox_path
from hmi.sync.service import SyncService
from hmi.sync.source import StoreSource

DEFAULT_ROWS = 2_000_000
DEFAULT_ROUNDS = 9
BATCH_ROWS = 5000
TAGS = 1000

RECEIVER = r"""
import asyncio, socket, sys

LATENCY = float(sys.argv[1]) / 1000 if len(sys.argv) > 1 else 0.0  # a far or busy receiver's answer time

async def serve(reader, writer):
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while True:
            length = 0
            line = await reader.readline()
            if not line:
                break
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            if LATENCY:
                await asyncio.sleep(LATENCY)
            writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    writer.close()

async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.to_thread(sys.stdin.read)  # until the benchmark closes our stdin

asyncio.run(main())
"""


class _Ticker:
    """Wakes every 10 ms on the loop and records how late it woke."""

    def __init__(self) -> None:
        self.late_ms: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._tick())

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + 0.01
            await asyncio.sleep(0.01)
            self.late_ms.append((loop.time() - due) * 1000)


def _summary(late: list[float]) -> dict[str, float]:
    if not late:
        return {"p50": 0.0, "p99": 0.0, "max": 0.0}
    ordered = sorted(late)
    return {
        "p50": round(statistics.median(ordered), 2),
        "p99": round(ordered[int(0.99 * (len(ordered) - 1))], 2),
        "max": round(ordered[-1], 2),
    }


async def _outage(path: Path, settings: SyncEndpoint, rows: int) -> tuple[Store, dict[str, Any]]:
    """Commit ``rows`` samples while the sync service runs against an endpoint that is down."""
    store = Store(path, commit_interval=0.5)
    history = HistoryWriter(path, writer=store.writer, max_pending=rows + 1)
    store.open()
    sync = SyncService([settings], StoreSource.of(store), "Bench Plant")
    await sync.start()
    [forwarder] = sync.forwarders
    began = time.perf_counter()
    try:
        await asyncio.to_thread(_fill, history, rows)
        filled_s = time.perf_counter() - began
        for _ in range(30_000):  # bounded: 10 minutes for the encoder to reach the last commit
            if forwarder.encoded_rows >= rows:
                break
            await asyncio.sleep(0.02)
    finally:
        await sync.stop(budget=0.5)
    per_row = forwarder.encode_cpu_s / max(1, forwarder.encoded_rows)
    sync_bytes = sum(f.stat().st_size for f in path.parent.glob(outbox_path(path).name + "*"))
    history_bytes = sum(f.stat().st_size for f in path.parent.glob(path.name + "*"))
    return store, {
        "fill_s": round(filled_s, 1),
        "encoded_rows": forwarder.encoded_rows,
        # Paid as rows are committed: at 1,000 rows/s a plant spends this share of one core on it.
        "encode_us_per_row": round(per_row * 1e6, 3),
        "encode_core_share_at_1k_rows_s": round(per_row * 1000, 5),
        "outbox_bytes_per_row": round(sync_bytes / rows, 1),
        "history_bytes_per_row": round(history_bytes / rows, 1),
    }


def _fill(history: HistoryWriter, rows: int) -> None:
    start = time.time() - rows / TAGS
    chunk = 100_000
    for first in range(0, rows, chunk):
        history.extend(
            (f"TAG{n % TAGS:04d}", Sample.good(float(n % 977), start + n / TAGS))
            for n in range(first, min(rows, first + chunk))
        )
        while history.stream_stats().pending > 4 * chunk:  # bounded memory while the writer catches up
            time.sleep(0.05)
    deadline = time.monotonic() + 600
    while history.stream_stats().written < rows and time.monotonic() < deadline:
        time.sleep(0.1)


async def _ours(store: Store, settings: SyncEndpoint, rows: int) -> tuple[float, float, dict[str, float]]:
    """Drain seconds (from the service started), start seconds, and the loop's lateness meanwhile."""
    source = StoreSource.of(store)
    sync = SyncService([settings], source, "Bench Plant")
    ticker = _Ticker()
    starting = time.perf_counter()
    await sync.start()  # the state file, the client (TLS context) and each stream's cursor
    began = time.perf_counter()
    ticker.start()
    try:
        # Looked at every millisecond: the bare side's time ends at its last answer, and a coarser look
        # would add half its period to ours (2.5 ms at 5 ms, 1 % of a 2M-row drain on loopback).
        for _ in range(1_800_000):  # bounded: 30 minutes
            if sync.status()[0].delivered_rows >= rows:
                break
            await asyncio.sleep(0.001)
        elapsed = time.perf_counter() - began
    finally:
        await ticker.stop()
        await sync.stop()
    return elapsed, began - starting, _summary(ticker.late_ms)


async def _bare(bodies: list[tuple[bytes, dict[str, str]]], url: str) -> float:
    async with httpx.AsyncClient(trust_env=False, timeout=30.0) as client:
        began = time.perf_counter()
        for body, headers in bodies:
            response = await client.post(url, content=body, headers=headers)
            response.raise_for_status()
        return time.perf_counter() - began


def _bodies(store: Store) -> list[tuple[bytes, dict[str, str]]]:
    """The stored batches of the outage, as the drain will post them."""
    outbox = Outbox(outbox_path(store.path))
    try:
        pending = outbox.pending("bench", "history", 1_000_000)
    finally:
        outbox.close()
    return [(batch.body or b"", batch_headers(batch)) for batch in pending]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _snapshot(source: Path, target: Path) -> None:
    """Copy a SQLite file whole (its WAL folded in) with the backup API: the backlog as the outage left it."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
        # The copy lands in the target's WAL (the state file is in WAL mode): folded into the file now, or
        # the drain that comes next would pay a checkpoint of the whole backlog at its first commit.
        dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _round(
    first: str,
    store: Store,
    settings: SyncEndpoint,
    rows: int,
    bodies: list[tuple[bytes, dict[str, str]]],
    url: str,
    backlog: Path,
) -> dict[str, Any]:
    """One paired round: the backlog restored, then ours and bare one after the other (``first`` leads)."""
    _snapshot(backlog, outbox_path(store.path))  # every round of ours drains the same stored backlog
    os.sync()  # the copy's write-back now, not while a side is timed
    timings: dict[str, Any] = {}
    for side in (first, "bare" if first == "ours" else "ours"):
        gc.collect()  # the garbage of the side before, collected outside the timing
        cpu = time.process_time()  # this process, every thread: what a side costs beside its wall time
        if side == "ours":
            timings["ours_s"], timings["start_s"], timings["late"] = asyncio.run(_ours(store, settings, rows))
        else:
            timings["bare_s"] = asyncio.run(_bare(bodies, url))
        timings[f"{side}_cpu_s"] = time.process_time() - cpu
    ours_rate, bare_rate = rows / timings["ours_s"], rows / timings["bare_s"]
    return {
        "first": first,
        "ours_rows_per_s": round(ours_rate),
        "bare_rows_per_s": round(bare_rate),
        "ratio": round(ours_rate / bare_rate, 3),
        # CPU per batch of this process (ours includes its start and stop), against the wall time per batch.
        "ours_cpu_ms_per_batch": round(timings["ours_cpu_s"] * 1000 / len(bodies), 3),
        "bare_cpu_ms_per_batch": round(timings["bare_cpu_s"] * 1000 / len(bodies), 3),
        "ours_wall_ms_per_batch": round(timings["ours_s"] * 1000 / len(bodies), 3),
        "bare_wall_ms_per_batch": round(timings["bare_s"] * 1000 / len(bodies), 3),
        "start_s": round(timings["start_s"], 3),
        "late_ms": timings["late"],
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _pin(receiver: int) -> tuple[set[int] | None, dict[str, Any]]:
    """The receiver on a core of its own and this process on the others (Linux, two cores or more);
    the affinity to restore afterwards, and what was done, for the result."""
    if os.environ.get("HMI_BENCH_SYNC_PIN", "1") == "0" or not hasattr(os, "sched_setaffinity"):
        return None, {"pinned": False}
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, {"pinned": False}
    before = set(cpus)
    os.sched_setaffinity(receiver, {cpus[-1]})
    os.sched_setaffinity(0, set(cpus[:-1]))  # threads started from now on inherit it
    return before, {"pinned": True, "receiver_cpus": [cpus[-1]], "client_cpus": cpus[:-1]}


def run(rows: int | None = None, rounds: int | None = None) -> dict[str, Any]:
    """Outage and fill, then paired rounds of both sides against one receiver process; JSON-ready result."""
    rows = rows or int(os.environ.get("HMI_BENCH_SYNC_ROWS", DEFAULT_ROWS))
    rounds = rounds or int(os.environ.get("HMI_BENCH_SYNC_ROUNDS", DEFAULT_ROUNDS))
    # 0 (the default): loopback as it is. More: the receiver waits that long before each answer, as a
    # receiver across a network or writing to its own database would; both sides wait alike.
    latency_ms = float(os.environ.get("HMI_BENCH_SYNC_LATENCY_MS", "0"))
    restore: set[int] | None = None
    placement: dict[str, Any] = {"pinned": False}
    receiver = subprocess.Popen(
        [sys.executable, "-c", RECEIVER, str(latency_ms)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert receiver.stdout is not None
        url = f"http://127.0.0.1:{int(receiver.stdout.readline())}/batches"
        restore, placement = _pin(receiver.pid)
        batch = SyncBatch(rows=BATCH_ROWS, max_age=0.1)
        down = SyncEndpoint(name="bench", url=f"http://127.0.0.1:{_closed_port()}/batches", batch=batch)
        settings = SyncEndpoint(name="bench", url=url, batch=batch)
        if os.environ.get("HMI_BENCH_SYNC_IN_FLIGHT"):
            settings = replace(settings, in_flight=int(os.environ["HMI_BENCH_SYNC_IN_FLIGHT"]))
        with tempfile.TemporaryDirectory() as folder:
            store, outage = asyncio.run(_outage(Path(folder) / "history.db", down, rows))
            try:
                bodies = _bodies(store)
                backlog = Path(folder) / "backlog.sync.db"
                _snapshot(outbox_path(store.path), backlog)
                # Alternating which side leads: neither has the warm receiver and page cache to itself, and
                # each round's pair shares the machine's moment, so a swing of one is seen by the other.
                paired = [
                    _round("ours" if n % 2 == 0 else "bare", store, settings, rows, bodies, url, backlog)
                    for n in range(rounds)
                ]
                # Cold: an endpoint with nothing stored yet (added after the rows were committed, or a
                # state file from before ready batches) reads and encodes while it posts.
                cold = replace(settings, name="bench-cold")
                cold_s, _, cold_lateness = asyncio.run(_ours(store, cold, rows))
                cold_bare_s = asyncio.run(_bare(bodies, url))
            finally:
                store.close()
    finally:
        if restore is not None:
            os.sched_setaffinity(0, restore)
        if receiver.stdin is not None:
            receiver.stdin.close()
        receiver.wait(timeout=10)
        if receiver.stdout is not None:
            receiver.stdout.close()
    late = [round_["late_ms"] for round_ in paired]
    return {
        "rows": rows,
        "batch_rows": BATCH_ROWS,
        "batches": len(bodies),
        "format": "json+gzip",
        # Bare posts one batch at a time and waits for its answer, on one keep-alive connection; ours keeps
        # the endpoint's window of batches posted at once, on as many keep-alive connections.
        "in_flight": {"ours": settings.in_flight, "bare": 1},
        "receiver_latency_ms": latency_ms,
        "client": "httpx.AsyncClient, trust_env off, HTTP/1.1 keep-alive, the same on both sides",
        "rounds": paired,
        "ratio": round(statistics.median(r["ratio"] for r in paired), 3),
        "ratio_min": min(r["ratio"] for r in paired),
        "ratio_max": max(r["ratio"] for r in paired),
        # The fastest drain of each side: what is left when the machine's swings (which only ever add
        # time) are taken out of both.
        "ratio_of_fastest": round(
            max(r["ours_rows_per_s"] for r in paired) / max(r["bare_rows_per_s"] for r in paired), 3
        ),
        "placement": placement,
        "ours_rows_per_s": round(statistics.median(r["ours_rows_per_s"] for r in paired)),
        "bare_rows_per_s": round(statistics.median(r["bare_rows_per_s"] for r in paired)),
        "loop_lateness_ms": {key: max(item[key] for item in late) for key in ("p50", "p99", "max")},
        "start_s": max(r["start_s"] for r in paired),
        **outage,
        "cold_rows_per_s": round(rows / cold_s),
        "cold_ratio": round(cold_bare_s / cold_s, 3),
        "cold_loop_lateness_ms": cold_lateness,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
