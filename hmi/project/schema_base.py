"""Building blocks shared by the project-file schemas: the strict base model and common field types.

The ones a connection schema needs are defined with the drivers (:mod:`drivers.connection_fields`).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from drivers.connection_fields import (
    ENV_NAME,
    ByteOrder,
    Duration,
    PathText,
    PositiveDuration,
    StrictModel,
    Text,
    project_file,
    project_file_text,
    within,
)
from hmi.project.units import parse_size

__all__ = [
    "ENV_NAME",
    "ByteOrder",
    "Duration",
    "PathText",
    "PositiveDuration",
    "Size",
    "StrictModel",
    "Text",
    "_none_as_empty",
    "_project_file",
    "project_file",
    "size_within",
    "within",
]

_project_file = project_file_text


def _none_as_empty(value: Any) -> Any:
    """A section written with no entries (``alarms:``) is empty, not an error."""
    return {} if value is None else value


Size = Annotated[int, BeforeValidator(parse_size), Field(gt=0)]


def size_within(low: str, high: str) -> AfterValidator:
    """The range ``[low, high]`` of a size field, both as an engineer writes them (``1MB``, ``100TB``)."""
    smallest, largest = parse_size(low), parse_size(high)

    def check(size: int) -> int:
        if not smallest <= size <= largest:
            raise ValueError(f"must be between {low} and {high}, not {size} bytes")
        return size

    return AfterValidator(check)
