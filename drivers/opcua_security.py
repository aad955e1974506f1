"""OPC UA channel security: the client's own certificate and the server certificates it trusts.

The client certificate and key are generated on first use into ``<pki>/own`` and
``<pki>/private``. A server certificate must be in ``<pki>/trusted``; an unknown one is
saved in ``<pki>/rejected`` for an engineer to inspect, and the connection is refused
until an engineer moves it to ``trusted``. Certificates and keys are
created and read in a worker thread so that the event loop never waits on RSA
or the disk.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from asyncua import Client, ua
from asyncua.crypto import cert_gen, security_policies, uacrypto
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from drivers.settings import OpcUaSettings
from hmi.model import UNTRUSTED_CERTIFICATE, DriverError, DriverFailure

log = logging.getLogger(__name__)

POLICIES: dict[str, type[security_policies.SecurityPolicy]] = {
    "Basic256Sha256": security_policies.SecurityPolicyBasic256Sha256,
    "Aes128_Sha256_RsaOaep": security_policies.SecurityPolicyAes128Sha256RsaOaep,
    "Aes256_Sha256_RsaPss": security_policies.SecurityPolicyAes256Sha256RsaPss,
}
MODES = {"Sign": ua.MessageSecurityMode.Sign, "SignAndEncrypt": ua.MessageSecurityMode.SignAndEncrypt}

APPLICATION_NAME = "Converge HMI"
CERT_VALID_DAYS = 730

_T = TypeVar("_T")


class SecuritySetupError(Exception):
    """The requested channel security cannot be set up; the message tells the engineer what to fix."""


class UntrustedServerCertificate(SecuritySetupError, DriverFailure):
    """The server's certificate is not in the trust list; carries an ``untrusted_certificate`` error."""

    def __init__(self, error: DriverError) -> None:
        DriverFailure.__init__(self, error)


@dataclass(frozen=True, slots=True)
class ClientIdentity:
    """The client's application certificate (DER) and private key (PEM)."""

    certificate: bytes
    private_key: bytes


def application_uri() -> str:
    """The ApplicationUri this client announces; it must match the URI in its certificate."""
    return f"urn:{socket.gethostname()}:converge-hmi"


async def secure_client(client: Client, settings: OpcUaSettings, pki_dir: Path | None) -> str:
    """Set up ``client`` for the configured policy and mode before it connects; raise if impossible.

    Returns a warning about the trusted server certificate (expired, not yet valid), or empty text.
    """
    policy_name, mode_name = settings.security, settings.mode
    if policy_name == "None":
        if mode_name not in ("None", ""):
            raise SecuritySetupError(f"security mode {mode_name} needs a security policy, not None")
        return ""
    policy = POLICIES.get(policy_name)
    if policy is None:
        raise SecuritySetupError(f"security policy {policy_name} is not supported")
    mode = MODES.get(mode_name)
    if mode is None:
        raise SecuritySetupError(
            f"security policy {policy_name} needs mode Sign or SignAndEncrypt, not {mode_name}"
        )
    if pki_dir is None:
        raise SecuritySetupError(
            f"security policy {policy_name} needs a PKI directory for the client certificate"
        )
    client.application_uri = application_uri()
    identity = await in_worker_thread(ensure_client_identity, pki_dir, client.application_uri)
    server_cert = await _server_certificate(client, policy.URI, mode)
    await in_worker_thread(require_trusted_server, pki_dir, settings.endpoint, server_cert)
    warning = validity_warning(server_cert, settings.endpoint)
    if warning:
        log.warning("%s", warning)
    await client.set_security(
        policy,
        certificate=uacrypto.CertProperties(identity.certificate, extension="der"),
        private_key=uacrypto.CertProperties(identity.private_key, extension="pem"),
        server_certificate=uacrypto.CertProperties(server_cert, extension="der"),
        mode=mode,
    )
    return warning


def validity_warning(certificate: bytes, endpoint: str, now: dt.datetime | None = None) -> str:
    """Why a trusted server certificate is out of its validity period now, or empty text.

    The engineer's trust decision stands (the connection goes on), but an expired
    certificate usually means a server nobody maintains: it is said, not hidden.
    """
    cert = x509.load_der_x509_certificate(certificate)
    moment = now or dt.datetime.now(dt.UTC)
    which = f"the trusted server certificate of {endpoint} (thumbprint {thumbprint(certificate)})"
    if moment > cert.not_valid_after_utc:
        expired = f"expired on {cert.not_valid_after_utc:%Y-%m-%d}"
        return f"{which} {expired}; renew it on the server and trust the new one"
    if moment < cert.not_valid_before_utc:
        return f"{which} is not valid before {cert.not_valid_before_utc:%Y-%m-%d} (check the clocks)"
    return ""


