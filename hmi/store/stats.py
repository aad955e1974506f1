"""Typed counters of the store's writer and of each stream, as consistent snapshots."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StreamStats:
    """One stream: what it queued, wrote, and lost or refused (never silently)."""

    name: str
    policy: str  # an OverflowPolicy's value
    pending: int  # queued plus in the batch being committed or retried
    written: int
    dropped: int  # lost: oldest dropped (history), or left uncommitted at a stop
    refused: int = 0  # offered to a full or closed queue (REFUSE_AND_FLAG streams)
    full: bool = False  # health flag: the queue reached its bound
    last_seq: int = 0  # the last sequence number committed


@dataclass(frozen=True, slots=True)
class WriterStats:
    """The one writer thread of a store file."""

    running: bool
    commits: int
    failed_attempts: int
    last_commit_ms: float
    last_error: str
    failing: bool
    disk_full: bool
    retry_in_s: float  # the current backoff while failing, else 0
    faults: int = 0  # unexpected errors the thread survived (a bug, an absurd setting): each one logged
    fault: str = ""  # the last one, until a whole cycle runs clean again
