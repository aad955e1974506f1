"""Coerce a Python value to the exact OPC UA built-in type of a node, so that the server accepts the write.

Servers refuse a write whose Variant type differs from the node's DataType
(a Double into a Float node is ``BadTypeMismatch``), so the driver reads each
writable node's type at connect and converts with these rules: no silent
rounding, no silent wrap-around.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from asyncua import ua

INTEGER_RANGES: dict[ua.VariantType, tuple[int, int]] = {
    ua.VariantType.SByte: (-(2**7), 2**7 - 1),
    ua.VariantType.Byte: (0, 2**8 - 1),
    ua.VariantType.Int16: (-(2**15), 2**15 - 1),
    ua.VariantType.UInt16: (0, 2**16 - 1),
    ua.VariantType.Int32: (-(2**31), 2**31 - 1),
    ua.VariantType.UInt32: (0, 2**32 - 1),
    ua.VariantType.Int64: (-(2**63), 2**63 - 1),
    ua.VariantType.UInt64: (0, 2**64 - 1),
}

_FLOAT32_MAX = 3.4028234663852886e38


class CoercionError(ValueError):
    """The value cannot be represented in the node's type; the message says why."""


def to_variant(value: Any, vtype: ua.VariantType) -> ua.Variant:
    """A Variant the server accepts for a node of type ``vtype``; raises CoercionError.

    A node typed only as BaseDataType or Number (``vtype`` Variant) takes the
    natural type of the value.
    """
    if vtype is ua.VariantType.Variant:
        vtype = _natural_type(value)
    return ua.Variant(coerce_to(value, vtype), vtype)


def _natural_type(value: Any) -> ua.VariantType:
    if isinstance(value, bool):
        return ua.VariantType.Boolean
    if isinstance(value, numbers.Integral):
        low, high = INTEGER_RANGES[ua.VariantType.Int32]
        return ua.VariantType.Int32 if low <= int(value) <= high else ua.VariantType.Int64
    if isinstance(value, numbers.Real):
        return ua.VariantType.Double
    if isinstance(value, str):
        return ua.VariantType.String
    raise CoercionError(f"{type(value).__name__} values cannot be written")


def coerce_to(value: Any, vtype: ua.VariantType) -> Any:
    """``value`` converted to the Python value asyncua encodes as ``vtype``; raises CoercionError."""
    if vtype is ua.VariantType.Boolean:
        return _to_bool(value)
    if vtype in INTEGER_RANGES:
        return _to_integer(value, vtype)
    if vtype is ua.VariantType.Float:
        return _to_float32(value)
    if vtype is ua.VariantType.Double:
        return _to_float(value)
    if vtype is ua.VariantType.String:
        if not isinstance(value, str | numbers.Real):
            raise CoercionError(f"{type(value).__name__} is not text")
        return str(value)
    raise CoercionError(f"writing {vtype.name} values is not supported")


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Real) and value in (0, 1):
        return bool(value)
    raise CoercionError(f"{value!r} is not a boolean (expected true/false or 0/1)")


def _to_integer(value: Any, vtype: ua.VariantType) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise CoercionError(f"{value!r} is not a number")
    whole = isinstance(value, numbers.Integral) or (math.isfinite(value) and float(value).is_integer())
    if not whole:
        raise CoercionError(f"{value!r} is not a whole number")
    number = int(value) if isinstance(value, numbers.Integral) else int(float(value))
    low, high = INTEGER_RANGES[vtype]
    if not low <= number <= high:
        raise CoercionError(f"{number} is outside the {vtype.name} range {low}..{high}")
    return number


def _to_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise CoercionError(f"{value!r} is not a number")
    return float(value)


def _to_float32(value: Any) -> float:
    number = _to_float(value)
    if math.isfinite(number) and abs(number) > _FLOAT32_MAX:
        raise CoercionError(f"{number!r} is outside the Float range")
    return number
