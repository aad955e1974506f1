"""The tags the station produces about itself, named under ``SYSTEM.``: what a project may refer to.

The loader adds them to every project so that screens, trends and alarms on them validate like any
other reference; the runtime's ``SystemTags`` source (``hmi.core.system_tags``) publishes their values.
"""

from __future__ import annotations

from collections.abc import Iterable

from hmi.model import DataType, TagDef

PREFIX = "SYSTEM."
"""Reserved: an engineer's tag may not be named under it."""

SOURCE = "system"
"""The ``TagDef.source`` of every system tag."""

HISTORY_DISK_FULL = "SYSTEM.HISTORY.DISK_FULL"
HISTORY_BACKLOG = "SYSTEM.HISTORY.BACKLOG"
HISTORY_OK = "SYSTEM.HISTORY.OK"
HISTORY_AVAILABLE = "SYSTEM.HISTORY.AVAILABLE"
RUNTIME_ERRORS = "SYSTEM.RUNTIME.ERRORS"


def link_up(connection: str) -> str:
    """The bool tag that is true while ``connection`` is connected."""
    return f"SYSTEM.LINK.{connection}.UP"


def link_state(connection: str) -> str:
    """The string tag holding ``connection``'s state (connecting, connected, backing off, ...)."""
    return f"SYSTEM.LINK.{connection}.STATE"


def _tag(name: str, data_type: DataType, description: str, units: str = "") -> TagDef:
    return TagDef(
        name, None, name.removeprefix(PREFIX), data_type, units=units, description=description, source=SOURCE
    )


def system_tag_defs(connections: Iterable[str]) -> dict[str, TagDef]:
    """Every system tag of a project with these connections, by name."""
    tags = [
        _tag(HISTORY_DISK_FULL, DataType.BOOL, "History disk full: samples wait in memory"),
        _tag(HISTORY_BACKLOG, DataType.UINT64, "Samples waiting to be written to history", "samples"),
        _tag(HISTORY_OK, DataType.BOOL, "History writer running and committing"),
        _tag(
            HISTORY_AVAILABLE,
            DataType.BOOL,
            "History store open and its writer working (false: values, alarms and writes go unrecorded)",
        ),
        _tag(
            RUNTIME_ERRORS,
            DataType.UINT64,
            "Failures of one alarm or one runtime listener, each isolated from the others (see the log)",
            "errors",
        ),
    ]
    for connection in connections:
        tags.append(_tag(link_up(connection), DataType.BOOL, f"Connection {connection} is connected"))
        tags.append(_tag(link_state(connection), DataType.STRING, f"State of connection {connection}"))
    return {tag.name: tag for tag in tags}
