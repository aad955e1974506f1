"""A small project with two alarms, and its alarm journal filled by a real engine, for the journal readers."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from hmi.alarms.engine import AlarmEngine
from hmi.alarms.journal import AlarmJournal
from hmi.project.config import Project
from hmi.project.loader import load_project
from hmi.store import Store

JOURNAL_PROJECT = """\
name: Journal
connections:
  plc1: {driver: modbus, host: 127.0.0.1, port: 5020}
tags:
  LEVEL: {connection: plc1, address: "hr:0", type: float32}
  TEMP: {connection: plc1, address: "hr:2", type: float32}
alarms:
  LEVEL.HI: {tag: LEVEL, type: hi, limit: 80, priority: high, area: tanks, message: "Level high"}
  TEMP.HIHI: {tag: TEMP, type: hihi, limit: 90, priority: urgent, area: boiler, message: "Temp very high"}
history: {path: history.db}
"""


@contextmanager
def journalling(
    root: Path, text: str = JOURNAL_PROJECT, clock: Callable[[], float] = time.time
) -> Iterator[tuple[Project, AlarmEngine, AlarmJournal]]:
    """The project ``text`` written into ``root``, and an engine on ``clock`` whose every event goes to
    the project's journal; the store is closed (all committed) on the way out."""
    (root / "project.yaml").write_text(textwrap.dedent(text), "utf-8")
    project = load_project(root)
    engine = AlarmEngine(project.alarms, clock=clock)
    store = Store(project.history.path, 0.05)
    journal = AlarmJournal(store.writer)
    store.open()
    try:
        engine.subscribe(journal.on_event)
        yield project, engine, journal
    finally:
        store.close()
