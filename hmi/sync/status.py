"""What one endpoint's stream looks like from outside: backlog, rate, last success and error, quarantine."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hmi.project.sync_settings import SyncEndpoint
from hmi.sync.outbox import Outbox
from hmi.sync.source import last_seq


@dataclass(frozen=True, slots=True)
class StreamStatus:
    """One endpoint's stream; times are epoch seconds, None when it never happened."""

    endpoint: str
    stream: str
    state: str  # idle | sending | retrying | waiting (no such stream yet) | stopped | disabled
    cursor: int
    backlog_rows: int
    backlog_age_s: float
    rows_per_s: float
    delivered_rows: int
    last_success: float | None
    last_error: str  # the latest failure, kept after later successes (compare last_error_at)
    last_error_at: float | None
    quarantined: int
    inflight: str | None  # the key of the batch in flight
    skipped: int = 0  # numbers that held no row when read (replaced, or purged by retention first)
    lost_rows: int = 0  # stored rows forgotten past the history's retention or size limit, undelivered
    at_risk: bool = False  # the oldest undelivered row is near the retention or size limit

    def as_dict(self) -> dict[str, Any]:
        """Plain values for ``--format json``."""
        return asdict(self)


def read_status(
    outbox: Outbox,
    history_path: Path,
    endpoints: dict[str, SyncEndpoint],
    stream_files: Mapping[str, Path] | None = None,
) -> list[StreamStatus]:
    """Every configured endpoint's streams as recorded in the files (blocking; any process).

    ``stream_files``: streams kept in a file of their own (the audit trail), by stream name.
    """
    found: list[StreamStatus] = []
    now = time.time()
    for name, endpoint in endpoints.items():
        quarantined = outbox.quarantined(name)
        for stream in endpoint.streams:
            cursor = outbox.cursor(name, stream)
            inflight = outbox.inflight(name, stream)
            source = (stream_files or {}).get(stream, history_path)
            backlog = max(0, last_seq(source, stream) - cursor.seq)
            # The oldest rows not delivered waited since they were batched, else since the last delivery.
            since = inflight.created if inflight else cursor.last_success
            found.append(
                StreamStatus(
                    endpoint=name,
                    stream=stream,
                    state="recorded" if endpoint.enabled else "disabled",
                    cursor=cursor.seq,
                    backlog_rows=backlog,
                    backlog_age_s=round(now - since, 3) if backlog and since else 0.0,
                    rows_per_s=cursor.rows_per_s,
                    delivered_rows=cursor.delivered_rows,
                    last_success=cursor.last_success,
                    last_error=cursor.last_error,
                    last_error_at=cursor.last_error_at,
                    quarantined=sum(1 for batch in quarantined if batch.stream == stream),
                    inflight=inflight.key if inflight else None,
                    lost_rows=cursor.lost_rows,
                )
            )
    return found
