"""`hmi check` flags a secret written into a project or screen file, at its line, without repeating it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from project_files import BASE, DEMO, write_project

from hmi.app.cli import main
from hmi.project.loader import check_project
from hmi.project.secrets_scan import plaintext_secrets

SECRET = "Sup3r-s3cret-value"

IN_THE_CLEAR = {
    "a key named like a secret": f"notes:\n  password: {SECRET}\n",
    "in a flow mapping": f"extra: {{user: op, passphrase: '{SECRET}'}}\n",
    "a quoted key": f'extra:\n  "api_key": {SECRET}\n',
    "in a list item": f"extra:\n  - token: {SECRET}\n",
    "a password in a URL": f'extra: "https://user:{SECRET}@enterprise.example/ingest"\n',
    "a pasted private key": "extra: |\n  -----BEGIN RSA PRIVATE KEY-----\n  MIIB\n",
}


@pytest.mark.parametrize("text", list(IN_THE_CLEAR.values()), ids=list(IN_THE_CLEAR))
def test_a_secret_in_the_clear_is_an_error_at_its_line(tmp_path: Path, text: str) -> None:
    write_project(tmp_path, BASE + text)
    found = [error for error in check_project(tmp_path) if "docs/security.md" in error.message]
    assert len(found) == 1, check_project(tmp_path)
    line = next(n for n, row in enumerate((BASE + text).splitlines(), 1) if SECRET in row or "BEGIN" in row)
    assert found[0].line == line
    assert SECRET not in str(found[0])


def test_names_of_where_a_secret_lives_pass() -> None:
    text = """\
connections:
  ua1: {driver: opcua, endpoint: "opc.tcp://127.0.0.1:4840/", username: op, password_env: UA_PASSWORD}
  ua2: {driver: opcua, endpoint: "opc.tcp://127.0.0.1:4841/", password_keyring: "plant/op"}
sync:
  erp: {url: "https://enterprise.example/ingest", token_env: ERP_TOKEN}
# password: this comment is no secret
notes: {password: ~, token: ""}
description: "the token is rotated weekly; the password policy is in docs"
"""
    assert plaintext_secrets(text, Path("project.yaml")) == []


def test_a_schema_that_refuses_a_secret_is_not_told_twice(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        BASE + f'sync:\n  erp: {{url: "https://enterprise.example/ingest", token: {SECRET}}}\n',
    )
    errors = [error for error in check_project(tmp_path) if error.line == len(BASE.splitlines()) + 2]
    assert len(errors) == 1, errors
    assert SECRET not in str(errors[0])


def test_a_screen_file_is_scanned_too(tmp_path: Path) -> None:
    item = f"{{type: label, id: a, x: 0, y: 0, w: 9, h: 9, text: 'x', secret: {SECRET}}}"
    screen = f"name: one\nitems:\n  - {item}\n"
    write_project(tmp_path, BASE, {"one": screen})
    found = [error for error in check_project(tmp_path) if "docs/security.md" in error.message]
    assert [(Path(error.file).name, error.line) for error in found] == [("one.yaml", 3)]


def test_the_demo_project_holds_no_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(DEMO, tmp_path / "demo")
    assert main(["check", str(tmp_path / "demo")]) == 0, capsys.readouterr()
