"""The figures of one OPC UA connection, as its driver reports them for the diagnostics view."""

from __future__ import annotations

from dataclasses import dataclass

from hmi.model import DriverDiagnostics


@dataclass(frozen=True, slots=True, kw_only=True)
class OpcUaDiagnostics(DriverDiagnostics):
    """An OPC UA connection's session, subscriptions and notification counters.

    ``requests_per_s`` counts notifications (data changes received) per second.
    """

    endpoint: str = ""
    security: str = ""
    session_id: str = ""
    subscriptions: int = 0
    items: int = 0
    refused_items: int = 0
    items_without_deadband: int = 0
    notifications: int = 0
    keepalive_age_s: float | str = ""
    """Seconds since the server last answered a publish; empty when unknown."""
    dropped: int = 0
    late_after_link_loss: int = 0
    unrouted: int = 0
    server_queue_overflows: int = 0
    type_mismatches: int = 0
    """Values that did not fit their tag's type (published BAD, config error)."""
    restamped: int = 0
    """Values whose source timestamp was implausible (published with the receive time)."""
    certificate_warning: str = ""
    """A problem with the trusted server certificate in use (expired, not yet valid); empty when none."""
