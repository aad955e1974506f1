"""Value types shared by every layer: tag definitions, samples, quality, connection state.

This package imports nothing of ours, so drivers and widgets can depend on it
without pulling the application in. The screen-item declarations that the
headless validator and the widgets share live in :mod:`hmi.model.symbols`
(imported on its own: drivers never load them).
"""

from __future__ import annotations

import dataclasses
import enum
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


class Quality(enum.IntEnum):
    """OPC UA style quality class. Ordered so that ``min()`` yields the worst."""

    BAD = 0
    UNCERTAIN = 1
    GOOD = 2


class Reason(enum.StrEnum):
    """Why a sample is not simply good. Travels with the sample end to end."""

    NONE = ""
    COMM_FAILURE = "comm failure"
    NOT_CONNECTED = "not connected"
    CONFIG_ERROR = "config error"
    DEVICE_FAILURE = "device failure"
    PROTOCOL_ERROR = "protocol error"
    CLOCK_SKEW = "clock skew"
    OUT_OF_SERVICE = "out of service"
    STALE = "stale"
    LAST_USABLE = "last usable"
    SENSOR_FAILURE = "sensor failure"
    WAITING = "waiting for first value"


class DataType(enum.StrEnum):
    """Engineering data types a tag may carry."""

    BOOL = "bool"
    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    INT64 = "int64"
    UINT64 = "uint64"
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    STRING = "string"

    @property
    def is_numeric(self) -> bool:
        """True for every type a trend, a limit or a deadband applies to."""
        return self not in (DataType.BOOL, DataType.STRING)

    @property
    def is_integer(self) -> bool:
        """True for the fixed-width integer types."""
        return self.value.startswith(("int", "uint"))


@dataclass(frozen=True, slots=True)
class Sample:
    """One observation of a tag: value, quality with its reason, and source timestamp (epoch s)."""

    value: Any
    quality: Quality
    ts: float
    reason: Reason = Reason.NONE

    @classmethod
    def good(cls, value: Any, ts: float | None = None) -> Sample:
        """A good sample stamped now unless the source gave a timestamp."""
        return cls(value, Quality.GOOD, time.time() if ts is None else ts)

    @classmethod
    def bad(cls, reason: Reason, value: Any = None, ts: float | None = None) -> Sample:
        """A bad sample; ``value`` keeps the last known value for display as 'last known'."""
        return cls(value, Quality.BAD, time.time() if ts is None else ts, reason)

    @property
    def is_good(self) -> bool:
        """True when the value can be shown and used as fresh."""
        return self.quality is Quality.GOOD

    def with_quality(self, quality: Quality, reason: Reason) -> Sample:
        """The same value, downgraded (keeps the source timestamp)."""
        return Sample(self.value, quality, self.ts, reason)

    @classmethod
    def many_good(cls, values: Sequence[Any], ts: float) -> list[Sample]:
        """Good samples of ``values``, all stamped ``ts``: equal to ``Sample.good(v, ts)`` each, built as
        :func:`good_sample` builds one (a poll makes thousands per second)."""
        if cls is not Sample:  # a subclass's layout may differ: its own constructor
            return [cls(value, Quality.GOOD, ts) for value in values]
        good, none, draft, final = Quality.GOOD, Reason.NONE, UnfrozenSample, Sample
        samples: list[Sample] = []
        append = samples.append
        for value in values:
            sample: Any = draft()
            sample.value = value
            sample.quality = good
            sample.ts = ts
            sample.reason = none
            sample.__class__ = final
            append(sample)
        return samples


_SAMPLE_FIELDS = ("value", "quality", "ts", "reason")


class UnfrozenSample:
    """``Sample``'s slot layout without its frozen ``__setattr__``: only for building a ``Sample`` at speed.

    Fill all four slots with plain stores, then assign ``__class__ = Sample`` (Python allows it between
    classes of the same slot layout); the object is from then on the one ``Sample(...)`` gives: of type
    ``Sample``, equal, the same hash, frozen. The frozen dataclass's ``__init__`` (one
    ``object.__setattr__`` per field through a Python frame) costs three times as much, and the hot
    paths (a worker's batch, a derived tag) build one per changed value. Checked at import below.
    """

    __slots__ = _SAMPLE_FIELDS


