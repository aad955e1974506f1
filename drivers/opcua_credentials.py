"""The user identity of an OPC UA session: anonymous, a user name and password, or an X.509 certificate.

Passwords come from an environment variable or the OS keyring, never a file.
Keyring back ends talk to D-Bus, the Windows credential store or the macOS
keychain, any of which may take a while or prompt the desktop; user
certificates and keys are files, and an encrypted key costs a key derivation:
both run in a worker thread so that the event loop keeps serving the other connections.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from asyncua import Client, ua

from drivers.opcua_quality import status_name
from drivers.opcua_security import SecuritySetupError, in_worker_thread
from drivers.opcua_user_certificate import UserCertificate, load_user_certificate
from drivers.settings import OpcUaSettings

log = logging.getLogger(__name__)

LOGIN_REFUSALS = frozenset(
    {
        ua.StatusCodes.BadUserAccessDenied,
        ua.StatusCodes.BadIdentityTokenInvalid,
        ua.StatusCodes.BadIdentityTokenRejected,
        ua.StatusCodes.BadUserSignatureInvalid,
    }
)
"""ActivateSession answers that mean the server refused who we are, not that the link failed."""


def split_keyring_entry(entry: str) -> tuple[str, str]:
    """``SERVICE/USER`` as (service, user); the user is after the last slash (services may hold slashes)."""
    service, _, user = entry.rpartition("/")
    if not service or not user:
        raise SecuritySetupError(f"password_keyring {entry!r} is not SERVICE/USER")
    return service, user


def read_keyring(service: str, user: str) -> str | None:
    """The password stored under (service, user) in the OS keyring, or None; blocking."""
    import keyring
    from keyring.errors import KeyringError

    try:
        return keyring.get_password(service, user)
    except KeyringError as exc:
        raise SecuritySetupError(f"the OS keyring cannot be read ({type(exc).__name__}: {exc})") from None


async def resolve_password(settings: OpcUaSettings) -> str | None:
    """The password for ``settings.username``: None when the login needs none; raises SecuritySetupError."""
    if settings.password_env:
        password = os.environ.get(settings.password_env)
        if password is None:
            raise SecuritySetupError(f"password environment variable {settings.password_env} is not set")
        return password
    if settings.password_keyring:
        service, user = split_keyring_entry(settings.password_keyring)
        password = await in_worker_thread(read_keyring, service, user)
        if password is None:
            raise SecuritySetupError(
                f"no password in the OS keyring for service {service!r}, user {user!r} "
                f"(store it with: keyring set {service} {user})"
            )
        return password
    return None


async def apply_login(client: Client, settings: OpcUaSettings) -> None:
    """Set the identity the session will present: a user certificate, a user name, or anonymous."""
    if settings.user_certificate or settings.user_private_key:
        identity = await load_user_identity(settings)
        # asyncua presents an X509IdentityToken when both are set, and anonymous otherwise.
        client.user_certificate = identity.certificate
        client.user_private_key = identity.private_key
        return
    if not settings.username:
        return
    client.set_user(settings.username)
    password = await resolve_password(settings)
    if password is not None:
        refuse_password_in_clear(settings)
        client.set_password(password)


def refuse_password_in_clear(settings: OpcUaSettings) -> None:
    """Never send a password over ``security: None`` unless the project says so; log it when it does."""
    if settings.security != "None":
        return
    if not settings.allow_insecure_password:
        raise SecuritySetupError(
            f"refusing to send the password of user {settings.username!r} in clear text over security None: "
            "set security (and mode) on the connection, or allow_insecure_password: true to accept it"
        )
    log.warning(
        "%s: sending the password of user %r in clear text (security None, allow_insecure_password)",
        settings.endpoint,
        settings.username,
    )


async def load_user_identity(settings: OpcUaSettings) -> UserCertificate:
    """The configured user certificate and key, read in a worker thread; raises SecuritySetupError."""
    if settings.username:
        raise SecuritySetupError("give either username or user_certificate, not both")
    if not settings.user_certificate or not settings.user_private_key:
        raise SecuritySetupError("user_certificate and user_private_key go together: give both")
    if settings.security == "None":
        # The token's signature covers the server certificate: only a secure channel has one we trust.
        raise SecuritySetupError("an X.509 user certificate needs a secure channel, not security None")
    passphrase = None
    if settings.user_key_password_env:
        passphrase = os.environ.get(settings.user_key_password_env)
        if passphrase is None:
            raise SecuritySetupError(
                f"user key passphrase environment variable {settings.user_key_password_env} is not set"
            )
    cert_file, key_file = Path(settings.user_certificate), Path(settings.user_private_key)
    return await in_worker_thread(
        load_user_certificate, cert_file, key_file, passphrase, settings.user_key_password_env
    )


@contextmanager
def explaining_login_refusal(settings: OpcUaSettings) -> Iterator[None]:
    """Turn the server's refusal of our identity into a message that says which identity it refused."""
    try:
        yield
    except ua.UaStatusCodeError as exc:
        if exc.code not in LOGIN_REFUSALS:
            raise
        refused = _identity_of(settings)
        raise SecuritySetupError(f"the server refused {refused}: {status_name(exc.code)}") from None


def _identity_of(settings: OpcUaSettings) -> str:
    if settings.user_certificate:
        return f"the user certificate {settings.user_certificate}"
    if settings.username:
        return f"user {settings.username!r}"
    return "an anonymous session"