async def _server_certificate(client: Client, policy_uri: str, mode: ua.MessageSecurityMode) -> bytes:
    endpoints = await client.connect_and_get_server_endpoints()
    try:
        endpoint = Client.find_endpoint(endpoints, mode, policy_uri)
    except ua.UaError:
        offered = sorted({f"{_short(e.SecurityPolicyUri)}/{e.SecurityMode.name}" for e in endpoints})
        raise SecuritySetupError(
            f"server offers no endpoint with {_short(policy_uri)}/{mode.name}; it offers {offered}"
        ) from None
    if not endpoint.ServerCertificate:
        raise SecuritySetupError("server endpoint has no certificate")
    return uacrypto.der_from_x509(uacrypto.x509_from_der(endpoint.ServerCertificate))


def _short(policy_uri: str) -> str:
    return policy_uri.rsplit("#", 1)[-1]


async def in_worker_thread(function: Callable[..., _T], *args: object) -> _T:
    """Run a blocking function in a short-lived worker thread that ends with it."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hmi-opcua-pki")
    try:
        return await asyncio.get_running_loop().run_in_executor(executor, function, *args)
    finally:
        executor.shutdown(wait=False)


def ensure_client_identity(pki_dir: Path, app_uri: str) -> ClientIdentity:
    """Load the client certificate and key from ``pki_dir``; create them when missing or expiring."""
    key_file = pki_dir / "private" / "client_key.pem"
    cert_file = pki_dir / "own" / "client_cert.der"
    if key_file.is_file() and cert_file.is_file():
        key_pem, cert_der = key_file.read_bytes(), cert_file.read_bytes()
        if _still_valid(x509.load_der_x509_certificate(cert_der), app_uri):
            return ClientIdentity(cert_der, key_pem)
    key = cert_gen.generate_private_key()
    names = [x509.UniformResourceIdentifier(app_uri), x509.DNSName(socket.gethostname())]
    cert = cert_gen.generate_self_signed_app_certificate(
        key, APPLICATION_NAME, {}, names, extended=[ExtendedKeyUsageOID.CLIENT_AUTH], days=CERT_VALID_DAYS
    )
    key_pem, cert_der = cert_gen.dump_private_key_as_pem(key), cert.public_bytes(Encoding.DER)
    key_file.parent.mkdir(parents=True, exist_ok=True)
    cert_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.touch(mode=0o600)
    key_file.write_bytes(key_pem)
    cert_file.write_bytes(cert_der)
    log.info("created OPC UA client certificate %s (%s)", cert_file, _fingerprint(cert_der))
    return ClientIdentity(cert_der, key_pem)


def _still_valid(cert: x509.Certificate, app_uri: str) -> bool:
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=7)
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    uris = names.get_values_for_type(x509.UniformResourceIdentifier)
    return cert.not_valid_after_utc > soon and app_uri in uris


def thumbprint(certificate: bytes) -> str:
    """The OPC UA thumbprint of a DER certificate: SHA-1, upper-case hex, as servers and tools show it."""
    return hashlib.sha1(certificate, usedforsecurity=False).hexdigest().upper()


def trust_certificate(pki_dir: Path, certificate: bytes) -> Path:
    """Add a server certificate to the trust list (what an engineer's approval does); returns its file."""
    trusted = pki_dir / "trusted" / f"{thumbprint(certificate)}.der"
    trusted.parent.mkdir(parents=True, exist_ok=True)
    trusted.write_bytes(certificate)
    rejected = pki_dir / "rejected" / trusted.name
    rejected.unlink(missing_ok=True)
    return trusted


def require_trusted_server(pki_dir: Path, endpoint: str, certificate: bytes) -> None:
    """Refuse a server certificate that is not in the trust list; never trust one silently.

    An unknown certificate is saved under ``<pki>/rejected`` so that an engineer can
    inspect it and, if it is the right server, move it to ``<pki>/trusted``.
    """
    trusted_dir = pki_dir / "trusted"
    if trusted_dir.is_dir() and any(p.read_bytes() == certificate for p in trusted_dir.glob("*.der")):
        return
    rejected = pki_dir / "rejected" / f"{thumbprint(certificate)}.der"
    rejected.parent.mkdir(parents=True, exist_ok=True)
    rejected.write_bytes(certificate)
    detail = (
        f"server certificate of {endpoint} is not trusted (thumbprint {thumbprint(certificate)}); "
        f"it was saved as {rejected}: move it into {trusted_dir} to trust this server"
    )
    data = {"thumbprint": thumbprint(certificate), "endpoint": endpoint, "saved_as": str(rejected)}
    raise UntrustedServerCertificate(DriverError(UNTRUSTED_CERTIFICATE, detail, data))


def _fingerprint(certificate: bytes) -> str:
    return "SHA-256 " + hashlib.sha256(certificate).hexdigest()[:16]
