"""A stand-in runtime for command-path tests of alarm actions, which never touch the runtime."""

from __future__ import annotations

from typing import Any

from hmi.model import Sample


class NoRuntime:
    """Alarm actions never touch the runtime: the command path only needs one to exist."""

    def __init__(self) -> None:
        self.project: Any = None
        self.values: dict[str, Sample] = {}

    async def write(self, tag_name: str, value: Any) -> Any:
        raise AssertionError("no write expected")

    def subscribe(self, listener: Any) -> Any:
        raise AssertionError("no subscription expected")
