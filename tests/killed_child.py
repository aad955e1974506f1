"""A runtime in a child Python, killed with SIGKILL once it says it got far enough, as a crash would."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
"""The checkout, put on the child's path so that it imports the code under test."""


async def first_line_then_kill(code: str, folder: Path, within: float) -> bytes:
    """Run ``code`` with ``folder`` as its argument, read its first line (waiting at most ``within``
    seconds), then SIGKILL it; returns that line."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        str(folder),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        return await asyncio.wait_for(child.stdout.readline(), within)  # type: ignore[union-attr]
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()
