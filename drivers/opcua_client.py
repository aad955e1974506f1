"""The asyncua Client as this application uses it: named, with its application URI and bounded timeouts."""

from __future__ import annotations

from asyncua import Client, ua

from drivers.opcua_resume import SessionToken
from drivers.opcua_security import APPLICATION_NAME, application_uri

SESSION_TIMEOUT_MS = 60_000
"""A session we could not close (crash, cable pulled) is freed by the server after this."""

ASYNCUA_PROBE_INTERVAL = SESSION_TIMEOUT_MS / 1000
"""asyncua's own liveness probe (every interval, timing out after min(session timeout/2, interval)) would
declare a busy but healthy link lost after 1 s; the driver watches the link itself (``opcua_liveness``), so
asyncua's probe is left as a slow backstop. A closed socket is still reported by asyncua at once."""


class SessionClient(Client):
    """asyncua's Client, named for this application, remembering the id of the session it created."""

    def __init__(self, endpoint: str, timeout: float, resume: SessionToken | None = None) -> None:
        super().__init__(endpoint, timeout=timeout, watchdog_intervall=ASYNCUA_PROBE_INTERVAL)
        self.name = self.description = APPLICATION_NAME
        # Must equal the URI in the client certificate, or secure servers refuse the session.
        self.application_uri = application_uri()
        self.product_uri = "urn:converge-hmi"
        self.session_timeout = SESSION_TIMEOUT_MS
        self.session_id = resume.session_id if resume is not None else ""
        self._resume = resume
        self.created_session = False
        """False after connect() when the session of ``resume`` was activated again on the new channel."""

    @property
    def reactivated(self) -> bool:
        """connect() took the previous session over instead of creating one."""
        return self._resume is not None and not self.created_session

    def session_token(self) -> SessionToken:
        """What the next connection needs to activate this session again."""
        token = self.uaclient.session.authentication_token
        return SessionToken(token, self._server_nonce, self.session_id, tuple(self._policy_ids))

    def _try_load_persisted_session(self) -> bool:
        # asyncua's hook for a session persisted on disk: ours is held in memory, never written out.
        if self._resume is None:
            return False
        self.uaclient.session.restore_authentication_token(self._resume.authentication_token)
        self._server_nonce = self._resume.server_nonce  # type: ignore[assignment]
        self._policy_ids = list(self._resume.user_token_policies)
        return True

    async def create_session(self) -> ua.CreateSessionResult:
        """Create the session as asyncua does, keeping its id for diagnostics."""
        result = await super().create_session()
        self.created_session = True
        self.session_id = result.SessionId.to_string()
        return result

    async def abandon(self) -> None:
        """Drop the connection without closing the session, as a pulled cable would.

        The server keeps the session and its subscriptions (queuing their notifications)
        until the session timeout, so that the next session can take them over with
        TransferSubscriptions instead of creating every monitored item again.
        """
        self.uaclient.request_disconnect()
        for task in (self._stale_watchdog_task, self._supervisor_task, self._renew_channel_task):
            await self._cancel_task(task)
        self._stale_watchdog_task = self._supervisor_task = self._renew_channel_task = None
        await self._cancel_task(self.uaclient._publish_task)
        self.disconnect_socket()
