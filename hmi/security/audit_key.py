"""The audit trail's HMAC key: in the OS keyring, or a key file only its owner can read.

With a key, rewriting the whole chain (every hash recomputed) is detectable too: without the key
nobody can compute a record's HMAC. Where no OS keyring exists (a headless Linux edge box, a
service account) the key lives in ``audit.key`` in the per-machine data folder, mode 0600.
Blocking (keyring, file IO): call it off any event loop.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from hmi.security.paths import data_dir

log = logging.getLogger(__name__)

KEYRING_SERVICE = "converge-hmi"
KEYRING_ENTRY = "audit-key"
KEY_FILE = "audit.key"


class NoAuditKey(Exception):
    """This installation has no audit key (nothing was audited here yet)."""


@dataclass(frozen=True, slots=True)
class AuditKey:
    """The secret and where it came from (``keyring`` or the key file's path)."""

    secret: bytes
    source: str

    @property
    def fingerprint(self) -> str:
        """A public name of the key (never the key): recorded in the trail so a wrong key is named."""
        return hashlib.sha256(b"converge-hmi audit key:" + self.secret).hexdigest()[:16]


def _key_file() -> Path:
    return data_dir() / KEY_FILE


def _from_keyring() -> str | None:
    try:
        import keyring
        from keyring.errors import KeyringError

        try:
            return keyring.get_password(KEYRING_SERVICE, KEYRING_ENTRY)
        except KeyringError:
            return None
    except Exception:  # a keyring backend that fails to load is treated as no keyring
        return None


def _to_keyring(text: str) -> bool:
    try:
        import keyring

        keyring.set_password(KEYRING_SERVICE, KEYRING_ENTRY, text)
    except Exception:  # no usable backend: the key file takes over
        return False
    return True


def load_key(create: bool = False) -> AuditKey:
    """The installation's key; with ``create``, a new one is made when there is none."""
    stored = _from_keyring()
    if stored:
        return AuditKey(bytes.fromhex(stored), "keyring")
    path = _key_file()
    if path.exists():
        return AuditKey(bytes.fromhex(path.read_text("ascii").strip()), str(path))
    if not create:
        raise NoAuditKey(f"no audit key in the OS keyring ({KEYRING_SERVICE}/{KEYRING_ENTRY}) or at {path}")
    text = secrets.token_hex(32)
    if _to_keyring(text):
        return AuditKey(bytes.fromhex(text), "keyring")
    return _create_key_file(path, text)


def _create_key_file(path: Path, text: str) -> AuditKey:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return AuditKey(bytes.fromhex(path.read_text("ascii").strip()), str(path))
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(text + "\n")
    log.warning("no OS keyring: the audit key is kept in %s (readable only by its owner)", path)
    return AuditKey(bytes.fromhex(text), str(path))
