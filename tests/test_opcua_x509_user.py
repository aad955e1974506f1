"""X.509 user identity tokens: a user certificate logs in over a secure channel, an unknown one is refused.

Also: the key files' errors name the file, at connect time (never an anonymous
session instead) and in ``hmi check`` (file:line).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from asyncua import ua
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
)
from cryptography.x509.oid import NameOID
from opcua_server import ServerIdentity, make_server_identity, opcua_test_server
from test_opcua_driver import Recorder, make_driver, tag, wait_for

from drivers.opcua_security import SecuritySetupError, trust_certificate
from drivers.opcua_user_certificate import load_user_certificate
from hmi.app.cli import main
from hmi.model import ConnectionState, Reason
from hmi.project.loader import load_project

TEMP = "Plant.Tank1.Temperature"
SECURE = {"security": "Basic256Sha256", "mode": "SignAndEncrypt"}
PASSPHRASE_ENV = "CONVERGE_TEST_UA_KEY_PASSPHRASE"


class UserFiles:
    """A self-signed user certificate and its private key written into a folder."""

    def __init__(
        self, folder: Path, name: str, *, passphrase: str | None = None, encoding: Encoding = Encoding.PEM
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        suffix = "pem" if encoding is Encoding.PEM else "der"
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.certificate = self_signed(self.key, name)
        self.der = self.certificate.public_bytes(Encoding.DER)
        self.cert_file = folder / f"{name}_cert.{suffix}"
        self.key_file = folder / f"{name}_key.{suffix}"
        self.cert_file.write_bytes(self.certificate.public_bytes(encoding))
        protection = BestAvailableEncryption(passphrase.encode()) if passphrase else NoEncryption()
        self.key_file.write_bytes(self.key.private_bytes(encoding, PrivateFormat.PKCS8, protection))

    def settings(self) -> dict[str, str]:
        return {"user_certificate": str(self.cert_file), "user_private_key": str(self.key_file)}


def self_signed(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, name: str) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )


@pytest.fixture(scope="module")
def server_identity() -> ServerIdentity:
    return make_server_identity()


# --- against a live server ------------------------------------------------------------------


async def test_a_known_user_certificate_logs_in_and_an_unknown_one_is_refused(
    free_port, tmp_path, monkeypatch, server_identity
):
    monkeypatch.setenv(PASSPHRASE_ENV, "open sesame")
    operator = UserFiles(tmp_path / "keys", "operator", passphrase="open sesame")
    stranger = UserFiles(tmp_path / "keys", "stranger")
    pki = tmp_path / "pki"
    # The engineer approved this server beforehand (the trust-list flow has its own test).
    trust_certificate(pki, server_identity.certificate)
    known = [operator.der]
    async with opcua_test_server(free_port(), server_identity, user_certificates=known) as server:
        temp = await server.add_variable(TEMP, 19.5, ua.VariantType.Double)
        recorder = Recorder()
        driver = make_driver(
            server.endpoint,
            [tag("TANK1.TEMP", temp)],
            recorder,
            pki,
            user_key_password_env=PASSPHRASE_ENV,
            **SECURE,
            **operator.settings(),
        )
        await driver.start()
        try:
            await wait_for(lambda: recorder.is_good("TANK1.TEMP", 19.5), within=8.0)
            assert driver.diagnostics()["security"] == "Basic256Sha256/SignAndEncrypt"
            await server.set_value(TEMP, 20.25)
            await wait_for(lambda: recorder.is_good("TANK1.TEMP", 20.25))
            sessions = list(server.server.iserver._external_sessions.values())
            assert [session.user.name for session in sessions] == ["certificate-user-0"]
        finally:
            await driver.stop()

        refused = Recorder()
        intruder = make_driver(
            server.endpoint, [tag("TANK1.TEMP", temp)], refused, pki, **SECURE, **stranger.settings()
        )
        await intruder.start()
        try:
            await wait_for(lambda: intruder.status.state is ConnectionState.BACKING_OFF, within=8.0)
            error = intruder.status.last_error
            assert f"the server refused the user certificate {stranger.cert_file}" in error
            assert "BadUserAccessDenied" in error
            assert not refused.is_good("TANK1.TEMP")
            assert refused.has_reason("TANK1.TEMP", Reason.COMM_FAILURE)
        finally:
            await intruder.stop()


async def test_a_missing_key_file_fails_the_connection_and_never_opens_an_anonymous_session(
    free_port, tmp_path, server_identity
):
    operator = UserFiles(tmp_path / "keys", "operator")
    operator.key_file.unlink()
    pki = tmp_path / "pki"
    trust_certificate(pki, server_identity.certificate)
    # This server would let anyone in: a fallback to anonymous would connect and deliver values.
    async with opcua_test_server(free_port(), server_identity) as server:
        temp = await server.add_variable(TEMP, 19.5, ua.VariantType.Double)
        recorder = Recorder()
        driver = make_driver(
            server.endpoint, [tag("TANK1.TEMP", temp)], recorder, pki, **SECURE, **operator.settings()
        )
        await driver.start()
        try:
            await wait_for(lambda: driver.status.state is ConnectionState.BACKING_OFF, within=5.0)
            assert f"user private key file {operator.key_file} does not exist" in driver.status.last_error
            assert recorder.has_reason("TANK1.TEMP", Reason.COMM_FAILURE)
            assert not server.server.iserver._external_sessions
        finally:
            await driver.stop()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"user_key_password_env": "CONVERGE_TEST_UA_UNSET"}, "CONVERGE_TEST_UA_UNSET is not set"),
        ({"security": "None", "mode": "None"}, "needs a secure channel"),
        ({"username": "operator"}, "either username or user_certificate"),
        ({"user_private_key": None}, "go together"),
    ],
)
async def test_unusable_user_certificate_settings_fail_with_a_clear_error(
    free_port, tmp_path, monkeypatch, settings, message
):
    monkeypatch.delenv("CONVERGE_TEST_UA_UNSET", raising=False)
    operator = UserFiles(tmp_path / "keys", "operator")
    # Nothing listens here: the identity is checked before the server is contacted.
    endpoint = f"opc.tcp://127.0.0.1:{free_port()}/"
    recorder = Recorder()
    options = {**SECURE, **operator.settings(), **settings}
    driver = make_driver(endpoint, [tag("TANK1.TEMP", "ns=2;s=T")], recorder, tmp_path / "pki", **options)
    await driver.start()
    try:
        await wait_for(lambda: driver.status.state is ConnectionState.BACKING_OFF, within=3.0)
        assert message in driver.status.last_error
    finally:
        await driver.stop()


# --- reading the files ------------------------------------------------------------------------


def test_pem_and_der_files_load_and_passphrases_are_checked(tmp_path):
    plain = UserFiles(tmp_path, "plain", encoding=Encoding.DER)
    assert load_user_certificate(plain.cert_file, plain.key_file, None).certificate == plain.certificate
    locked = UserFiles(tmp_path, "locked", passphrase="s3cret")
    identity = load_user_certificate(locked.cert_file, locked.key_file, "s3cret", PASSPHRASE_ENV)
    assert identity.subject == "CN=locked"
    with pytest.raises(SecuritySetupError, match=f"{locked.key_file} is encrypted: .*user_key_password_env"):
        load_user_certificate(locked.cert_file, locked.key_file, None)
    wrong = f"cannot be decrypted with the passphrase in {PASSPHRASE_ENV}"
    with pytest.raises(SecuritySetupError, match=wrong):
        load_user_certificate(locked.cert_file, locked.key_file, "guess", PASSPHRASE_ENV)
    with pytest.raises(SecuritySetupError, match=f"{plain.key_file} is not encrypted"):
        load_user_certificate(plain.cert_file, plain.key_file, "s3cret", PASSPHRASE_ENV)


def test_unusable_files_are_refused_naming_the_file(tmp_path):
    one, other = UserFiles(tmp_path, "one"), UserFiles(tmp_path, "other")
    with pytest.raises(SecuritySetupError, match=f"{other.key_file} does not belong to the certificate"):
        load_user_certificate(one.cert_file, other.key_file, None)
    missing = tmp_path / "gone.pem"
    with pytest.raises(SecuritySetupError, match=f"user certificate file {missing} does not exist"):
        load_user_certificate(missing, one.key_file, None)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n", encoding="ascii")
    with pytest.raises(SecuritySetupError, match=f"{garbage} is not a PEM or DER certificate"):
        load_user_certificate(garbage, one.key_file, None)
    with pytest.raises(SecuritySetupError, match=f"{garbage} is not a PEM or DER private key"):
        load_user_certificate(one.cert_file, garbage, None)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_cert = tmp_path / "ec_cert.pem"
    ec_cert.write_bytes(self_signed(ec_key, "ec").public_bytes(Encoding.PEM))
    with pytest.raises(SecuritySetupError, match="is not an RSA key"):
        load_user_certificate(one.cert_file, _write_key(tmp_path / "ec_key.pem", ec_key), None)
    with pytest.raises(SecuritySetupError, match=f"{ec_cert} does not hold an RSA key"):
        load_user_certificate(ec_cert, one.key_file, None)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    path.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    return path


# --- hmi check and the loader -------------------------------------------------------------------

PROJECT = """\
name: X.509 users
connections:
  ua1: {driver: opcua, endpoint: "opc.tcp://127.0.0.1:4840/", security: Basic256Sha256, %s}
