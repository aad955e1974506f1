"""Streams kept in files of their own, read beside the store's: the audit trail (``<history>-audit.db``).

The trail lives in a file of its own so that ``hmi write`` can append to it while the station runs;
its records carry a ``seq`` from the same per-stream sequence machinery, so the cursor, the batch in
flight and the idempotency keys work for it exactly as for the history and the alarms.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hmi.sync.source import Reader, StoreSource


class JoinedSource(StoreSource):
    """A store's streams plus streams kept in other files, each read from its own source.

    The state file (outbox) stays the one beside the main store: ``path`` is the main store's.
    """

    def __init__(self, main: StoreSource, others: Mapping[str, StoreSource]) -> None:
        """``others``: a source for each stream not in ``main`` (a stream of both reads from ``others``)."""
        super().__init__(main.path, main.readers, main.busy_timeout, main.tuple_readers)
        self.main = main
        self.others = dict(others)
        self.streams = main.streams | frozenset(self.others)

    def _for(self, stream: str) -> StoreSource:
        return self.others.get(stream, self.main)

    def read(self, stream: str, after: int, limit: int, tuples: bool = False) -> list[Any]:
        """Rows of ``stream`` committed after seq ``after``, from the file that holds the stream."""
        return self._for(stream).read(stream, after, limit, tuples)

    def has_tuples(self, stream: str) -> bool:
        """Whether ``stream`` reads its rows as tuples too."""
        return self._for(stream).has_tuples(stream)

    def last(self, stream: str) -> int:
        """The last seq committed on ``stream`` (0 before its first commit or before its file exists)."""
        return self._for(stream).last(stream)

    def close(self) -> None:
        """Close every source's connections."""
        self.main.close()
        for source in self.others.values():
            source.close()


def file_source(path: Path, stream: str, reader: Reader, busy_timeout: float = 5.0) -> StoreSource:
    """The one ``stream`` of the file at ``path``, read with ``reader`` (read-only; the runtime side
    hands the reader in: the audit trail's belongs to security, which sync does not import)."""
    return StoreSource(path, {stream: reader}, busy_timeout)
