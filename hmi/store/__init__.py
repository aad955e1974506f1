"""One store per project's SQLite file: the migration registry, one shared bounded batch writer,
append-only sequences per stream, and the single-writer lock.

Runtime-side: no Qt. Components (history, the alarm journal, ...) import this package, never the reverse.
"""

from hmi.store.event_stream import EventStream
from hmi.store.lock import LockHolder, StoreLock, StoreLocked
from hmi.store.migrations import Component, MigrationRegistry, SchemaError
from hmi.store.queues import FlaggingQueue, OverflowPolicy
from hmi.store.stats import StreamStats, WriterStats
from hmi.store.store import Store, read_since
from hmi.store.writer import StoreWriter, Stream

__all__ = [
    "Component",
    "EventStream",
    "FlaggingQueue",
    "LockHolder",
    "MigrationRegistry",
    "OverflowPolicy",
    "SchemaError",
    "Store",
    "StoreLock",
    "StoreLocked",
    "StoreWriter",
    "Stream",
    "StreamStats",
    "WriterStats",
    "read_since",
]
