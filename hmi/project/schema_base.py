"""Building blocks shared by the project-file schemas: the strict base model and common field types."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
)

from drivers.settings import BYTE_ORDERS
from hmi.project.errors import did_you_mean
from hmi.project.units import parse_duration, parse_size

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""What an environment variable name may look like (password_env and friends)."""


class StrictModel(BaseModel):
    """A project-file mapping: unknown keys are errors; a number is accepted where text is expected."""

    # Numbers become text so that an unquoted Modicon address (400101) or label (101) reads as written.
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


def _none_as_empty(value: Any) -> Any:
    """A section written with no entries (``alarms:``) is empty, not an error."""
    return {} if value is None else value


def _check_byte_order(value: str) -> str:
    if value not in BYTE_ORDERS:
        raise ValueError(
            f"unknown byte order {value!r}: expected one of {', '.join(BYTE_ORDERS)}"
            + did_you_mean(value, BYTE_ORDERS)
        )
    return value


def _check_not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def project_file(root: Path, value: str) -> Path:
    """A file named in the project: relative to the project folder ``root``, or absolute as given."""
    return root / Path(value).expanduser()


def _project_file(root: Path, value: str | None) -> str | None:
    return None if value is None else str(project_file(root, value))


Duration = Annotated[float, BeforeValidator(parse_duration)]
PositiveDuration = Annotated[Duration, Field(gt=0)]
Size = Annotated[int, BeforeValidator(parse_size), Field(gt=0)]
ByteOrder = Annotated[str, AfterValidator(_check_byte_order)]
Text = Annotated[str, AfterValidator(_check_not_blank)]
