"""Render the sync panel while a backlog drains after an outage into a PNG (the documentation screenshot).

QT_QPA_PLATFORM=offscreen python -m tools.sync_screenshot docs/screenshots/sync-drain.png

One endpoint comes back after an outage and drains its backlog to a loopback receiver; a
second (a time-series database) is still down, so its rows wait and its last error shows.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.sync import RECEIVER
from hmi.alarms.engine import AlarmEvent, AlarmState, EventKind
from hmi.alarms.journal import AlarmJournal
from hmi.core.loop_thread import LoopThread
from hmi.historian.writer import HistoryWriter
from hmi.model import Sample
from hmi.project.loader import load_project
from hmi.store import Store
from hmi.sync.service import SyncService
from hmi.sync.source import StoreSource
from tools.demo_window import process_events_until, themed_app

BACKLOG = 400_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _project(folder: Path, url: str) -> Path:
    (folder / "project.yaml").write_text(
        "name: Demo Plant\n"
        "sync:\n"
        f'  enterprise: {{url: "{url}", streams: [history, alarms], batch: {{rows: 2000}}}}\n'
        f'  tsdb: {{url: "http://127.0.0.1:{_free_port()}/write?db=plant", format: influx-line,'
        " streams: [history], retry: {max: 2s}}\n",
        encoding="utf-8",
    )
    return folder


def _backlog(path: Path) -> Store:
    store = Store(path, commit_interval=0.2)
    history = HistoryWriter(path, writer=store.writer, max_pending=BACKLOG + 1)
    journal = AlarmJournal(store.writer)
    store.open()
    start = time.time() - 6 * 3600
    history.extend((f"TAG{n % 200:03d}", Sample.good(float(n % 97), start + n / 20)) for n in range(BACKLOG))
    for n in range(300):
        kind = EventKind.RAISED if n % 2 == 0 else EventKind.CLEARED
        journal.append(
            AlarmEvent(start + n * 60, f"TANK{n % 3}.HI", kind, AlarmState.UNACKED, "high", 91.0, "hi")
        )
    while history.stream_stats().written < BACKLOG:
        time.sleep(0.1)
    return store


def _mid_drain(statuses: list[Any]) -> bool:
    """True once the enterprise history stream has delivered a third of the backlog and still has rows."""
    history = [s for s in statuses if s.endpoint == "enterprise" and s.stream == "history"]
    return bool(history) and history[0].delivered_rows > BACKLOG // 3 and bool(history[0].backlog_rows)


def render(out: Path) -> None:
    """Drain, show the panel for a few refreshes mid-drain, save ``out``."""
    from hmi.ui.futures import FutureRelay
    from hmi.ui.sync_panel import SyncPanel

    app = themed_app()
    receiver = subprocess.Popen(
        [sys.executable, "-c", RECEIVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    loop = LoopThread("hmi-screenshot-sync")
    try:
        assert receiver.stdout is not None
        url = f"http://127.0.0.1:{int(receiver.stdout.readline())}/batches"
        with tempfile.TemporaryDirectory() as name:
            project = load_project(_project(Path(name), url))
            store = _backlog(project.history.path)
            sync = SyncService(project.sync.values(), StoreSource.of(store), project.name)
            loop.start()
            loop.call(sync.start())
            panel = SyncPanel(project.sync)
            panel.resize(1300, 150)

            class Context:
                relay = FutureRelay()

            panel._context = Context()  # type: ignore[assignment]  # the panel's only need outside a window
            panel._executor = __import__("concurrent.futures").futures.ThreadPoolExecutor(1)
            panel.start(project.history.path)
            panel.show()
            process_events_until(app, lambda: _mid_drain(panel.statuses), seconds=30, step=0.05)
            for _ in range(20):
                app.processEvents()
                time.sleep(0.01)
            out.parent.mkdir(parents=True, exist_ok=True)
            panel.grab().save(str(out))
            panel.detach()
            loop.call(sync.stop(budget=1.0))
            store.close()
    finally:
        loop.stop()
        if receiver.stdin is not None:
            receiver.stdin.close()
        receiver.wait(timeout=10)
        if receiver.stdout is not None:
            receiver.stdout.close()


def main() -> None:
    """Command line: the output file."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    render(parser.parse_args().out)


if __name__ == "__main__":
    main()
