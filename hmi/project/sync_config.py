"""The ``sync:`` section of ``project.yaml`` as strict pydantic models (see docs/sync.md).

Secrets never live in a project file: a ``token``, ``api_key`` or ``password`` key, a
password inside a URL, or a credential in the URL's query is an error that names the
safe alternative (an environment variable or the OS keyring).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlsplit

from pydantic import BeforeValidator, Field, StrictBool, StrictInt, field_validator, model_validator

from hmi.project.schema_base import (
    ENV_NAME,
    PathText,
    PositiveDuration,
    StrictModel,
    Text,
    _none_as_empty,
    project_file,
    size_within,
    within,
)
from hmi.project.sync_settings import SyncAuth, SyncBatch, SyncEndpoint, SyncTls
from hmi.project.units import parse_size

__all__ = ["SyncEndpointSpec", "SyncSection", "sync_settings"]

_SECRET_QUERY_KEYS = frozenset({"p", "password", "token", "api_key", "apikey", "secret", "access_token"})
_PLAINTEXT = (
    "a plaintext secret in the project file; give token_env: NAME (an environment variable)"
    " or token_keyring: SERVICE/USER (the OS keyring) instead"
)

StreamName = Literal["history", "alarms", "events", "audit"]
_DEFAULT_STREAMS: list[StreamName] = ["history", "alarms"]

BatchRows = Annotated[StrictInt, Field(ge=1, le=1_000_000)]
BatchBytes = Annotated[int, BeforeValidator(parse_size), size_within("1KB", "256MB")]
BatchAge = Annotated[PositiveDuration, within("10ms", "1h")]
Timeout = Annotated[PositiveDuration, within("100ms", "10m")]
RetryDelay = Annotated[PositiveDuration, within("10ms", "1h")]
FlushTimeout = Annotated[PositiveDuration, within("100ms", "10m")]
InFlight = Annotated[StrictInt, Field(ge=1, le=8)]  # batches posted at once; 1 is strictly in order


def _no_plaintext(value: Any) -> Any:
    if value is not None:
        raise ValueError(_PLAINTEXT)
    return value


Plaintext = Annotated[Any, BeforeValidator(_no_plaintext)]


class SyncBatchSpec(StrictModel):
    """Batch limits: rows, bytes of encoded rows (``4MB``), and the age of the oldest row waiting."""

    rows: BatchRows = 5000
    bytes: BatchBytes = 4 * 1024**2
    max_age: BatchAge = 2.0


class SyncAuthSpec(StrictModel):
    """A bearer token (or an API key header) read from the environment or the OS keyring at start."""

    token_env: str | None = None
    token_keyring: str | None = None
    header: Text = "Authorization"
    scheme: str = "Bearer"
    token: Plaintext = None
    api_key: Plaintext = None
    password: Plaintext = None

    @field_validator("token_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not ENV_NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not an environment variable name")
        return value

    @field_validator("token_keyring")
    @classmethod
    def _keyring_entry(cls, value: str) -> str:
        service, slash, user = value.partition("/")
        if not slash or not service or not user:
            raise ValueError(f"{value!r} is not SERVICE/USER (a keyring service and user name)")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> SyncAuthSpec:
        if self.token_env and self.token_keyring:
            raise ValueError("give token_env or token_keyring, not both")
        if not (self.token_env or self.token_keyring):
            raise ValueError("needs token_env: NAME or token_keyring: SERVICE/USER")
        return self

    def to_settings(self) -> SyncAuth:
        """The validated source of the secret."""
        keyring = tuple(self.token_keyring.split("/", 1)) if self.token_keyring else None
        return SyncAuth(self.token_env, keyring, self.header, self.scheme)  # type: ignore[arg-type]


class SyncTlsSpec(StrictModel):
    """TLS: verification on by default, a CA bundle, a client certificate and key for mutual TLS."""

    verify: StrictBool = True
    ca: PathText | None = None
    cert: PathText | None = None
    key: PathText | None = None

    @model_validator(mode="after")
    def _pairs(self) -> SyncTlsSpec:
        if self.key is not None and self.cert is None:
            raise ValueError("key: needs cert: (the client certificate it belongs to)")
        if not self.verify and self.ca is not None:
            raise ValueError("ca: is only used with verify: true")
        return self

    def to_settings(self, root: Path) -> SyncTls:
        """Files relative to the project folder ``root``."""

        def file(value: str | None) -> Path | None:
            return None if value is None else project_file(root, value)

        return SyncTls(self.verify, file(self.ca), file(self.cert), file(self.key))


class SyncTimeoutSpec(StrictModel):
    """How long to wait for a connection and for each read of the answer."""

    connect: Timeout = 5.0
    read: Timeout = 30.0


class SyncRetrySpec(StrictModel):
    """Capped exponential backoff with jitter between attempts at one batch."""

    initial: RetryDelay = 0.5
    max: RetryDelay = 60.0

    @model_validator(mode="after")
    def _ordered(self) -> SyncRetrySpec:
        if self.initial > self.max:
            raise ValueError(f"initial ({self.initial:g} s) must not exceed max ({self.max:g} s)")
        return self


def _check_url(value: str, key: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http:// or https:// URL with a host")
    if parts.password is not None:
        raise ValueError(f"{key} holds a password: {_PLAINTEXT}")
    secret = sorted({name for name, _ in parse_qsl(parts.query)} & _SECRET_QUERY_KEYS)
    if secret:
        raise ValueError(f"{key} holds a credential in its query ({', '.join(secret)}=): {_PLAINTEXT}")
    return value


class SyncEndpointSpec(StrictModel):
    """One enterprise endpoint: where, what (streams, format), how (batch, auth, tls, proxy, timeouts)."""

    url: Text
    format: Literal["json", "influx-line"] = "json"
    streams: list[StreamName] = Field(default_factory=lambda: list(_DEFAULT_STREAMS), min_length=1)
    batch: Annotated[SyncBatchSpec, BeforeValidator(_none_as_empty)] = SyncBatchSpec()
    gzip: StrictBool = True
    auth: SyncAuthSpec | None = None
    tls: Annotated[SyncTlsSpec, BeforeValidator(_none_as_empty)] = SyncTlsSpec()
    proxy: str | None = None
    timeout: Annotated[SyncTimeoutSpec, BeforeValidator(_none_as_empty)] = SyncTimeoutSpec()
    retry: Annotated[SyncRetrySpec, BeforeValidator(_none_as_empty)] = SyncRetrySpec()
    flush_timeout: FlushTimeout = 5.0
    in_flight: InFlight = 2
    quality: Literal["tag", "field"] = "tag"
    measurements: dict[StreamName, Text] = Field(default_factory=dict)
    enabled: StrictBool = True
    token: Plaintext = None
    api_key: Plaintext = None
    password: Plaintext = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_url(value, "url")

    @field_validator("proxy")
    @classmethod
    def _proxy(cls, value: str) -> str:
        return _check_url(value, "proxy")

    @field_validator("streams")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        twice = sorted({name for name in value if value.count(name) > 1})
        if twice:
            raise ValueError(f"names {', '.join(twice)} more than once")
        return value

    @model_validator(mode="after")
    def _tls_only_on_https(self) -> SyncEndpointSpec:
        if urlsplit(self.url).scheme != "https" and (self.tls.ca or self.tls.cert):
            raise ValueError("tls: ca/cert need an https:// url")
        return self

    def to_settings(self, name: str, root: Path) -> SyncEndpoint:
        """The endpoint as the sync service runs it."""
        return SyncEndpoint(
            name=name,
            url=self.url,
            format=self.format,
            streams=tuple(self.streams),
            batch=SyncBatch(self.batch.rows, self.batch.bytes, self.batch.max_age),
            gzip=self.gzip,
            auth=self.auth.to_settings() if self.auth is not None else SyncAuth(),
            tls=self.tls.to_settings(root),
            proxy=self.proxy,
            connect_timeout=self.timeout.connect,
            read_timeout=self.timeout.read,
            retry_initial=self.retry.initial,
            retry_max=self.retry.max,
            flush_timeout=self.flush_timeout,
            in_flight=self.in_flight,
            quality=self.quality,
            measurements={str(stream): name for stream, name in self.measurements.items()},
            enabled=self.enabled,
        )


SyncSection = Annotated[dict[str, SyncEndpointSpec], BeforeValidator(_none_as_empty)]
"""``sync:``: endpoints by name."""


def sync_settings(section: dict[str, SyncEndpointSpec], root: Path) -> dict[str, SyncEndpoint]:
    """Every endpoint's settings, files taken from the project folder ``root``."""
    return {name: spec.to_settings(name, root) for name, spec in section.items()}
