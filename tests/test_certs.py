"""The OPC UA certificate store: where it lives, ``hmi certs list|trust|reject`` and what they print."""

from __future__ import annotations

from pathlib import Path

import pytest
from opcua_server import SERVER_URI, ServerIdentity, make_server_identity

from drivers.opcua_security import SecuritySetupError, application_uri, require_trusted_server, thumbprint
from hmi.app.cli import main
from hmi.core import certs


@pytest.fixture(scope="module")
def server_identity() -> ServerIdentity:
    return make_server_identity()


def refuse_once(pki: Path, certificate: bytes) -> None:
    """What a connecting driver does with an unknown server certificate: save it in rejected/ and refuse."""
    with pytest.raises(SecuritySetupError, match="not trusted"):
        require_trusted_server(pki, "opc.tcp://plc7:4840/", certificate)


def test_pki_folder_comes_from_the_project_then_the_environment_then_the_user_data_folder(
    tmp_path, monkeypatch
):
    monkeypatch.setenv(certs.PKI_ENV, str(tmp_path / "from-env"))
    assert certs.resolve_pki_dir(str(tmp_path / "from-project")) == tmp_path / "from-project"
    assert certs.resolve_pki_dir(None) == tmp_path / "from-env"
    monkeypatch.delenv(certs.PKI_ENV)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert certs.resolve_pki_dir(None) == tmp_path / "xdg" / "converge-hmi" / "pki"
    assert not (tmp_path / "xdg").exists(), "resolving must not create anything"


def test_certs_list_creates_our_certificate_and_shows_every_detail(
    tmp_path, capsys, monkeypatch, server_identity
):
    pki = tmp_path / "pki"
    monkeypatch.setenv(certs.PKI_ENV, str(pki))
    refuse_once(pki, server_identity.certificate)
    (pki / "rejected" / "garbage.der").write_bytes(b"not a certificate")

    assert main(["certs", "list"]) == 0
    out = capsys.readouterr().out
    ours = (pki / "own" / "client_cert.der").read_bytes()
    assert f"own       {thumbprint(ours)}" in out
    assert f"app uri   {application_uri()}" in out  # the URI the client announces is in its certificate
    assert f"rejected  {thumbprint(server_identity.certificate)}" in out
    assert "subject   CN=Converge test server" in out
    assert f"app uri   {SERVER_URI}" in out
    assert "valid     20" in out
    assert "garbage.der: not a certificate" in out  # listed with its problem, not skipped
    assert (pki / "private" / "client_key.pem").stat().st_mode & 0o077 == 0


def test_trust_then_reject_moves_the_certificate_and_the_driver_check_follows(
    tmp_path, capsys, server_identity
):
    pki = tmp_path / "pki"
    cert = server_identity.certificate
    print_ = thumbprint(cert)
    refuse_once(pki, cert)

    assert main(["certs", "--pki", str(pki), "trust", print_[:10].lower()]) == 0
    assert f"trusted: {print_} CN=Converge test server" in capsys.readouterr().out
    assert (pki / "trusted" / f"{print_}.der").read_bytes() == cert
    assert not (pki / "rejected" / f"{print_}.der").exists()
    require_trusted_server(pki, "opc.tcp://plc7:4840/", cert)  # accepted now

    assert main(["certs", "--pki", str(pki), "reject", print_]) == 0
    assert (pki / "rejected" / f"{print_}.der").is_file()
    refuse_once(pki, cert)


@pytest.mark.parametrize(
    ("action", "thumb", "message"),
    [
        ("trust", "ABC", "give at least 6 characters"),
        ("trust", "0000000000", "no rejected certificate with thumbprint 0000000000"),
        ("reject", "{print}", "no trusted certificate with thumbprint {print} in {pki} (it is rejected)"),
    ],
)
def test_impossible_decisions_exit_1_with_the_reason(
    tmp_path, capsys, server_identity, action, thumb, message
):
    pki = tmp_path / "pki"
    refuse_once(pki, server_identity.certificate)
    print_ = thumbprint(server_identity.certificate)
    assert main(["certs", "--pki", str(pki), action, thumb.format(print=print_)]) == 1
    assert message.format(print=print_, pki=pki) in capsys.readouterr().err


def test_an_ambiguous_prefix_is_refused(tmp_path):
    seen: dict[str, bytes] = {}
    for index in range(200_000):  # a shared 6-digit prefix turns up after a few thousand (birthday bound)
        data = f"junk {index}".encode()
        prefix = thumbprint(data)[:6]
        if prefix in seen:
            break
        seen[prefix] = data
    else:
        pytest.fail("no shared prefix found")
    (tmp_path / "rejected").mkdir()
    for number, content in enumerate((seen[prefix], data)):
        (tmp_path / "rejected" / f"{number}.der").write_bytes(content)
    with pytest.raises(certs.CertificateError, match=f"thumbprint {prefix} is ambiguous"):
        certs.find(tmp_path, prefix, certs.REJECTED)
