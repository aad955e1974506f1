"""``hmi check`` on OPC UA connections and tags: every mistake is a file:line: message, exit 2."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from hmi.app.cli import main
from hmi.project.loader import load_project

PROJECT = """\
name: OPC UA check
connections:
  plc1: {driver: modbus, host: 127.0.0.1, port: 5020}
  ua1: {driver: opcua, endpoint: "opc.tcp://127.0.0.1:4840/"}
tags:
  GOOD: {connection: ua1, address: "ns=2;s=Plant.Tank1.Level"}
"""


def check(tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: str) -> tuple[int, list[str]]:
    """Run ``hmi check`` on PROJECT plus ``extra`` tag lines; the exit code and the printed lines."""
    tags = textwrap.indent(textwrap.dedent(extra), "  ")
    (tmp_path / "project.yaml").write_text(PROJECT + tags, encoding="utf-8")
    code = main(["check", str(tmp_path)])
    return code, capsys.readouterr().out.splitlines()


def line_of(tmp_path: Path, needle: str) -> int:
    text = (tmp_path / "project.yaml").read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(text, 1) if needle in line)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("ns=2;q=Tank", "the identifier must start with i=, s=, g= or b="),
        ("ns=two;s=Tank", "namespace index 'two' is not a whole number"),
        ("ns=2s=Tank", "missing ';' after the namespace"),
        ("ns=2;i=-5", "numeric identifier '-5' is not a whole number"),
        ("ns=2;i=4294967296", "numeric identifier '4294967296' is not a whole number"),
        ("ns=70000;i=1", "namespace index '70000' is not a whole number 0..65535"),
        ("ns=1;g=not-a-guid", "GUID 'not-a-guid' is not of the form"),
        ("ns=3;b=%%%", "is not non-empty base64"),
        ("ns=2;s=", "the string identifier after s= is empty"),
        ("nsu=urn:plant", "missing ';' after the namespace URI"),  # nsu=urn:plant;s=Tank is valid
        ("Tank.Level", "the identifier must start with i=, s=, g= or b="),
    ],
)
def test_malformed_node_ids_are_file_line_errors(tmp_path, capsys, address, reason):
    code, lines = check(tmp_path, capsys, f'BROKEN: {{connection: ua1, address: "{address}"}}\n')
    assert code == 2
    where = f"{tmp_path / 'project.yaml'}:{line_of(tmp_path, 'BROKEN')}: tag 'BROKEN': "
    assert len(lines) == 1, lines
    assert lines[0].startswith(where)
    assert reason in lines[0]


@pytest.mark.parametrize(
    ("connection", "reason"),
    [
        ("security: Basic256Sha265", "unknown policy 'Basic256Sha265'"),
        ("security: Basic256Sha265", "did you mean 'Basic256Sha256'?"),
        ("security: Aes256_Sha256_RsaPSS", "unknown policy 'Aes256_Sha256_RsaPSS'"),
        ("security: Basic128Rsa15", "policy 'Basic128Rsa15' is deprecated and refused"),
        ("security: Basic256", "policy 'Basic256' is deprecated and refused"),
        ("security: Basic256Sha256, mode: SignAndEncrpyt", "unknown mode 'SignAndEncrpyt'"),
        ("security: Basic256Sha256, mode: None", "mode: 'None' does not match security 'Basic256Sha256'"),
        ("username: op, password: hunter2", "plaintext passwords are not allowed"),
        ("username: op, password_keyring: plant-ua", "'plant-ua' is not SERVICE/USER"),
        ("password_keyring: plant-ua/op", "needs a username to go with it"),
        ("username: op, password_env: PW, password_keyring: plant/op", "not both"),
        ("queue_size: 0", "queue_size: should be greater than or equal to 1"),
        ("discard_oldest: maybe", "discard_oldest"),
        ("pki_dir: relative/pki", "must be an absolute path"),
    ],
)
def test_bad_connection_settings_are_file_line_errors(tmp_path, capsys, connection, reason):
    text = PROJECT.replace('4840/"}', f'4840/", {connection}}}')
    (tmp_path / "project.yaml").write_text(text, encoding="utf-8")
    code = main(["check", str(tmp_path)])
    lines = capsys.readouterr().out.splitlines()
    assert code == 2
    where = f"{tmp_path / 'project.yaml'}:{line_of(tmp_path, 'ua1: {')}: connection 'ua1': "
    assert any(line.startswith(where) and reason in line for line in lines), lines


def test_deadband_percent_is_for_numeric_opcua_tags_only(tmp_path, capsys):
    code, lines = check(
        tmp_path,
        capsys,
        """\
          PCT: {connection: ua1, address: "ns=2;s=A", deadband_percent: 2.5}
          TOO_MUCH: {connection: ua1, address: "ns=2;s=B", deadband_percent: 150}
          ON_MODBUS: {connection: plc1, address: "hr:0", deadband_percent: 5}
          ON_BOOL: {connection: ua1, address: "ns=2;s=C", type: bool, deadband_percent: 5}
        """,
    )
    assert code == 2
    text = "\n".join(lines)
    assert f":{line_of(tmp_path, 'TOO_MUCH')}: tag 'TOO_MUCH': deadband_percent: should be less than" in text
    assert f":{line_of(tmp_path, 'ON_MODBUS')}: tag 'ON_MODBUS': deadband_percent: not on Modbus" in text
    assert f":{line_of(tmp_path, 'ON_BOOL')}: tag 'ON_BOOL': deadband_percent: not allowed on a bool" in text
    assert "'PCT'" not in text


def test_valid_opcua_settings_reach_the_driver_settings(tmp_path, capsys):
    text = (
        PROJECT.replace(
            '4840/"}',
            '4840/", security: Aes256_Sha256_RsaPss, username: op, password_keyring: "plant/ua/op", '
            f'queue_size: 50, discard_oldest: false, pki_dir: "{tmp_path / "pki"}"}}',
        )
        + '  PCT: {connection: ua1, address: "ns=2;s=A", deadband: 0.5, deadband_percent: 2.5}\n'
    )
    (tmp_path / "project.yaml").write_text(text, encoding="utf-8")
    assert main(["check", str(tmp_path)]) == 0, capsys.readouterr().out
    project = load_project(tmp_path)
    settings = project.connections["ua1"].settings
    assert (settings.security, settings.mode) == ("Aes256_Sha256_RsaPss", "SignAndEncrypt")
    assert (settings.password_keyring, settings.password_env) == ("plant/ua/op", None)
    assert (settings.queue_size, settings.discard_oldest) == (50, False)
    assert settings.pki_dir == str(tmp_path / "pki")
    assert (project.tags["PCT"].deadband, project.tags["PCT"].link.deadband_percent) == (0.5, 2.5)
