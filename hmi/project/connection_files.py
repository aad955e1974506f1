"""Files a connection names (an OPC UA user certificate and key) must exist when the project is checked.

The schema judges the text of an entry; whether the file it names is there
depends on the project folder, so it is checked here, at load time. A key
that only turns out missing at connect time would leave the connection
failing on site, where ``hmi check`` could have said so at the desk.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from hmi.project.errors import Issue
from hmi.project.schema import ConnectionSpec, OpcUaConnectionSpec, project_file

FILE_KEYS = ("user_certificate", "user_private_key")


def connection_file_issues(connections: Mapping[str, ConnectionSpec], root: Path) -> list[Issue]:
    """One issue per named file that is missing or unreadable, at the line of the key naming it."""
    issues: list[Issue] = []
    for name, connection in connections.items():
        if not isinstance(connection, OpcUaConnectionSpec):
            continue
        for key in FILE_KEYS:
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
