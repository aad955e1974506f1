"""The one write check: is a value fit for a tag, and what exactly goes to the PLC.

Every write passes here: an operator's setpoint (the entry's feedback as it is typed),
a screen button (``hmi check`` reports a bad one at its line), ``hmi write`` and the
runtime's command path. One function, so none of them can accept what another refuses.

It lives in ``hmi.project`` because it needs only a tag's definition, and project
validation (below the core in the layers) must be able to call it; the runtime side
reaches it through ``hmi.core.write_check``.

Integers stay exact end to end: text such as ``"1152921504606846977"`` is parsed as an
``int`` (or a ``Decimal``), never through a float, which would round it to 2**60.
"""

from __future__ import annotations

import math
import numbers
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from hmi.model import DataType, TagDef, WriteError

INTEGER_RANGES = {
    DataType.INT16: (-(2**15), 2**15 - 1),
    DataType.UINT16: (0, 2**16 - 1),
    DataType.INT32: (-(2**31), 2**31 - 1),
    DataType.UINT32: (0, 2**32 - 1),
    DataType.INT64: (-(2**63), 2**63 - 1),
    DataType.UINT64: (0, 2**64 - 1),
}
TRUE_WORDS = frozenset({"1", "true", "on", "yes", "start", "open"})
FALSE_WORDS = frozenset({"0", "false", "off", "no", "stop", "close"})
_PLAIN_INTEGER = re.compile(r"[+-]?[0-9]+")
_MAX_DIGITS = 40  # far past uint64: a longer number is refused before Python builds a huge int from it


class _Refused(Exception):
    """Why a value cannot be written (without the tag's name)."""


def check_value(tag: TagDef, value: Any) -> tuple[Any, str]:
    """``(value as it would be written, "")`` or ``(None, why not)``; the reason does not name the tag."""
    try:
        return _coerce(tag, value), ""
    except _Refused as refused:
        return None, str(refused)


def write_problem(tag: TagDef, value: Any) -> str | None:
    """Why ``value`` cannot be written to ``tag``, or ``None`` when it can."""
    return check_value(tag, value)[1] or None


def coerce_for_write(tag: TagDef, value: Any) -> Any:
    """Return ``value`` converted to ``tag``'s type, or raise WriteError naming the tag and the reason."""
    try:
        return _coerce(tag, value)
    except _Refused as refused:
        raise WriteError(f"{tag.name}: {refused}") from None


def show_number(number: float) -> str:
    """A number as an operator reads it: integers in full (never 1.15292e+18), floats short."""
    if isinstance(number, int):
        return str(number)
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return f"{number:.15g}"


def _coerce(tag: TagDef, value: Any) -> Any:
    if not tag.writable:
        raise _Refused("tag is read-only")
    if tag.type is DataType.BOOL:
        return _to_bool(value)
    if tag.type is DataType.STRING:
        return _to_text(tag, value)
    number = _to_number(tag.type, value)
    if tag.limits is not None and not tag.limits[0] <= number <= tag.limits[1]:
        low, high = tag.limits
        units = f" {tag.units}" if tag.units else ""
        raise _Refused(
            f"{show_number(number)}{units} is outside the limits [{show_number(low)}, {show_number(high)}]"
        )
    if tag.type.is_integer:
        low, high = INTEGER_RANGES[tag.type]
        if not low <= number <= high:
            raise _Refused(f"{show_number(number)} does not fit {tag.type.value} ({low}..{high})")
        return number
    _check_link(tag, number)
    return float(number)


def _check_link(tag: TagDef, number: int | float) -> None:
    # A driver kind may know more about what its device can hold (a Modbus register scaled in 0.1
    # steps holds 62.5, not 62.55): its tag link answers, so every write path refuses alike.
    problem = getattr(tag.link, "write_problem", None)
    if problem is not None and (why := problem(number)) is not None:
        raise _Refused(why)


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Real) and value in (0, 1):
        return bool(value)
    word = str(value).strip().lower() if isinstance(value, str) else None
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise _Refused(f"{value!r} is not on/off (true/false, 1/0, on/off)")


def _to_text(tag: TagDef, value: Any) -> str:
    # A number becomes its text losslessly; a bool would become 'True', which nobody means.
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _Refused(f"{value!r} is not text")
    text = value if isinstance(value, str) else str(value)
    if tag.string_length and len(text) > tag.string_length:
        raise _Refused(f"text longer than {tag.string_length} characters")
    return text


def _to_number(data_type: DataType, value: Any) -> int | float:
    """An ``int`` for integer types (exactly), a finite ``float`` otherwise."""
    if isinstance(value, bool):
        raise _Refused(f"expected a number, got {value!r}")
    if isinstance(value, str):
        return _parse_number(data_type, value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        if not math.isfinite(number):
            raise _Refused(f"{value!r} is not a finite number")
        if data_type.is_integer:
            if not number.is_integer():
                raise _Refused(f"{show_number(number)} is not a whole number ({data_type.value})")
            return int(number)
        return number
    raise _Refused(f"{value!r} is not a number")


def _parse_number(data_type: DataType, raw: str) -> int | float:
    text = raw.strip()
    if "," in text and "." not in text:
        text = text.replace(",", ".")  # a decimal comma is what many operators type
    if _PLAIN_INTEGER.fullmatch(text):
        if len(text) > _MAX_DIGITS:
            raise _Refused(f"{raw!r} does not fit {data_type.value}")
        number = int(text)
        return number if data_type.is_integer else _finite_float(raw, number)
    try:
        exact = Decimal(text)
    except InvalidOperation:
        raise _Refused(f"{raw!r} is not a number") from None
    if not exact.is_finite():
        raise _Refused(f"{raw!r} is not a finite number")
    if not data_type.is_integer:
        return _finite_float(raw, exact)
    if exact.adjusted() >= _MAX_DIGITS:
        raise _Refused(f"{raw!r} does not fit {data_type.value}")
    if exact != exact.to_integral_value():
        raise _Refused(f"{raw.strip()} is not a whole number ({data_type.value})")
    return int(exact)


def _finite_float(raw: str, number: int | Decimal) -> float:
    try:
        result = float(number)
    except OverflowError:
        result = math.inf
    if not math.isfinite(result):
        raise _Refused(f"{raw!r} is not a finite number")
    return result
