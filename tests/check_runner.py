"""``hmi check`` in a child process with a memory and time bound, for files that try to exhaust either."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MEMORY_LIMIT = 1536 * 1024 * 1024  # address space: the interpreter, pydantic and ruamel need a few hundred MB
TIME_LIMIT = 60.0  # seconds; a healthy check of these small projects takes about one
ERROR_LINE = re.compile(r"^(?P<file>[^\n]+?):(?P<line>\d+): (?P<message>.+)$")


@dataclass(frozen=True)
class CheckRun:
    """What one ``hmi check`` printed, and how it ended."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        """The lines of standard output."""
        return self.stdout.splitlines()


def _bounded() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_check(project: Path, timeout: float = TIME_LIMIT) -> CheckRun:
    """Run ``hmi check PROJECT`` with this source tree first on the path, bounded in memory and time."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-m", "hmi.app.cli", "check", str(project)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
        preexec_fn=_bounded,
        check=False,
    )
    return CheckRun(done.returncode, done.stdout, done.stderr)


def assert_refused(run: CheckRun) -> list[str]:
    """Exit 2, no traceback, and every line ``file:line: message``; returns the lines."""
    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode == 2, (run.returncode, run.stdout, run.stderr)
    assert run.lines, "exit 2 without saying why"
    for line in run.lines:
        assert ERROR_LINE.match(line), line
    return run.lines
