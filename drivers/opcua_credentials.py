"""The password of an OPC UA user login: from an environment variable or the OS keyring, never a file.

Keyring back ends talk to D-Bus, the Windows credential store or the macOS
keychain, any of which may take a while or prompt the desktop: the lookup
runs in a worker thread so that the event loop keeps serving the other connections.
"""

from __future__ import annotations

import os

from asyncua import Client

from drivers.opcua_security import SecuritySetupError, in_worker_thread
from drivers.settings import OpcUaSettings


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
    """Set the user name and password the session will present (anonymous when no username)."""
    if not settings.username:
        return
    client.set_user(settings.username)
    password = await resolve_password(settings)
    if password is not None:
        client.set_password(password)
