"""OPC UA browsing for the browse dialog: the ui's one door to the browse code of the OPC UA driver.

The ui never imports drivers or asyncua (an import contract says so); it calls these
coroutines on a loop thread of its own and keeps the session as an opaque handle.
"""

from __future__ import annotations

from drivers.opcua_browse import (
    OBJECTS_FOLDER,
    BrowseEntry,
    browse_children,
    close_quietly,
    open_browse_client,
    tag_yaml_line,
)
from drivers.settings import OpcUaSettings

__all__ = [
    "OBJECTS_FOLDER",
    "BrowseEntry",
    "OpcUaSettings",
    "browse_children",
    "close_quietly",
    "open_browse_client",
    "tag_yaml_line",
]
