"""What a setpoint entry is told about the operator's text: exactly the runtime's write check."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hmi.core.write_check import check_value
from hmi.model import TagDef

WriteValidator = Callable[[str], tuple[Any, str]]
"""An operator's text -> (the value to request, "") or (None, why not)."""


def setpoint_validator(tags: Mapping[str, TagDef], tag_name: str) -> WriteValidator:
    """The check an entry for ``tag_name`` runs on each Apply: (value to request, "") or (None, why not).

    The definition is looked up at each call, not copied in when the entry is built.
    """

    def validate(text: str) -> tuple[Any, str]:
        tag = tags.get(tag_name)
        if tag is None:
            return None, f"{tag_name}: no such tag"
        return check_value(tag, text)

    return validate


def limits_hint(tag: TagDef | None) -> tuple[float | None, float | None]:
    """The range an entry shows as its hint (acceptance is the validator's alone)."""
    if tag is None or tag.limits is None:
        return None, None
    return tag.limits
