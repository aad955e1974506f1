"""The single-writer lock: one store file, one writing process.

A lock file beside the database (``history.db.lock``) is held with an OS lock
(``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows) for as long as the
store is open, and names its holder: pid, host, command line, start time. The
OS lets go of the lock when the holder dies, however it dies, so a lock file
left behind by a dead process is simply taken over.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

if sys.platform == "win32":
    import msvcrt
else:
    import fcntl

LOCK_SUFFIX = ".lock"


@dataclass(frozen=True)
class LockHolder:
    """Who holds a store: enough for an operator to find the process."""

    pid: int
    host: str
    command: str
    started: str  # ISO 8601, local time with offset

    @classmethod
    def this_process(cls) -> LockHolder:
        """The running process."""
        return cls(
            pid=os.getpid(),
            host=socket.gethostname(),
            command=" ".join(sys.orig_argv) or sys.executable,
            started=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        )

    def describe(self) -> str:
        """One line for a message."""
        return f"pid {self.pid} on {self.host}, started {self.started}: {self.command}"


class StoreLocked(Exception):
    """Another process writes this store."""

    def __init__(self, path: Path, holder: LockHolder | None) -> None:
        self.path = path
        self.holder = holder
        who = holder.describe() if holder else "a process that did not record itself"
        super().__init__(
            f"{path} is already being written by another Converge HMI ({who}). "
            "Stop that one first, or give this one another project or data folder."
        )


def lock_path(store_path: Path) -> Path:
    """The lock file beside a store file."""
    return store_path.with_name(store_path.name + LOCK_SUFFIX)


class StoreLock:
    """Held from ``acquire`` to ``release``; a second holder of the same path gets StoreLocked."""

    def __init__(self, store_path: Path) -> None:
        self.store_path = Path(store_path)
        self.path = lock_path(self.store_path)
        self._file: IO[str] | None = None

    @property
    def held(self) -> bool:
        """True between acquire and release."""
        return self._file is not None

    def acquire(self) -> None:
        """Take the lock or raise StoreLocked naming the holder; blocking file IO, call it off a loop."""
        if self._file is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # "a+": never truncates before the lock is ours, so a refused process leaves the holder's record.
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
        try:
            _lock(handle)
        except OSError:
            handle.close()
            raise StoreLocked(self.store_path, read_holder(self.path)) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(asdict(LockHolder.this_process())))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        """Let go; the file stays (its record is stale once unlocked, and the next holder rewrites it)."""
        if self._file is None:
            return
        try:
            _unlock(self._file)
        finally:
            self._file.close()
            self._file = None


def read_holder(path: Path) -> LockHolder | None:
    """The record in a lock file, or None when it is empty or unreadable."""
    try:
        fields = json.loads(path.read_text(encoding="utf-8"))
        return LockHolder(
            pid=int(fields["pid"]),
            host=str(fields["host"]),
            command=str(fields["command"]),
            started=str(fields["started"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


if sys.platform == "win32":
    # msvcrt locks a byte range from the current position, and a locked range cannot be read by
    # others: one byte far past the record stands for the whole file, so a refused process can read it.
    _WINDOWS_LOCK_OFFSET = 1 << 30

    def _lock(handle: IO[str]) -> None:
        handle.seek(_WINDOWS_LOCK_OFFSET)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)

    def _unlock(handle: IO[str]) -> None:
        handle.seek(_WINDOWS_LOCK_OFFSET)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:

    def _lock(handle: IO[str]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(handle: IO[str]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
