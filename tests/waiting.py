"""Bounded waits for tests that watch another thread (a writer thread, a server): never an open loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from hmi.model import Sample


def wait_until(condition: Callable[[], object], timeout: float = 10.0) -> None:
    """Poll ``condition`` until it is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


async def wait_for(predicate: Callable[[], bool], within: float = 10.0) -> None:
    """Await until ``predicate`` holds, polling on the running loop; fail the test after ``within`` s."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {within} s")
        await asyncio.sleep(0.02)


class SampleLog:
    """Every sample a driver published, per tag, in order (a driver's ``on_sample``)."""

    def __init__(self) -> None:
        self.samples: dict[str, list[Sample]] = {}

    def on_sample(self, name: str, sample: Sample) -> None:
        """Record one sample."""
        self.samples.setdefault(name, []).append(sample)

    def last(self, name: str) -> Sample | None:
        """The newest sample of ``name``, if any."""
        samples = self.samples.get(name)
        return samples[-1] if samples else None
