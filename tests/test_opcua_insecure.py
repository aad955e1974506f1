"""OPC UA trust: a password never crosses the network in clear text unless the project says so, and a
trusted server certificate that has expired is said, in the log, the diagnostics, ``hmi certs list``
and the certificates dialog."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from asyncua import ua
from asyncua.crypto import cert_gen
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from opcua_server import SERVER_URI, ServerIdentity, opcua_test_server
from project_files import BASE, write_project
from test_opcua_driver import TEMP, Recorder, make_driver, tag, wait_for

from drivers.opcua import OpcUaDriver
from drivers.opcua_security import thumbprint, trust_certificate, validity_warning
from hmi.app.cli import main
from hmi.core import certs
from hmi.project.loader import check_project, check_project_with_warnings, load_project

PASSWORD = "s3cret-Horse-42"
INSECURE_LOGINS = {
    "password_env": 'username: op, password_env: "UA_PW"',
    "password_keyring": 'username: op, password_keyring: "plant/ua/op"',
}

# --- hmi check --------------------------------------------------------------------------------------------


def _with_ua(settings: str) -> str:
    return BASE.replace('4840/"}', f'4840/", {settings}}}')


@pytest.mark.parametrize("login", INSECURE_LOGINS.values(), ids=INSECURE_LOGINS.keys())
@pytest.mark.parametrize("security", ["", "security: None, ", "security: None, mode: None, "])
def test_a_password_over_security_none_is_an_error(tmp_path: Path, login: str, security: str) -> None:
    write_project(tmp_path, _with_ua(security + login))
    [error] = check_project(tmp_path)
    assert error.line == 4
    assert "would cross the network in clear text" in error.message
    assert "allow_insecure_password: true" in error.message


@pytest.mark.parametrize("login", INSECURE_LOGINS.values(), ids=INSECURE_LOGINS.keys())
def test_allowed_explicitly_it_is_a_warning_with_exit_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], login: str
) -> None:
    write_project(tmp_path, _with_ua(login + ", allow_insecure_password: true"))
    errors, warnings = check_project_with_warnings(tmp_path)
    assert errors == []
    [warning] = warnings
    assert (warning.line, warning.message) == (
        4,
        "warning: connection 'ua1': allow_insecure_password: the password of 'op' crosses the network "
        "in clear text (security None, allowed by allow_insecure_password)",
    )
    assert main(["check", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [str(warning), f"{tmp_path}: ok (1 warnings)"]
    assert load_project(tmp_path).connections["ua1"].settings.allow_insecure_password is True


@pytest.mark.parametrize(
    "settings",
    [
        "username: op",  # no password: nothing secret is sent
        "security: Basic256Sha256, username: op, password_env: UA_PW",
        "security: Aes256_Sha256_RsaPss, mode: Sign, username: op, password_keyring: plant/ua/op",
        "security: Basic256Sha256, username: op, password_env: UA_PW, allow_insecure_password: true",
    ],
)
def test_no_password_in_clear_is_neither_error_nor_warning(tmp_path: Path, settings: str) -> None:
    write_project(tmp_path, _with_ua(settings))
    assert check_project_with_warnings(tmp_path) == ([], [])


def test_the_flag_must_be_a_boolean(tmp_path: Path) -> None:
    write_project(tmp_path, _with_ua('username: op, password_env: UA_PW, allow_insecure_password: "yes"'))
    messages = [error.message for error in check_project(tmp_path)]
    assert any("allow_insecure_password" in message for message in messages), messages


# --- the driver, against a real server, with every byte it sends recorded ----------------------------------


@asynccontextmanager
async def recording_proxy(target_port: int, sent: bytearray) -> AsyncIterator[int]:
    """A loopback TCP relay to ``target_port`` that keeps every byte the client sends; yields its port."""
    tasks: set[asyncio.Task[None]] = set()

    async def pipe(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, keep: bytearray | None
    ) -> None:
        try:
            while data := await reader.read(65536):
                if keep is not None:
                    keep.extend(data)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def serve(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target_port)
        for task in (pipe(client_reader, server_writer, sent), pipe(server_reader, client_writer, None)):
            started = asyncio.create_task(task)
            tasks.add(started)
            started.add_done_callback(tasks.discard)

    listener = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield listener.sockets[0].getsockname()[1]
    finally:
        listener.close()
        await listener.wait_closed()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@asynccontextmanager
async def password_driver(
    port: int, sent: bytearray, **settings: object
) -> AsyncIterator[tuple[OpcUaDriver, Recorder]]:
    """A driver (not started) logging on as ``operator`` to a test server through a proxy that records
    what is ``sent``, with the password from the environment."""
    async with opcua_test_server(port, users={"operator": PASSWORD}) as server:
        temp = await server.add_variable(TEMP, 19.5, ua.VariantType.Double)
        async with recording_proxy(server.port, sent) as proxy_port:
            recorder = Recorder()
            driver = make_driver(
                f"opc.tcp://127.0.0.1:{proxy_port}/",
                [tag("TANK1.TEMP", temp)],
                recorder,
                username="operator",
                password_env="CONVERGE_TEST_UA_PASSWORD",
                **settings,
            )
            yield driver, recorder


async def test_the_driver_refuses_to_send_a_password_in_clear(
    free_port, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVERGE_TEST_UA_PASSWORD", PASSWORD)
    sent = bytearray()
    async with password_driver(free_port(), sent) as (driver, recorder):
        await driver.start()
        try:
            await wait_for(lambda: "in clear text" in driver.status.last_error, within=8.0)
            assert "allow_insecure_password" in driver.status.last_error
            assert not recorder.is_good("TANK1.TEMP")
        finally:
            await driver.stop()
    assert PASSWORD.encode() not in sent and PASSWORD.encode("utf-16-le") not in sent


async def test_allowed_explicitly_the_driver_logs_in_and_warns(
    free_port, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CONVERGE_TEST_UA_PASSWORD", PASSWORD)
    sent = bytearray()
    async with password_driver(free_port(), sent, allow_insecure_password=True) as (driver, recorder):
        with caplog.at_level(logging.WARNING, logger="drivers.opcua_credentials"):
            await driver.start()
            try:
                await wait_for(lambda: recorder.is_good("TANK1.TEMP", 19.5), within=8.0)
            finally:
                await driver.stop()
    assert any("in clear text" in record.getMessage() for record in caplog.records)
    # What the flag accepts is real: the password was on the wire as it is.
    assert PASSWORD.encode() in sent


# --- an expired trusted server certificate ------------------------------------------------------------------


def _identity(not_before: dt.datetime, not_after: dt.datetime) -> ServerIdentity:
    """A server certificate like the test server's own, valid only from ``not_before`` to ``not_after``."""
    key = cert_gen.generate_private_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Converge test server")])
    san = [
        x509.UniformResourceIdentifier(SERVER_URI),
        x509.DNSName(socket.gethostname()),
        x509.DNSName("localhost"),
    ]
    usage = x509.KeyUsage(True, True, True, True, False, True, False, False, False)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return ServerIdentity(cert.public_bytes(Encoding.DER), cert_gen.dump_private_key_as_pem(key))


