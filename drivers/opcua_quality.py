"""Translate OPC UA DataValues into our Samples: StatusCode to Quality and Reason, timestamps to epoch."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from asyncua import ua

from hmi.model import Quality, Reason, Sample

_CODE_MASK = 0xFFFF0000
"""The low 16 bits of a StatusCode carry info bits (limits, overflow), not the code itself."""

_OVERFLOW_BITS = 0x00000480
"""InfoType DataValue (0x400) plus Overflow (0x80): the server's queue for this item discarded values."""

_BAD_REASONS: dict[int, Reason] = {
    ua.StatusCodes.BadCommunicationError: Reason.COMM_FAILURE,
    ua.StatusCodes.BadNoCommunication: Reason.COMM_FAILURE,
    ua.StatusCodes.BadTimeout: Reason.COMM_FAILURE,
    ua.StatusCodes.BadShutdown: Reason.COMM_FAILURE,
    ua.StatusCodes.BadServerHalted: Reason.COMM_FAILURE,
    ua.StatusCodes.BadNotConnected: Reason.NOT_CONNECTED,
    ua.StatusCodes.BadOutOfService: Reason.OUT_OF_SERVICE,
    ua.StatusCodes.BadSensorFailure: Reason.SENSOR_FAILURE,
    ua.StatusCodes.BadDeviceFailure: Reason.DEVICE_FAILURE,
    ua.StatusCodes.BadConfigurationError: Reason.CONFIG_ERROR,
    ua.StatusCodes.BadNodeIdUnknown: Reason.CONFIG_ERROR,
    ua.StatusCodes.BadNodeIdInvalid: Reason.CONFIG_ERROR,
    ua.StatusCodes.BadAttributeIdInvalid: Reason.CONFIG_ERROR,
    ua.StatusCodes.BadWaitingForInitialData: Reason.WAITING,
}

_UNCERTAIN_REASONS: dict[int, Reason] = {
    ua.StatusCodes.UncertainSensorNotAccurate: Reason.SENSOR_FAILURE,
    ua.StatusCodes.UncertainSensorCalibration: Reason.SENSOR_FAILURE,
    ua.StatusCodes.UncertainConfigurationError: Reason.CONFIG_ERROR,
    ua.StatusCodes.UncertainInitialValue: Reason.WAITING,
}


def status_name(code: int) -> str:
    """The symbolic name of a StatusCode (``BadNodeIdUnknown``), ignoring its info bits."""
    return ua.StatusCode(ua.UInt32(code & _CODE_MASK)).name


def quality_of(code: int) -> tuple[Quality, Reason]:
    """Our quality class and reason for an OPC UA StatusCode value."""
    status = ua.StatusCode(ua.UInt32(code))
    masked = code & _CODE_MASK
    if status.is_good():
        return Quality.GOOD, Reason.NONE
    if status.is_uncertain():
        return Quality.UNCERTAIN, _UNCERTAIN_REASONS.get(masked, Reason.LAST_USABLE)
    return Quality.BAD, _BAD_REASONS.get(masked, Reason.DEVICE_FAILURE)


def has_overflowed(code: int) -> bool:
    """True when the server says its queue for this item overflowed (values were discarded there)."""
    return code & _OVERFLOW_BITS == _OVERFLOW_BITS


def epoch_of(stamp: dt.datetime | None) -> float | None:
    """Seconds since the epoch, or None when absent; OPC UA DateTimes without a zone are UTC."""
    if stamp is None:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    seconds = stamp.timestamp()
    # Some servers send the OPC UA null DateTime (year 1601) instead of leaving the field out.
    return seconds if seconds > 0 else None


def sample_of(value: ua.DataValue) -> Sample:
    """A Sample for a DataValue: its value, mapped quality, and the best timestamp the server gave."""
    code = value.StatusCode.value if value.StatusCode is not None else ua.StatusCodes.Good
    quality, reason = quality_of(code)
    payload: Any = value.Value.Value if value.Value is not None else None
    ts = epoch_of(value.SourceTimestamp) or epoch_of(value.ServerTimestamp) or time.time()
    return Sample(payload, quality, ts, reason)
