"""A real store (history and alarm journal) in a temp folder, filled for the sync tests."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from sync_receiver import Receiver

from hmi.alarms.engine import AlarmEvent, AlarmState, EventKind
from hmi.alarms.journal import AlarmJournal
from hmi.historian.writer import HistoryWriter
from hmi.model import Quality, Reason, Sample
from hmi.project.config import Project
from hmi.project.loader import load_project
from hmi.project.sync_settings import SyncBatch, SyncEndpoint
from hmi.store import Store
from hmi.sync.service import SyncService
from hmi.sync.source import StoreSource


class FilledStore:
    """Store + history + journal on ``path``; ``add_*`` queue rows, ``commit`` waits until they are in."""

    def __init__(self, path: Path) -> None:
        self.store = Store(path, commit_interval=0.05)
        self.history = HistoryWriter(path, writer=self.store.writer)
        self.journal = AlarmJournal(self.store.writer)
        self.store.open()
        self._samples = 0
        self._events = 0

    def add_samples(self, count: int, start: float = 1.7e9, tags: int = 5) -> None:
        """``count`` samples over ``tags`` tags, every tenth bad."""
        for i in range(count):
            n = self._samples + i
            if n % 10 == 9:
                sample = Sample(float(n), Quality.BAD, start + n, Reason.COMM_FAILURE)
            else:
                sample = Sample.good(float(n), start + n)
            self.history.append(f"T{n % tags}", sample)
        self._samples += count

    def add(self, tag: str, sample: Sample) -> None:
        """One sample as given."""
        self.history.append(tag, sample)
        self._samples += 1

    def add_late_sample(self, tag: str, value: float, ts: float) -> None:
        """A sample whose timestamp is older than what is stored already."""
        self.history.append(tag, Sample.good(value, ts))
        self._samples += 1

    def add_events(self, count: int) -> None:
        """``count`` alarm events."""
        for i in range(count):
            n = self._events + i
            kind = EventKind.RAISED if n % 2 == 0 else EventKind.CLEARED
            self.journal.append(
                AlarmEvent(time.time(), f"A{n % 3}", kind, AlarmState.UNACKED, "high", float(n), f"event {n}")
            )
        self._events += count

    def commit(self, timeout: float = 30.0) -> None:
        """Wait (bounded) until everything queued is committed."""
        deadline = time.monotonic() + timeout
        while self.history.stream_stats().written + self.journal.stream_stats().written < (
            self._samples + self._events
        ):
            assert time.monotonic() < deadline, "the store did not commit in time"
            time.sleep(0.02)

    def source(self) -> StoreSource:
        """What the sync service reads."""
        return StoreSource.of(self.store)

    def close(self) -> None:
        """Commit and release the file."""
        self.store.close()


def endpoint(url: str, **overrides: Any) -> SyncEndpoint:
    """A test endpoint: quick retries, small batches, short age."""
    base = SyncEndpoint(
        name="ent",
        url=url,
        batch=SyncBatch(rows=200, max_age=0.05),
        retry_initial=0.02,
        retry_max=0.2,
        read_timeout=5.0,
        flush_timeout=10.0,
    )
    return replace(base, **overrides)


def service(filled: FilledStore, *endpoints: SyncEndpoint) -> SyncService:
    """A sync service over ``filled``'s store."""
    return SyncService(endpoints, filled.source(), "Test Plant", frozenset())


@contextmanager
def filled_store(path: Path, samples: int = 0, events: int = 0) -> Iterator[FilledStore]:
    """A store on ``path`` with ``samples`` samples and ``events`` alarm events committed; closed after."""
    store = FilledStore(path)
    try:
        if samples:
            store.add_samples(samples)
        if events:
            store.add_events(events)
        if samples or events:
            store.commit()
        yield store
    finally:
        store.close()


def sync_project(root: Path, url: str) -> Project:
    """A project in the new folder ``root``: one endpoint, ``ent``, taking 100-row batches at ``url``."""
    root.mkdir()
    (root / "project.yaml").write_text(
        f'name: Plant\nsync:\n  ent:\n    url: "{url}"\n    batch: {{rows: 100, max_age: 50ms}}\n',
        encoding="utf-8",
    )
    return load_project(root)


def sync_once(project: Project, filled: FilledStore, receiver: Receiver, wanted: dict[str, int]) -> None:
    """Run the project's sync service over ``filled`` until ``receiver`` holds ``wanted[stream]`` rows of
    each stream (waited for in that order), then stop it."""

    def holds(stream: str, rows: int) -> bool:
        return len(receiver.rows(stream)) >= rows

    async def run() -> None:
        service = SyncService(project.sync.values(), filled.source(), project.name)
        await service.start()
        for stream, rows in wanted.items():
            await asyncio.to_thread(receiver.wait_for, functools.partial(holds, stream, rows))
        await service.stop()

    asyncio.run(run())