NOW = dt.datetime.now(dt.UTC)
EXPIRED = _identity(NOW - dt.timedelta(days=400), NOW - dt.timedelta(days=2))


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        ((NOW - dt.timedelta(days=10), NOW - dt.timedelta(seconds=5)), "expired on"),
        ((NOW + dt.timedelta(days=1), NOW + dt.timedelta(days=30)), "is not valid before"),
        ((NOW - dt.timedelta(days=1), NOW + dt.timedelta(days=1)), ""),
    ],
)
def test_a_certificate_outside_its_validity_is_named(
    window: tuple[dt.datetime, dt.datetime], expected: str
) -> None:
    identity = _identity(*window)
    warning = validity_warning(identity.certificate, "opc.tcp://plc7:4840/")
    assert (expected in warning) if expected else warning == ""
    if expected:
        assert thumbprint(identity.certificate) in warning and "opc.tcp://plc7:4840/" in warning


async def test_an_expired_trusted_certificate_connects_with_a_warning(
    free_port, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pki = tmp_path / "pki"
    trust_certificate(pki, EXPIRED.certificate)
    async with opcua_test_server(free_port(), EXPIRED) as server:
        temp = await server.add_variable(TEMP, 19.5, ua.VariantType.Double)
        recorder = Recorder()
        driver = make_driver(
            server.endpoint,
            [tag("TANK1.TEMP", temp)],
            recorder,
            pki,
            security="Basic256Sha256",
            mode="SignAndEncrypt",
        )
        with caplog.at_level(logging.WARNING, logger="drivers.opcua_security"):
            await driver.start()
            try:
                await wait_for(lambda: recorder.is_good("TANK1.TEMP", 19.5), within=10.0)
                warning = driver.diagnostics()["certificate_warning"]
                shown = driver.diagnostics()["last_error"]  # the connections view's column
            finally:
                await driver.stop()
    assert "expired on" in warning and thumbprint(EXPIRED.certificate) in warning
    assert shown == f"warning: {warning}"
    assert any("expired on" in record.getMessage() for record in caplog.records)


def test_certs_list_marks_an_expired_trusted_certificate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pki = tmp_path / "pki"
    trust_certificate(pki, EXPIRED.certificate)
    assert main(["certs", "--pki", str(pki), "list"]) == 0
    out = capsys.readouterr().out
    assert f"trusted   {thumbprint(EXPIRED.certificate)}  EXPIRED" in out
    assert "EXPIRED" in [line for line in out.splitlines() if "valid" in line][-1]


@pytest.mark.gui
def test_the_certificates_dialog_marks_an_expired_certificate(qtbot, tmp_path: Path) -> None:
    from hmi.ui.cert_dialog import CertificateDialog

    pki = tmp_path / "pki"
    certs.own_identity(pki)
    trust_certificate(pki, EXPIRED.certificate)
    dialog = CertificateDialog(pki, highlight=thumbprint(EXPIRED.certificate))
    qtbot.addWidget(dialog)
    dialog.show()
    try:
        qtbot.waitUntil(lambda: dialog.table.rowCount() == 2, timeout=5000)
        assert [dialog.table.item(row, 0).text() for row in range(2)] == ["own", "trusted, EXPIRED"]
        assert "EXPIRED" in dialog.table.item(1, 3).text()
        assert "Problem: EXPIRED" in dialog.details.toPlainText()
        assert dialog.reject_button.isEnabled()  # an engineer can stop trusting it from here
    finally:
        dialog.close()
