"""The validated ``sync:`` section as plain frozen values: what the sync service runs on (no pydantic)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class SyncBatch:
    """When a batch is cut: at ``rows`` rows, ``bytes`` bytes of encoded rows, or ``max_age`` seconds."""

    rows: int = 5000
    bytes: int = 4 * 1024**2
    max_age: float = 2.0


@dataclass(frozen=True, slots=True)
class SyncAuth:
    """Where the secret comes from: an environment variable or a keyring entry (never the file)."""

    token_env: str | None = None
    token_keyring: tuple[str, str] | None = None  # (service, user)
    header: str = "Authorization"
    scheme: str = "Bearer"  # prefix before the secret; empty for a bare API key header


@dataclass(frozen=True, slots=True)
class SyncTls:
    """TLS verification (on unless turned off), a custom CA bundle, a client certificate (mTLS)."""

    verify: bool = True
    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None


@dataclass(frozen=True, slots=True)
class SyncEndpoint:
    """One enterprise endpoint and the streams it receives."""

    name: str
    url: str
    format: str = "json"  # json | influx-line
    streams: tuple[str, ...] = ("history", "alarms")
    batch: SyncBatch = field(default_factory=SyncBatch)
    gzip: bool = True
    auth: SyncAuth = field(default_factory=SyncAuth)
    tls: SyncTls = field(default_factory=SyncTls)
    proxy: str | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    retry_initial: float = 0.5
    retry_max: float = 60.0
    flush_timeout: float = 5.0
    in_flight: int = 2  # batches posted at once (1: one at a time, strictly in seq order)
    quality: str = "tag"  # influx-line: quality (and reason) as tags, or as string fields
    measurements: dict[str, str] = field(default_factory=dict)  # influx-line: stream -> measurement
    enabled: bool = True

    def measurement(self, stream: str) -> str:
        """The line-protocol measurement of ``stream`` (its own name unless configured)."""
        return self.measurements.get(stream, stream)