tags:
  T: {connection: ua1, address: "ns=2;s=T"}
"""


def write_project(folder: Path, connection: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "project.yaml").write_text(PROJECT % connection, encoding="utf-8")
    return folder / "project.yaml"


def test_relative_key_files_are_taken_from_the_project_folder(tmp_path, monkeypatch, capsys):
    project = tmp_path / "plant"
    operator = UserFiles(project / "keys", "operator")
    elsewhere = UserFiles(tmp_path / "secrets", "shared")
    connection = (
        f"user_certificate: keys/operator_cert.pem, user_private_key: {elsewhere.key_file}, "
        f"user_key_password_env: {PASSPHRASE_ENV}"
    )
    write_project(project, connection)
    monkeypatch.chdir(tmp_path)  # not the project folder: relative paths must not follow the cwd
    assert main(["check", "plant"]) == 0, capsys.readouterr().out
    settings = load_project("plant").connections["ua1"].settings
    assert Path(settings.user_certificate) == operator.cert_file.resolve()
    assert settings.user_private_key == str(elsewhere.key_file)
    assert settings.user_key_password_env == PASSPHRASE_ENV
    assert settings.username is None


TOGETHER = "user_certificate and user_private_key go together: give both"


@pytest.mark.parametrize(
    ("connection", "reason"),
    [
        (
            "username: op, user_certificate: keys/operator_cert.pem, user_private_key: keys/operator_key.pem",
            "user_certificate: give either username or user_certificate, not both",
        ),
        ("user_private_key: keys/operator_key.pem", TOGETHER),
        ("user_certificate: keys/operator_cert.pem", TOGETHER),
        (
            "user_certificate: keys/operator_cert.pem, user_private_key: keys/operator_key.pem, "
            "user_key_password_env: 1PASS",
            "user_key_password_env: '1PASS' is not an environment variable name",
        ),
        ("user_key_password_env: PASS", "user_key_password_env: needs a user_private_key to go with it"),
    ],
)
def test_inconsistent_user_identity_settings_are_file_line_errors(tmp_path, capsys, connection, reason):
    UserFiles(tmp_path / "keys", "operator")
    project_file = write_project(tmp_path, connection)
    assert main(["check", str(tmp_path)]) == 2
    lines = capsys.readouterr().out.splitlines()
    where = f"{project_file}:3: connection 'ua1': "
    assert any(line.startswith(where) and reason in line for line in lines), lines


def test_user_certificate_needs_a_secure_channel(tmp_path, capsys):
    UserFiles(tmp_path / "keys", "operator")
    connection = "user_certificate: keys/operator_cert.pem, user_private_key: keys/operator_key.pem"
    project_file = tmp_path / "project.yaml"
    write_project(tmp_path, connection)
    text = project_file.read_text(encoding="utf-8").replace("security: Basic256Sha256, ", "")
    project_file.write_text(text, encoding="utf-8")
    assert main(["check", str(tmp_path)]) == 2
    out = capsys.readouterr().out
    reason = "user_certificate: an X.509 user certificate needs a secure channel"
    assert f"{project_file}:3: connection 'ua1': {reason}" in out


def test_missing_key_files_are_file_line_errors_naming_the_file(tmp_path, capsys):
    UserFiles(tmp_path / "keys", "operator")
    (tmp_path / "keys" / "operator_key.pem").unlink()
    connection = "user_certificate: keys/operator_cert.pem,\n    user_private_key: keys/operator_key.pem"
    project_file = write_project(tmp_path, connection)
    assert main(["check", str(tmp_path)]) == 2
    lines = capsys.readouterr().out.splitlines()
    expected = (
        f"{project_file}:4: connection 'ua1': user_private_key: "
        f"no such file {tmp_path / 'keys' / 'operator_key.pem'}"
    )
    assert lines == [expected]
