"""``SYSTEM.SYNC.<endpoint>.PENDING_AT_RISK``: the sync service's retention guard as tags, for its alarm."""

from __future__ import annotations

from collections.abc import Sequence

from hmi.alarms.builtin import sync_risk_tag
from hmi.core.tag_source import TagSource
from hmi.model import DataType, Reason, Sample, TagDef


class SyncRiskTags(TagSource):
    """One bool per sync endpoint: true while its undelivered rows are near the history's limits."""

    def __init__(self, endpoints: Sequence[str]) -> None:
        tags = [
            TagDef(
                sync_risk_tag(endpoint),
                None,
                sync_risk_tag(endpoint).removeprefix("SYSTEM."),
                DataType.BOOL,
                description=f"Rows not delivered to {endpoint} are near the history retention or size limit",
                source="system",
            )
            for endpoint in endpoints
        ]
        super().__init__("sync", tags)

    def set_risk(self, endpoint: str, at_risk: bool, reason: str = "") -> None:
        """The guard's verdict for ``endpoint`` (on the runtime loop)."""
        self.publish(sync_risk_tag(endpoint), Sample.good(at_risk))

    async def _start(self) -> None:
        for tag in self.tags:  # unknown until the guard's first look: no alarm at start
            self.publish(tag.name, Sample.bad(Reason.WAITING))

    async def _stop(self) -> None:
        return None
