"""An X.509 user identity: the certificate and private key a session presents instead of a user name.

Files are read and keys decrypted (a passphrase-protected key costs a key
derivation) by :func:`load_user_certificate`, which blocks: callers run it in a
worker thread. Every failure names the file and what to fix, because a user
token that cannot be built must fail the connection, never fall back to an
anonymous session.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_der_private_key, load_pem_private_key

from drivers.opcua_security import SecuritySetupError

log = logging.getLogger(__name__)

_PEM_MARK = b"-----BEGIN"
_RSA_ONLY = "the OPC UA security policies sign user tokens with RSA"


@dataclass(frozen=True, slots=True)
class UserCertificate:
    """A user certificate with its matching RSA private key, ready for an X509IdentityToken."""

    certificate: x509.Certificate
    private_key: rsa.RSAPrivateKey

    @property
    def subject(self) -> str:
        """The certificate's subject as an engineer reads it (``CN=operator,O=Plant``)."""
        return self.certificate.subject.rfc4514_string()


def load_user_certificate(
    cert_file: Path, key_file: Path, passphrase: str | None, passphrase_env: str | None = None
) -> UserCertificate:
    """Read and check a user certificate and its key; raise SecuritySetupError naming the faulty file."""
    certificate = _parse_certificate(cert_file, _read(cert_file, "user certificate"))
    key = _parse_private_key(key_file, _read(key_file, "user private key"), passphrase, passphrase_env)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SecuritySetupError(f"user private key {key_file} is not an RSA key ({_RSA_ONLY})")
    # A mismatched pair would only show up as the server's vague BadIdentityTokenInvalid.
    if key.public_key().public_numbers() != _rsa_public_numbers(certificate, cert_file):
        raise SecuritySetupError(
            f"user private key {key_file} does not belong to the certificate {cert_file}"
        )
    if certificate.not_valid_after_utc < dt.datetime.now(dt.UTC):
        log.warning("user certificate %s expired on %s", cert_file, certificate.not_valid_after_utc.date())
    return UserCertificate(certificate, key)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise SecuritySetupError(f"{what} file {path} does not exist") from None
    except OSError as exc:
        raise SecuritySetupError(f"{what} file {path} cannot be read: {exc.strerror or exc}") from None


def _parse_certificate(path: Path, content: bytes) -> x509.Certificate:
    try:
        if content.lstrip().startswith(_PEM_MARK):
            return x509.load_pem_x509_certificate(content)
        return x509.load_der_x509_certificate(content)
    except ValueError:
        raise SecuritySetupError(f"user certificate file {path} is not a PEM or DER certificate") from None


def _parse_private_key(
    path: Path, content: bytes, passphrase: str | None, passphrase_env: str | None
) -> object:
    secret = passphrase.encode() if passphrase is not None else None
    load = load_pem_private_key if content.lstrip().startswith(_PEM_MARK) else load_der_private_key
    try:
        return load(content, password=secret)
    except TypeError:
        # cryptography says TypeError when the key's encryption and the passphrase disagree.
        if secret is None:
            raise SecuritySetupError(
                f"user private key {path} is encrypted: name the environment variable holding "
                "its passphrase with user_key_password_env"
            ) from None
        raise SecuritySetupError(
            f"user private key {path} is not encrypted, but user_key_password_env {passphrase_env} is set"
        ) from None
    except ValueError:
        if secret is not None:
            raise SecuritySetupError(
                f"user private key {path} cannot be decrypted with the passphrase in {passphrase_env} "
                "(wrong passphrase, or not a PEM or DER private key)"
            ) from None
        raise SecuritySetupError(f"user private key {path} is not a PEM or DER private key") from None


def _rsa_public_numbers(certificate: x509.Certificate, path: Path) -> rsa.RSAPublicNumbers:
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise SecuritySetupError(f"user certificate {path} does not hold an RSA key ({_RSA_ONLY})")
    return public_key.public_numbers()
