"""Files a connection names (an OPC UA user certificate and key) must exist when the project is checked.

Which keys name files is declared by each driver kind (:attr:`drivers.registry.DriverKind.file_keys`).

The schema judges the text of an entry; whether the file it names is there
depends on the project folder, so it is checked here, at load time. A key
that only turns out missing at connect time would leave the connection
failing on site, where ``hmi check`` could have said so at the desk.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from drivers import registry
from hmi.project.errors import Issue
from hmi.project.schema import project_file


def connection_file_issues(connections: Mapping[str, Any], root: Path) -> list[Issue]:
    """One issue per named file that is missing or unreadable, at the line of the key naming it."""
    issues: list[Issue] = []
    for name, connection in connections.items():
        for key in registry.get(connection.driver).file_keys:
            value = getattr(connection, key)
            problem = None if value is None else _file_problem(project_file(root, value))
            if problem is not None:
                issues.append(Issue(("connections", name, key), f"connection {name!r}: {key}: {problem}"))
    return issues


def _file_problem(path: Path) -> str | None:
    """Why ``path`` cannot serve as a key file, or None when it can be read."""
    if not path.exists():
        return f"no such file {path}"
    if not path.is_file():
        return f"{path} is not a file"
    try:
        with path.open("rb"):
            return None
    except OSError as exc:
        return f"{path} cannot be read: {exc.strerror or exc}"


def named_files(connections: Mapping[str, Any], root: Path) -> list[Path]:
    """Every file the connections name (what a cached check must look at again: it may have gone since)."""
    return [
        project_file(root, value)
        for connection in connections.values()
        for key in registry.get(connection.driver).file_keys
        if (value := getattr(connection, key)) is not None
    ]


def file_problem(path: Path) -> str | None:
    """Why ``path`` cannot serve as a key file, or None when it can be read."""
    return _file_problem(path)
