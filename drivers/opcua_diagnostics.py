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
    link_losses: int = 0
    """Sessions lost after they were serving (a dropped socket, a server that stopped answering)."""
    resume_path: str = ""
    """How the current session got its subscriptions: subscribed (first connect), reactivated or
    transferred (a lost session's subscriptions taken over, ``+republished N`` when messages sent
    while the link was down were asked for again) or resubscribed (created again)."""
    resumed: int = 0
    """Reconnects that took the previous subscriptions over (reactivated or transferred)."""
    resubscribed: int = 0
    """Reconnects that had to create every monitored item again."""
    probes: int = 0
    """Liveness probes sent this session (only a server silent for a second is probed)."""
    probe_timeout_s: float = 0.0
    """The patience of the next probe: scales with the measured latency and the session timeout."""
    max_items_per_call: int = 0
    """The server's MaxMonitoredItemsPerCall (0: it states none)."""
