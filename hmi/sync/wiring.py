"""The sync service of a station: the project's endpoints reading the station's store."""

from __future__ import annotations

from collections.abc import Mapping

from hmi.model import DataType
from hmi.project.config import Project
from hmi.store import Store
from hmi.sync.audit_source import JoinedSource
from hmi.sync.risk import Limits
from hmi.sync.service import SyncService
from hmi.sync.source import StoreSource


def station_sync(
    project: Project, store: Store, others: Mapping[str, StoreSource] | None = None
) -> SyncService | None:
    """A service for ``project.sync`` on ``store``'s streams and ``others`` (streams in files of their
    own: the audit trail); None when the project has no endpoint."""
    if not any(endpoint.enabled for endpoint in project.sync.values()):
        return None
    source = StoreSource.of(store)
    if others:
        source = JoinedSource(source, others)
    bool_tags = frozenset(name for name, tag in project.every_tag().items() if tag.type is DataType.BOOL)
    limits = Limits(project.history.retention, project.history.max_size)
    return SyncService(project.sync.values(), source, project.name, bool_tags, limits=limits)
