"""A project's audit trail as a running writer: records queue without blocking, a thread commits them."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from hmi.security.audit import AuditEntry, AuditStream
from hmi.security.audit_key import load_key
from hmi.store.writer import StoreWriter

log = logging.getLogger(__name__)


class AuditTrail:
    """Appends audit entries to the trail file at ``path``.

    It takes no single-writer lock of its own: the chain's tip is read inside each commit, so the
    station and ``hmi write`` may append to the same file side by side.
    """

    def __init__(
        self, path: Path, commit_interval: float = 0.2, clock: Callable[[], float] = time.time
    ) -> None:
        """A closed trail; ``start`` creates or migrates the file."""
        self.path = Path(path)
        self.clock = clock
        self._writer = StoreWriter(self.path, commit_interval)
        self.stream = AuditStream(self._writer)

    def start(self) -> None:
        """Create or migrate the file and start committing. Blocking: call it off any event loop."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.stream.key = load_key(create=True)
        self._writer.start()

    def record(self, entry: AuditEntry) -> bool:
        """Queue ``entry`` (time-stamped now unless it has a time); never blocks. False when refused."""
        stamped = entry if entry.ts else replace(entry, ts=self.clock())
        accepted = self.stream.append(stamped)
        if not accepted:
            log.error("audit trail %s refused a record (queue full or closed): %s", self.path, stamped)
        return accepted

    def stop(self, timeout: float = 5.0) -> None:
        """Commit what is queued (bounded) and end the writer thread. Blocking."""
        self._writer.stop(timeout)
