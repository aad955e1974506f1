"""Building blocks of the connection schemas the driver kinds declare: a strict model and field types.

The project loader validates ``connections:`` entries with these models; they live
with the drivers so that a driver kind brings its own schema. Messages are worded
for an engineer reading ``hmi check``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from drivers.settings import BYTE_ORDERS
from drivers.units import parse_duration

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""What an environment variable name may look like (password_env and friends)."""


class StrictModel(BaseModel):
    """A project-file mapping: unknown keys are errors; a number is accepted where text is expected."""

    # Numbers become text so that an unquoted Modicon address (400101) or label (101) reads as written.
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class ConnectionModel(StrictModel):
    """A connection entry of one driver kind; subclasses declare ``driver: Literal[NAME]`` first."""

    def to_settings(self, root: Path) -> Any:
        """The driver's settings dataclass; relative file names are taken from the project folder ``root``."""
        raise NotImplementedError

    def warnings(self) -> list[tuple[str, str]]:
        """``(key, message)`` for each valid but risky setting: ``hmi check`` prints each as a warning."""
        return []


def closest(word: object, choices: Iterable[str]) -> str | None:
    """The one of ``choices`` that ``word`` most likely misspells (ignoring case), or ``None``."""
    by_folded = {choice.casefold(): choice for choice in choices}
    close = difflib.get_close_matches(str(word).casefold(), list(by_folded), n=1, cutoff=0.6)
    return by_folded[close[0]] if close else None


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices`` to ``word``, or an empty string."""
    suggestion = closest(word, choices)
    return f" (did you mean {suggestion!r}?)" if suggestion is not None else ""


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


def project_file_text(root: Path, value: str | None) -> str | None:
    """:func:`project_file` as text, passing ``None`` through (an optional key left out)."""
    return None if value is None else str(project_file(root, value))


MAX_PATH_LENGTH = 4096
"""Longest file name a project may give (Linux's PATH_MAX; Windows' long paths stop at 32,767)."""


def _check_path(value: str) -> str:
    """A file name the OS can take: not empty, no NUL, not absurdly long, and ``~user`` resolvable."""
    _check_not_blank(value)
    if "\0" in value:
        raise ValueError("a file name must not contain a NUL character")
    if len(value) > MAX_PATH_LENGTH:
        raise ValueError(f"a file name of {len(value)} characters is longer than {MAX_PATH_LENGTH}")
    try:
        Path(value).expanduser()
    except RuntimeError as exc:  # pathlib's way of saying that ~user names nobody
        head = value.replace("\\", "/").split("/")[0]
        raise ValueError(f"{value!r}: {head!r} names no user this machine knows") from exc
    return value


Duration = Annotated[float, BeforeValidator(parse_duration)]
PositiveDuration = Annotated[Duration, Field(gt=0)]
ByteOrder = Annotated[str, AfterValidator(_check_byte_order)]
Text = Annotated[str, AfterValidator(_check_not_blank)]


def within(low: str, high: str) -> AfterValidator:
    """The range ``[low, high]`` of a duration field, both as an engineer writes them (``10ms``, ``24h``):
    ``timeout: Annotated[PositiveDuration, within("10ms", "10m")]``.

    Every duration a project holds has such a range: a value past it (``99999999999d``) would otherwise
    pass the check and fail later, far from the file, when a timer or a timestamp cannot hold it.
    """
    lowest, highest = parse_duration(low), parse_duration(high)

    def check(seconds: float) -> float:
        if not lowest <= seconds <= highest:
            raise ValueError(f"must be between {low} and {high}, not {seconds:g} s")
        return seconds

    return AfterValidator(check)
PathText = Annotated[str, AfterValidator(_check_path)]
"""A file or folder name in a project file (relative to the project folder unless absolute)."""
