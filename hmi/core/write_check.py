"""Operator and rule writes are untrusted: coerce them to the tag's type and refuse anything unsafe.

A bad value must never reach a PLC, so every write passes here before a driver sees it.
"""

from __future__ import annotations

import math
from typing import Any

from hmi.model import DataType, TagDef, WriteError

_INTEGER_RANGES = {
    DataType.INT16: (-(2**15), 2**15 - 1),
    DataType.UINT16: (0, 2**16 - 1),
    DataType.INT32: (-(2**31), 2**31 - 1),
    DataType.UINT32: (0, 2**32 - 1),
    DataType.INT64: (-(2**63), 2**63 - 1),
    DataType.UINT64: (0, 2**64 - 1),
}
_TRUE_WORDS = {"1", "true", "on", "yes", "start", "open"}
_FALSE_WORDS = {"0", "false", "off", "no", "stop", "close"}


def coerce_for_write(tag: TagDef, value: Any) -> Any:
    """Return ``value`` converted to ``tag``'s type, or raise WriteError naming the tag and the reason."""
    if not tag.writable:
        raise WriteError(f"{tag.name}: tag is read-only")
    if tag.type is DataType.BOOL:
        return _to_bool(tag, value)
    if tag.type is DataType.STRING:
        text = str(value)
        if tag.string_length and len(text) > tag.string_length:
            raise WriteError(f"{tag.name}: text longer than {tag.string_length} characters")
        return text
    number = _to_number(tag, value)
    if tag.limits is not None and not tag.limits[0] <= number <= tag.limits[1]:
        low, high = tag.limits
        raise WriteError(f"{tag.name}: {number:g} {tag.units} is outside the limits {low:g}…{high:g}".strip())
    if tag.type.is_integer:
        if number != int(number):
            raise WriteError(f"{tag.name}: {number:g} is not a whole number ({tag.type.value})")
        low, high = _INTEGER_RANGES[tag.type]
        if not low <= number <= high:
            raise WriteError(f"{tag.name}: {number:g} does not fit {tag.type.value}")
        return int(number)
    return number


def _to_bool(tag: TagDef, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    word = str(value).strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise WriteError(f"{tag.name}: {value!r} is not on/off")


def _to_number(tag: TagDef, value: Any) -> float:
    if isinstance(value, bool):
        raise WriteError(f"{tag.name}: expected a number, got {value!r}")
    try:
        number = float(str(value).strip().replace(",", ".")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise WriteError(f"{tag.name}: {value!r} is not a number") from None
    if not math.isfinite(number):
        raise WriteError(f"{tag.name}: {value!r} is not a finite number")
    return number
