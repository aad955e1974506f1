"""The import contracts can fail: a probe module that crosses a line breaks them.

Each case copies the three packages into a temporary folder, adds one probe
module with a forbidden import, and runs lint-imports there with the copy first
on the path. The contracts in pyproject.toml name whole packages, so the probe is
caught without being listed anywhere.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("hmi", "drivers", "widgets")

pytestmark = pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="lint-imports is not installed")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the packages and pyproject.toml that the probes may dirty."""
    root = tmp_path_factory.mktemp("contracts")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )


def _probe(tree: Path, module: str, source: str) -> subprocess.CompletedProcess[str]:
    path = tree.joinpath(*module.split(".")).with_suffix(".py")
    path.write_text(source, encoding="utf-8")
    try:
        return _lint_imports(tree)
    finally:
        path.unlink()


def test_the_copied_tree_keeps_every_contract(tree: Path) -> None:
    result = _lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "source", "broken"),
    [
        ("drivers.probe_core", "from hmi.core import write_check\n", "drivers import only hmi.model"),
        ("drivers.probe_loop", "import hmi.core.loop_thread\n", "drivers import only hmi.model"),
        ("drivers.probe_project", "from hmi.project import loader\n", "drivers import only hmi.model"),
        ("drivers.probe_qt", "import PySide6.QtCore\n", "only above the ui line"),
        ("widgets.probe_core", "from hmi.core import runtime\n", "widgets know only"),
        ("widgets.probe_alarms", "import hmi.alarms.engine\n", "widgets know only"),
        ("widgets.probe_driver", "import drivers.modbus\n", "widgets know only"),
        ("hmi.ui.probe_driver", "import drivers.modbus\n", "hmi.ui talks to the core"),
        ("hmi.ui.probe_asyncua", "import asyncua\n", "hmi.ui talks to the core"),
        ("hmi.ui.probe_pymodbus", "import pymodbus.client\n", "hmi.ui talks to the core"),
        ("hmi.core.probe_qt", "from PySide6 import QtCore\n", "only above the ui line"),
        ("hmi.historian.probe_widgets", "import widgets.tank\n", "only above the ui line"),
        ("hmi.core.probe_ui", "import hmi.ui.bridge\n", "hmi is layered"),
        ("hmi.alarms.probe_core", "import hmi.core.station\n", "hmi is layered"),
        ("hmi.probe_new_package", "X = 1\n", "hmi is layered"),
    ],
)
def test_a_probe_across_a_line_breaks_a_contract(tree: Path, module: str, source: str, broken: str) -> None:
    result = _probe(tree, module, source)
    assert result.returncode != 0, f"{module} ({source.strip()}) slipped past the contracts"
    broken_lines = [line for line in result.stdout.splitlines() if " BROKEN" in line]
    assert any(broken in line for line in broken_lines), result.stdout
