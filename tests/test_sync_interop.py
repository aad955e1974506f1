"""Line protocol into a real InfluxDB 1.x and a real VictoriaMetrics on loopback, queried back row for row.

The dataset has bad-quality samples and tag names with dots, spaces, commas, equals signs, quotes and
unicode. Both servers are Debian packages (.ci/run installs them); without them these tests skip locally.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import textwrap
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import require_program
from sync_store import FilledStore, endpoint, service

from hmi.model import Quality, Reason, Sample

ODD_TAGS = ["TANK1.LEVEL", "Pump 2 speed", "a,b=c", 'quote"d', "Température °C", "back\\slash"]
ROWS_PER_TAG = 50


def http(url: str, data: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, response.read()


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, f"the server exited: {log.read_text(errors='replace')[-2000:]}"
        try:
            http(url)
            return
        except OSError:
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.1)


def start(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def dataset(tmp_path: Path) -> Iterator[tuple[FilledStore, dict[tuple[str, int], tuple[float, str]]]]:
    """Samples of the odd tags on whole milliseconds within the last hour; every fifth one bad."""
    store = FilledStore(tmp_path / "history.db")
    base = int(time.time()) - 3600
    expected: dict[tuple[str, int], tuple[float, str]] = {}
    for t, tag in enumerate(ODD_TAGS):
        for i in range(ROWS_PER_TAG):
            ts = base + i + t / 1000  # whole milliseconds: VictoriaMetrics keeps milliseconds
            value = t * 1000.0 + i + 0.25
            bad = i % 5 == 4
            quality = Quality.BAD if bad else Quality.GOOD
            store.add(tag, Sample(value, quality, ts, Reason.COMM_FAILURE if bad else Reason.NONE))
            expected[(tag, round(ts * 1000))] = (value, "bad" if bad else "good")
    store.commit()
    try:
        yield store, expected
    finally:
        store.close()


async def sync_all(store: FilledStore, url: str, rows: int) -> None:
    sync = service(store, endpoint(url, format="influx-line", streams=("history",)))
    await sync.start()
    try:
        for _ in range(400):  # bounded: 20 s
            [status] = sync.status()
            if status.delivered_rows >= rows:
                break
            await asyncio.sleep(0.05)
        [status] = sync.status()
        assert status.delivered_rows == rows, status
        assert status.quarantined == 0, status.last_error
    finally:
        await sync.stop()


def test_influxdb_1x_takes_every_row_and_gives_it_back(tmp_path: Path, free_port, dataset) -> None:
    influxd = require_program("influxd")
    store, expected = dataset
    port, rpc = free_port(), free_port()
    config = tmp_path / "influxdb.conf"
    config.write_text(
        textwrap.dedent(
            f"""\
            reporting-disabled = true
            bind-address = "127.0.0.1:{rpc}"
            [meta]
              dir = "{tmp_path}/meta"
            [data]
              dir = "{tmp_path}/data"
              wal-dir = "{tmp_path}/wal"
              query-log-enabled = false
            [monitor]
              store-enabled = false
            [http]
              bind-address = "127.0.0.1:{port}"
              log-enabled = false
            [continuous_queries]
              enabled = false
            """
        ),
        encoding="utf-8",
    )
    server = start([influxd, "-config", str(config)], tmp_path / "influxd.log")
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/ping", server, tmp_path / "influxd.log")
        http(f"{base}/query", urllib.parse.urlencode({"q": "CREATE DATABASE plant"}).encode())
        asyncio.run(sync_all(store, f"{base}/write?db=plant&precision=ns", len(expected)))
        query = urllib.parse.urlencode({"db": "plant", "q": "SELECT * FROM history", "epoch": "ns"})
        _, body = http(f"{base}/query?{query}")
    finally:
        stop(server)
    [series] = json.loads(body)["results"][0]["series"]
    columns = series["columns"]
    got = {}
    for values in series["values"]:
        row = dict(zip(columns, values, strict=True))
        assert row["station"] == "Test Plant"
        got[(row["tag"], row["time"] // 1_000_000)] = (row["value"], row["quality"])
        if row["quality"] == "bad":
            assert row["reason"] == "comm failure"
    assert got == expected


def test_victoria_metrics_takes_every_row_and_gives_it_back(tmp_path: Path, free_port, dataset) -> None:
    binary = require_program("victoria-metrics")
    store, expected = dataset
    port = free_port()
    command = [
        binary,
        f"-storageDataPath={tmp_path}/vm",
        f"-httpListenAddr=127.0.0.1:{port}",
        "-retentionPeriod=100y",
        "-search.disableCache",
    ]
    server = start(command, tmp_path / "vm.log")
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/health", server, tmp_path / "vm.log")
        asyncio.run(sync_all(store, f"{base}/write", len(expected)))
        http(f"{base}/internal/force_flush")
        match = urllib.parse.urlencode({"match[]": '{__name__="history_value"}'})
        _, body = http(f"{base}/api/v1/export?{match}")
    finally:
        stop(server)
    got = {}
    for line in body.decode().splitlines():
        series = json.loads(line)
        labels = series["metric"]
        assert labels["station"] == "Test Plant"
        for value, ts in zip(series["values"], series["timestamps"], strict=True):
            got[(labels["tag"], ts)] = (value, labels["quality"])
    assert got == expected
