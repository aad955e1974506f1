"""The asyncua Client as this application uses it: named, with its application URI and bounded timeouts."""

from __future__ import annotations

from asyncua import Client, ua

from drivers.opcua_security import APPLICATION_NAME, application_uri

WATCHDOG_INTERVAL = 1.0
"""Seconds between asyncua's liveness probes: a silent server is noticed within about two of these."""

SESSION_TIMEOUT_MS = 60_000
"""A session we could not close (crash, cable pulled) is freed by the server after this."""


class SessionClient(Client):
    """asyncua's Client, named for this application, remembering the id of the session it created."""

    def __init__(self, endpoint: str, timeout: float) -> None:
        super().__init__(endpoint, timeout=timeout, watchdog_intervall=WATCHDOG_INTERVAL)
        self.name = self.description = APPLICATION_NAME
        # Must equal the URI in the client certificate, or secure servers refuse the session.
        self.application_uri = application_uri()
        self.product_uri = "urn:converge-hmi"
        self.session_timeout = SESSION_TIMEOUT_MS
        self.session_id = ""

    async def create_session(self) -> ua.CreateSessionResult:
        """Create the session as asyncua does, keeping its id for diagnostics."""
        result = await super().create_session()
        self.session_id = result.SessionId.to_string()
        return result
