"""``hmi bench sync``: drain a history backlog to a loopback receiver, against a bare HTTP client.

A store with ``HMI_BENCH_SYNC_ROWS`` samples (default 2,000,000) is drained by the
sync service (read from SQLite, encode as JSON batches, gzip, record the in-flight
batch, post, advance the cursor) to a receiver in its own process (TCP_NODELAY; it
reads each body and answers 204). The bare side posts the same batches, encoded and
compressed beforehand, with the same httpx client settings, one after the other. The
result is our rows/s, the bare rows/s and their ratio, plus how late a 10 ms ticker on
the sync's event loop woke while it drained: what a poll on the runtime loop would suffer.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from hmi.historian.writer import HistoryWriter
from hmi.model import Sample
from hmi.project.sync_settings import SyncBatch, SyncEndpoint
from hmi.store import Store
from hmi.sync.encoder import Encoder
from hmi.sync.forwarder import batch_headers
from hmi.sync.outbox import Batch
from hmi.sync.service import SyncService
from hmi.sync.source import StoreSource

DEFAULT_ROWS = 2_000_000
BATCH_ROWS = 5000
TAGS = 1000

RECEIVER = r"""
import asyncio, socket, sys

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


def _fill(path: Path, rows: int) -> Store:
    store = Store(path, commit_interval=0.5)
    history = HistoryWriter(path, writer=store.writer, max_pending=rows + 1)
    store.open()
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
    return store


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


async def _ours(store: Store, settings: SyncEndpoint, rows: int) -> tuple[float, dict[str, float]]:
    source = StoreSource.of(store)
    sync = SyncService([settings], source, "Bench Plant", outbox=store.path.with_name("bench.sync.db"))
    ticker = _Ticker()
    began = time.perf_counter()
    await sync.start()
    ticker.start()
    try:
        for _ in range(90_000):  # bounded: 30 minutes
            if sync.status()[0].delivered_rows >= rows:
                break
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - began
    finally:
        await ticker.stop()
        await sync.stop()
    return elapsed, _summary(ticker.late_ms)


async def _bare(bodies: list[tuple[bytes, dict[str, str]]], url: str) -> float:
    async with httpx.AsyncClient(trust_env=False, timeout=30.0) as client:
        began = time.perf_counter()
        for body, headers in bodies:
            response = await client.post(url, content=body, headers=headers)
            response.raise_for_status()
        return time.perf_counter() - began


def _bodies(store: Store, settings: SyncEndpoint, rows: int) -> list[tuple[bytes, dict[str, str]]]:
    encoder = Encoder(settings, "Bench Plant")
    out: list[tuple[bytes, dict[str, str]]] = []
    after = 0
    while after < rows:
        batch_rows = store.read_since("history", after, BATCH_ROWS)
        if not batch_rows:
            break
        body = encoder.body("history", batch_rows, f"bare-{after}")
        batch = Batch(f"bare-{after}", "bench", "history", body.seq_first, body.seq_last, body.rows,
                      len(body.content), "inflight", 0.0, content_type=body.content_type,
                      content_encoding=body.content_encoding)  # fmt: skip
        out.append((body.content, batch_headers(batch)))
        after = body.seq_last
    return out


def run(rows: int | None = None) -> dict[str, Any]:
    """Fill, then drain with both sides against one receiver process; JSON-ready result."""
    rows = rows or int(os.environ.get("HMI_BENCH_SYNC_ROWS", DEFAULT_ROWS))
    receiver = subprocess.Popen(
        [sys.executable, "-c", RECEIVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert receiver.stdout is not None
        url = f"http://127.0.0.1:{int(receiver.stdout.readline())}/batches"
        settings = SyncEndpoint(name="bench", url=url, batch=SyncBatch(rows=BATCH_ROWS, max_age=0.1))
        with tempfile.TemporaryDirectory() as folder:
            began = time.perf_counter()
            store = _fill(Path(folder) / "history.db", rows)
            filled_s = time.perf_counter() - began
            try:
                bodies = _bodies(store, settings, rows)
                bare_s = asyncio.run(_bare(bodies, url))
                ours_s, lateness = asyncio.run(_ours(store, settings, rows))
            finally:
                store.close()
    finally:
        if receiver.stdin is not None:
            receiver.stdin.close()
        receiver.wait(timeout=10)
        if receiver.stdout is not None:
            receiver.stdout.close()
    ours_rate, bare_rate = rows / ours_s, rows / bare_s
    return {
        "rows": rows,
        "batch_rows": BATCH_ROWS,
        "format": "json+gzip",
        "ours_rows_per_s": round(ours_rate),
        "bare_rows_per_s": round(bare_rate),
        "ratio": round(ours_rate / bare_rate, 3),
        "loop_lateness_ms": lateness,
        "fill_s": round(filled_s, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