def good_sample(value: Any, ts: float) -> Sample:
    """``Sample(value, Quality.GOOD, ts)``, built at the hot paths' speed (see :class:`UnfrozenSample`)."""
    sample: Any = UnfrozenSample()
    sample.value = value
    sample.quality = Quality.GOOD
    sample.ts = ts
    sample.reason = Reason.NONE
    sample.__class__ = Sample
    return sample


def fast_sample(value: Any, quality: Quality, ts: float, reason: Reason = Reason.NONE) -> Sample:
    """``Sample(value, quality, ts, reason)`` built as :func:`good_sample` builds one, for the paths that make
    samples of any quality at rate (a derived tag whose inputs are not good yet)."""
    sample: Any = UnfrozenSample()
    sample.value = value
    sample.quality = quality
    sample.ts = ts
    sample.reason = reason
    sample.__class__ = Sample
    return sample


def _check_fast_constructors() -> None:
    # A change to Sample's fields or layout must fail here, at import, never as a wrong sample later.
    names = tuple(f.name for f in dataclasses.fields(Sample))
    if names != _SAMPLE_FIELDS or Sample.__slots__ != _SAMPLE_FIELDS:
        raise TypeError("good_sample builds Samples slot by slot, and Sample's fields have changed")
    expected = Sample(1.5, Quality.GOOD, 2.0)
    uncertain = fast_sample(1.5, Quality.UNCERTAIN, 2.0, Reason.WAITING)
    if uncertain != Sample(1.5, Quality.UNCERTAIN, 2.0, Reason.WAITING) or uncertain.__class__ is not Sample:
        raise TypeError("fast_sample no longer gives a Sample equal to Sample(value, quality, ts, reason)")
    for built in (good_sample(1.5, 2.0), fast_sample(1.5, Quality.GOOD, 2.0), *Sample.many_good([1.5], 2.0)):
        if built.__class__ is not Sample or built != expected or hash(built) != hash(expected):
            raise TypeError("good_sample no longer gives a Sample equal to Sample(value, GOOD, ts)")
        try:
            built.value = 0  # type: ignore[misc]
        except dataclasses.FrozenInstanceError:
            continue
        raise TypeError("good_sample's Sample is not frozen")


_check_fast_constructors()


class ConfirmMode(enum.StrEnum):
    """What a write of a tag from the UI needs before it goes out (``confirm:`` in project.yaml)."""

    NONE = "false"  # written at once
    CONFIRM = "true"  # a confirmation dialog (old -> new), OK / Cancel
    SIGNATURE = "signature"  # the writer's password again and a reason (an electronic signature)
    DOUBLE = "double"  # the writer's signature and a second, different user's ("verified by")

    @property
    def signed(self) -> bool:
        """True when the command path refuses the write without a valid signature."""
        return self in (ConfirmMode.SIGNATURE, ConfirmMode.DOUBLE)


@dataclass(frozen=True, slots=True)
class TagDef:
    """A tag as configured in the project: where it lives and how to treat its value."""

    name: str
    connection: str | None
    address: str
    type: DataType = DataType.FLOAT64
    units: str = ""
    description: str = ""
    scan: str = "normal"
    scan_period: float = 1.0
    deadband: float = 0.0
    writable: bool = False
    limits: tuple[float, float] | None = None
    decimals: int = 2
    string_length: int = 0  # the most characters a string tag holds (0: no bound)
    history_deadband: float = 0.0  # storage deadband in the historian, engineering units
    history_deadband_percent: float = 0.0  # storage deadband as a percentage of the limits' span
    history_swinging_door: bool = False  # the storage band as a swinging-door deviation instead
    source: str | None = None  # the internal source producing the tag (e.g. "system") when connection is None
    confirm: ConfirmMode = ConfirmMode.NONE  # what a write needs before it goes out
    area: str = ""  # the plant area the tag belongs to (area-scoped permissions)
    link: Any = None
    """What the connection's driver kind needs beyond the address (Modbus byte order and unit, an OPC UA
    percent deadband...): a frozen object the kind builds from the tag's entry; None for its defaults."""


