"""What the ui may know of driver kinds: which connections offer browsing or certificates.

The ui never imports drivers (an import contract says so); it asks here, and the
driver registry answers, so no screen names a protocol.
"""

from __future__ import annotations

from drivers import registry
from drivers.registry import BROWSE, CERTIFICATES
from hmi.project.config import ConnectionConfig, Project

__all__ = ["BROWSE", "CERTIFICATES", "connections_offering"]


def connections_offering(project: Project, feature: str) -> dict[str, ConnectionConfig]:
    """The project's connections whose driver kind offers ``feature``, in project order."""
    offering = {kind.name for kind in registry.kinds() if feature in kind.features}
    return {name: config for name, config in project.connections.items() if config.driver in offering}
