"""Alarm message templates: the fields they may name, how they are filled in, and how ``hmi check`` vets them.

A template is ``str.format`` text over named fields only: ``"Tank 1 level high ({value:.1f} %)"``.
The loader rejects anything that could fail when the alarm trips (an unknown field, an attribute or
index, a positional field, a bad format spec); the alarm engine still falls back to a plain message
if formatting fails at run time, so an alarm is raised whatever its text says.
"""

from __future__ import annotations

import re
import string
from typing import Any

from drivers.connection_fields import did_you_mean
from hmi.model import DataType

MESSAGE_FIELDS = ("value", "limit", "tag", "name")
"""What a message may name: the value that tripped the alarm, its limit, its tag, the alarm's name."""

MAX_SPEC_NUMBER = 100
"""The largest width or precision a format spec may ask for: a typo of ``{value:1000000000}`` must not
allocate a gigabyte when the alarm trips."""

_SPEC_NUMBERS = re.compile(r"\d+")


def message_fields(name: str, tag: str, limit: float, value: Any) -> dict[str, Any]:
    """The values a template is filled with (``value`` NaN while none is known)."""
    return {"value": value if value is not None else float("nan"), "limit": limit, "tag": tag, "name": name}


def template_problem(message: str, data_type: DataType | None = None) -> str | None:
    """Why ``message`` cannot be filled in for a tag of ``data_type``, or ``None`` when it can."""
    fields = ", ".join("{" + field + "}" for field in MESSAGE_FIELDS)
    try:
        parts = list(string.Formatter().parse(message))
    except ValueError as error:  # an unmatched brace and the like
        return f"bad message template {message!r}: {error} (write {{{{ and }}}} for a literal brace)"
    for _, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in MESSAGE_FIELDS:
            return f"message field {{{field}}} is not one of {fields}" + _hint(field)
        if conversion not in (None, "r", "s", "a"):
            return f"message field {{{field}!{conversion}}}: unknown conversion; use !r, !s or !a"
        if spec and ("{" in spec or "}" in spec):
            return f"message field {{{field}:{spec}}}: nested fields are not allowed in a format spec"
        if spec and any(int(number) > MAX_SPEC_NUMBER for number in _SPEC_NUMBERS.findall(spec)):
            return f"message field {{{field}:{spec}}}: widths and precisions go up to {MAX_SPEC_NUMBER}"
    sample: bool | int | float = 1.5
    if data_type is DataType.BOOL:
        sample = True
    elif data_type is not None and data_type.is_integer:
        sample = 1
    try:
        message.format_map(message_fields("ALARM", "TAG", 1.0, sample))
    except Exception as error:  # whatever str.format raises for this spec and this kind of value
        kind = "a real number" if isinstance(sample, float) else "a whole number"
        return f"bad message template {message!r}: {error} (its value is {kind})"
    return None


def _hint(field: str) -> str:
    """What the engineer probably meant by a field outside the list."""
    if field == "" or field.isdigit():
        return "; positional fields such as {} or {0} have nothing to fill them"
    base = re.split(r"[.\[]", field, maxsplit=1)[0]
    if base in MESSAGE_FIELDS:
        return f"; attributes and indexes are not allowed (did you mean {{{base}:...}}?)"
    return did_you_mean(field, MESSAGE_FIELDS)
