"""The OPC UA certificate store on disk: where it lives, what is in it, and the engineer's trust decisions.

Layout (shared with :mod:`drivers.opcua_security`, which writes it while connecting)::

    <pki>/own/client_cert.der      this application's instance certificate
    <pki>/private/client_key.pem   its private key
    <pki>/trusted/<thumbprint>.der server certificates an engineer approved
    <pki>/rejected/<thumbprint>.der server certificates seen and refused, waiting for a decision

Everything here does file IO: call it from a CLI, a worker thread or a loop's executor,
never from a GUI thread or an event loop directly.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from drivers.opcua_security import ClientIdentity, application_uri, ensure_client_identity, thumbprint

PKI_ENV = "CONVERGE_HMI_PKI"
"""Environment variable naming the PKI folder (overrides the per-user default)."""

APP_DIR_NAME = "converge-hmi"
MIN_PREFIX = 6
"""A thumbprint may be abbreviated to this many leading characters when that is unambiguous."""

TRUSTED, REJECTED, OWN = "trusted", "rejected", "own"
CERT_SUFFIXES = (".der", ".pem")


class CertificateError(Exception):
    """A trust decision that cannot be carried out; the message says why."""


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    """One certificate file and what an engineer needs to judge it."""

    status: str  # trusted | rejected | own
    path: Path
    thumbprint: str
    subject: str = ""
    issuer: str = ""
    not_before: dt.datetime | None = None
    not_after: dt.datetime | None = None
    application_uri: str = ""
    error: str = ""  # why the file could not be read as a certificate (it is still listed)

    @property
    def expired(self) -> bool:
        """True when the certificate is outside its validity period now."""
        now = dt.datetime.now(dt.UTC)
        if self.not_before is None or self.not_after is None:
            return False
        return not self.not_before <= now <= self.not_after

    def validity(self) -> str:
        """``YYYY-MM-DD .. YYYY-MM-DD`` (with ``EXPIRED`` when out of date), or empty when unknown."""
        if self.not_before is None or self.not_after is None:
            return ""
        text = f"{self.not_before:%Y-%m-%d} .. {self.not_after:%Y-%m-%d}"
        return f"{text} EXPIRED" if self.expired else text


def resolve_pki_dir(configured: str | Path | None = None) -> Path:
    """The PKI folder: the project's setting, else ``$CONVERGE_HMI_PKI``, else the per-user data folder.

    Pure: computes the path only. Folders are created when a certificate is first written.
    """
    if configured:
        return Path(configured).expanduser()
    from_env = os.environ.get(PKI_ENV)
    if from_env:
        return Path(from_env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_DIR_NAME, appauthor=False)) / "pki"


def own_identity(pki_dir: Path) -> ClientIdentity:
    """This application's certificate, created on first use (so it can be given to a server's admin)."""
    return ensure_client_identity(pki_dir, application_uri())


def describe(path: Path, status: str) -> CertificateInfo:
    """Read one DER (or PEM) certificate file; an unreadable file is described with its error."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return CertificateInfo(status, path, path.stem.upper(), error=f"cannot read: {exc.strerror}")
    try:
        cert = (
            x509.load_pem_x509_certificate(data)
            if data.lstrip().startswith(b"-----")
            else x509.load_der_x509_certificate(data)
        )
    except ValueError as exc:
        return CertificateInfo(status, path, thumbprint(data), error=f"not a certificate: {exc}")
    der = cert.public_bytes(Encoding.DER)
    return CertificateInfo(
        status,
        path,
        thumbprint(der),
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        application_uri=_application_uri(cert),
    )


def _application_uri(cert: x509.Certificate) -> str:
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ""
    uris = names.get_values_for_type(x509.UniformResourceIdentifier)
    return uris[0] if uris else ""


def list_certificates(pki_dir: Path, *, include_own: bool = True) -> list[CertificateInfo]:
    """The own certificate (when present), then the trusted and the rejected server certificates."""
    found: list[CertificateInfo] = []
    own = pki_dir / "own" / "client_cert.der"
    if include_own and own.is_file():
        found.append(describe(own, OWN))
    for status in (TRUSTED, REJECTED):
        folder = pki_dir / status
        if folder.is_dir():
            files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in CERT_SUFFIXES)
            found.extend(describe(p, status) for p in files)
    return found


def find(pki_dir: Path, thumbprint_text: str, status: str) -> CertificateInfo:
    """The one ``status`` certificate whose thumbprint starts with ``thumbprint_text``; raises otherwise."""
    wanted = thumbprint_text.replace(":", "").strip().upper()
    if len(wanted) < MIN_PREFIX:
        raise CertificateError(f"give at least {MIN_PREFIX} characters of the thumbprint, not {wanted!r}")
    matches = [c for c in list_certificates(pki_dir, include_own=False) if c.thumbprint.startswith(wanted)]
    here = [c for c in matches if c.status == status]
    if len(here) == 1:
        return here[0]
    if len(here) > 1:
        raise CertificateError(f"thumbprint {wanted} is ambiguous: {', '.join(c.thumbprint for c in here)}")
    elsewhere = f" (it is {matches[0].status})" if matches else ""
    raise CertificateError(f"no {status} certificate with thumbprint {wanted} in {pki_dir}{elsewhere}")


def trust(pki_dir: Path, thumbprint_text: str) -> CertificateInfo:
    """Move a rejected server certificate to the trust list; returns it as now trusted."""
    return _move(find(pki_dir, thumbprint_text, REJECTED), pki_dir, TRUSTED)


def reject(pki_dir: Path, thumbprint_text: str) -> CertificateInfo:
    """Move a trusted server certificate back to rejected: connections to that server are refused again."""
    return _move(find(pki_dir, thumbprint_text, TRUSTED), pki_dir, REJECTED)


def _move(cert: CertificateInfo, pki_dir: Path, status: str) -> CertificateInfo:
    if cert.error:
        raise CertificateError(f"{cert.path} is not usable: {cert.error}")
    target = pki_dir / status / f"{cert.thumbprint}.der"
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(cert.path, target)  # atomic: a connecting driver never sees the file half there
    return describe(target, status)
