"""Small project folders for the loader tests: a valid base project, and errors as ``line: message``."""

from __future__ import annotations

import textwrap
from pathlib import Path

from hmi.project.loader import check_project

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo"

BASE = """\
name: Test Plant
connections:
  plc1: {driver: modbus, host: 127.0.0.1, port: 5020}
  ua1: {driver: opcua, endpoint: "opc.tcp://127.0.0.1:4840/"}
tags:
  LEVEL: {connection: plc1, address: "hr:0", type: float32}
  RUN: {connection: plc1, address: "co:0", type: bool, writable: true}
"""


def write_project(root: Path, text: str, screens: dict[str, str] | None = None) -> Path:
    """A project folder with ``text`` as project.yaml (dedented) and the given screen files."""
    (root / "project.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    for name, screen in (screens or {}).items():
        (root / "screens").mkdir(exist_ok=True)
        (root / "screens" / f"{name}.yaml").write_text(textwrap.dedent(screen), encoding="utf-8")
    return root


def line_of(path: Path, needle: str) -> int:
    """The 1-based line of the one line of ``path`` containing ``needle``."""
    lines = [number for number, line in enumerate(path.read_text("utf-8").splitlines(), 1) if needle in line]
    assert len(lines) == 1, f"{needle!r} is on lines {lines}"
    return lines[0]


def messages(root: Path, text: str) -> list[str]:
    """``line: message`` for each error of a project made of ``BASE`` plus ``text``."""
    write_project(root, BASE + text)
    return [f"{error.line}: {error.message}" for error in check_project(root)]
