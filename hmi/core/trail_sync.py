"""The audit trail as a sync stream: the station gives sync the trail's reader (sync imports no security)."""

from __future__ import annotations

from pathlib import Path

from hmi.security.audit import AUDIT_STREAM, read_records
from hmi.sync.audit_source import file_source
from hmi.sync.source import StoreSource


def trail_streams(trail: Path) -> dict[str, StoreSource]:
    """The ``audit`` stream, read from the trail file at ``trail`` (``<history>-audit.db``)."""
    return {AUDIT_STREAM: file_source(trail, AUDIT_STREAM, read_records)}
