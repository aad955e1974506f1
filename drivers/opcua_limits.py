"""The server's operation limits (Server.ServerCapabilities.OperationLimits), read once per session.

A limit of 0 or one the server does not expose means "no stated limit"; the driver
then keeps its own conservative chunk size.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from asyncua import ua

log = logging.getLogger(__name__)

LIMITS = ua.ObjectIds
MAX_MONITORED_ITEMS_PER_CALL = LIMITS.Server_ServerCapabilities_OperationLimits_MaxMonitoredItemsPerCall
MAX_NODES_PER_READ = LIMITS.Server_ServerCapabilities_OperationLimits_MaxNodesPerRead


@dataclass(frozen=True, slots=True)
class OperationLimits:
    """Per-call caps the server states; 0 where it states none."""

    max_monitored_items_per_call: int = 0
    max_nodes_per_read: int = 0

    def chunk(self, limit: int, ours: int) -> int:
        """Our chunk size, lowered to the server's limit when it states one."""
        return min(ours, limit) if limit > 0 else ours


async def read_operation_limits(session: Any) -> OperationLimits:
    """Read the limits; a server that refuses the read (or lacks the nodes) states no limits."""
    nodes = [ua.NodeId(ua.Int32(MAX_MONITORED_ITEMS_PER_CALL)), ua.NodeId(ua.Int32(MAX_NODES_PER_READ))]
    try:
        values = await session.read_attributes(nodes, ua.AttributeIds.Value)
    except (ua.UaError, TimeoutError) as exc:
        log.info("the server's operation limits are not readable (%s); using our own chunk sizes", exc)
        return OperationLimits()
    return OperationLimits(*(_count(value) for value in values))


def _count(value: ua.DataValue) -> int:
    if value.StatusCode is not None and not value.StatusCode.is_good():
        return 0
    number = value.Value.Value if value.Value is not None else None
    return number if isinstance(number, int) and number > 0 else 0
