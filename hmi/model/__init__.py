"""Value types shared by every layer: tag definitions, samples, quality, connection state.

This package imports nothing of ours, so drivers and widgets can depend on it
without pulling the application in. The screen-item declarations that the
headless validator and the widgets share live in :mod:`hmi.model.symbols`
(imported on its own: drivers never load them).
"""

from __future__ import annotations

import enum
import time
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


@dataclass(frozen=True, slots=True)
class TagDef:
    """A tag as configured in the project: where it lives and how to treat its value."""

    name: str
    connection: str | None
    address: str
    type: DataType = DataType.FLOAT64
    byte_order: str = "ABCD"
    units: str = ""
    description: str = ""
    scan: str = "normal"
    scan_period: float = 1.0
    deadband: float = 0.0
    deadband_percent: float = 0.0  # OPC UA percent-of-EURange deadband applied by the server
    writable: bool = False
    limits: tuple[float, float] | None = None
    decimals: int = 2
    string_length: int = 0
    unit: int | None = None  # Modbus unit id overriding the connection's (gateways serve many)
    verify: bool | None = None  # read back after a write and compare; None = the connection's choice
    history_deadband: float = 0.0  # storage deadband in the historian, engineering units
    history_deadband_percent: float = 0.0  # storage deadband as a percentage of the limits' span
    history_swinging_door: bool = False  # the storage band as a swinging-door deviation instead
    source: str | None = None  # the internal source producing the tag (e.g. "system") when connection is None


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
class ConnectionStatus:
    """A connection's state at one moment, with the last error seen (empty when none)."""

    name: str
    state: ConnectionState
    last_error: str = ""
    since: float = field(default_factory=time.time)
    retry_in: float = 0.0


class WriteError(Exception):
    """An operator or rule write that was refused or failed; the message is shown to the user."""
