"""The fuzzer over the demo project holds: ``hmi check`` on each mutant is exit 0 or 2 with
``file:line: message`` lines, never a traceback, a hang or unbounded memory.

The suite runs a fixed set of mutants (derandomized) in a child process under a memory
limit; ``make fuzz`` runs many more with fresh randomness (see docs/projects.md).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = 120
MEMORY_LIMIT = 2 * 1024**3  # address space of the child: a mutant that blows up memory fails, not the box
HANG_GUARD = 300.0  # seconds; the run takes well under a minute, this only stops a hang


def _bounded() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def test_hmi_check_holds_on_mutants_of_the_demo_project() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "check_fuzzer.py"), "--examples", str(EXAMPLES)],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        env={**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"},
        cwd=ROOT,
        preexec_fn=_bounded,
        check=False,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-6000:]
    assert f"hmi check held on {EXAMPLES} mutants" in done.stdout, done.stdout