@dataclass(frozen=True, slots=True)
class StalePolicy:
    """When a polled value stops being fresh: not refreshed within ``periods`` scan periods (``minimum`` s).

    The runtime enforces it; a driver is handed it to know how long a read may vouch for the samples
    of the read before it (it must never re-send a value the runtime may already have called stale).
    """

    periods: float = 3.0
    minimum: float = 2.0

    def limit(self, scan_period: float) -> float:
        """Seconds after its last refresh that a good value scanned every ``scan_period`` turns stale."""
        return max(self.periods * scan_period, self.minimum)

    def reuse_window(self, scan_period: float) -> float:
        """Seconds after a read within which a driver may re-send the same words' samples unchanged.

        One period and half the minimum short of the limit: a sample re-sent inside it is always
        younger than the runtime's stale limit, whatever the watchdog's tick.
        """
        return max((self.periods - 1) * scan_period, self.minimum / 2)


class ConnectionState(enum.StrEnum):
    """Life cycle of a driver's link to its PLC or server, watched by the status bar."""

    STOPPED = "stopped"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    BACKING_OFF = "backing off"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class DriverError:
    """A driver's failure in a form code can act on: ``kind`` names the case, ``detail`` tells a person.

    ``data`` carries the facts of the case (for ``untrusted_certificate``: the ``thumbprint`` and the
    ``endpoint``), so that nobody has to find them again in the text.
    """

    kind: str
    detail: str
    data: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.detail


UNTRUSTED_CERTIFICATE = "untrusted_certificate"
"""``DriverError.kind`` of a server whose certificate is not in the trust list; data: thumbprint, endpoint."""


class DriverFailure(Exception):
    """An exception carrying a :class:`DriverError`, so that the structure survives a ``raise``."""

    def __init__(self, error: DriverError) -> None:
        super().__init__(error.detail)
        self.error = error


def driver_error_of(exc: BaseException) -> DriverError | None:
    """The structured error carried by ``exc`` or by one of the exceptions it was raised from."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DriverFailure):
            return current.error
        current = current.__cause__ or current.__context__
    return None


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    """A connection's state at one moment, with the last error seen (empty when none).

    ``error`` is the same failure as ``last_error`` in structured form when the driver knows its kind.
    """

    name: str
    state: ConnectionState
    last_error: str = ""
    since: float = field(default_factory=time.time)
    retry_in: float = 0.0
    error: DriverError | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DriverDiagnostics:
    """A snapshot of one connection's figures; each driver kind extends it with its own fields.

    Frozen plain values, so a snapshot taken on the runtime loop can be handed to another thread.
    Indexing by field name (``diagnostics["state"]``) reads a field; ``figures()`` gives them all.
    """

    state: ConnectionState
    last_error: str = ""
    requests_per_s: float | None = None
    """Requests (polling drivers) or notifications (subscribing drivers) per second."""
    rtt_mean_ms: float | None = None
    """Mean round-trip time of a request; None when the driver does not measure it."""

    def __getitem__(self, key: str) -> Any:
        if key not in self.keys():
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        """The field ``key``, or ``default`` when this kind of driver has no such figure."""
        return getattr(self, key) if key in self.keys() else default

    def keys(self) -> tuple[str, ...]:
        """The names of every figure, common ones first."""
        return tuple(f.name for f in dataclasses.fields(self))

    def figures(self) -> dict[str, Any]:
        """Every figure by name, the state as its text (for logs and JSON)."""
        values = {name: getattr(self, name) for name in self.keys()}
        values["state"] = self.state.value
        return values


class WriteError(Exception):
    """An operator or rule write that was refused or failed; the message is shown to the user."""
