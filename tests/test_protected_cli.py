"""``hmi certs trust|reject`` and ``hmi sync resend`` with users: ``--user NAME``, else exit 2, audited.

Commissioning mode (no users) is covered by test_config_audit (allowed as the OS user).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from opcua_server import make_server_identity
from sync_receiver import Receiver
from sync_store import filled_store, sync_once, sync_project

from drivers.opcua_security import SecuritySetupError, require_trusted_server, thumbprint
from hmi.app.cli import main
from hmi.core import certs
from hmi.security.paths import users_path
from hmi.security.users import UserStore

GOOD = "correct horse 42"


def setup_users() -> None:
    store = UserStore(users_path())
    for key, value in (("argon2_time_cost", "1"), ("argon2_memory_kib", "1024"), ("argon2_parallelism", "1")):
        store.configure(key, value)
    store.add_user("ada", "administrator", GOOD)
    store.add_user("olga", "operator", GOOD)
    store.add_user("erik", "engineer", GOOD)


def rows(path: Path) -> list[tuple[str, str, str, str, str]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT actor, origin, action, target, stage FROM audit ORDER BY seq").fetchall()


def refused_certificate(pki: Path) -> str:
    identity = make_server_identity()
    certs.own_identity(pki)
    with pytest.raises(SecuritySetupError):
        require_trusted_server(pki, "opc.tcp://plc7:4840/", identity.certificate)
    return thumbprint(identity.certificate)


def test_hmi_certs_trust_needs_a_user_with_trust_certificates(tmp_path, monkeypatch, capsys):
    setup_users()
    pki = tmp_path / "pki"
    refused = refused_certificate(pki)
    trust = ["certs", "--pki", str(pki), "trust", refused]
    assert main(trust) == 2  # no --user: refused
    assert "refused" in capsys.readouterr().err
    monkeypatch.setenv("CONVERGE_PASSWORD", GOOD)
    assert main([*trust, "--user", "olga"]) == 2  # an operator may not trust
    assert "lacks the permission trust_certificates" in capsys.readouterr().err
    assert (pki / "rejected" / f"{refused}.der").is_file()
    assert not (pki / "trusted" / f"{refused}.der").exists()
    assert main([*trust, "--user", "erik"]) == 0
    assert (pki / "trusted" / f"{refused}.der").is_file()
    monkeypatch.setenv("CONVERGE_PASSWORD", "wrong 1234567")
    assert main(["certs", "--pki", str(pki), "reject", refused, "--user", "erik"]) == 2
    assert "log-on of erik failed" in capsys.readouterr().err
    assert (pki / "trusted" / f"{refused}.der").is_file()
    changes = [r for r in rows(users_path()) if r[2] not in ("add_user", "configure")]
    assert changes == [
        (changes[0][0], "cli", "trust_certificate", refused, "refused"),  # the OS user
        ("olga", "cli", "log_on", "olga", "ok"),
        ("olga", "cli", "trust_certificate", refused, "refused"),
        ("erik", "cli", "log_on", "erik", "ok"),
        ("erik", "cli", "trust_certificate", refused, "ok"),
        ("erik", "cli", "log_on", "erik", "refused"),
        ("erik", "cli", "reject_certificate", refused, "refused"),
    ]
    capsys.readouterr()
    assert main(["audit", "verify", "--users"]) == 0


@pytest.fixture
def quarantined(tmp_path: Path, free_port) -> Iterator[tuple[Path, Receiver]]:
    """A project whose first history batch the endpoint refused (quarantined)."""
    receiver = Receiver(free_port()).start()
    root = tmp_path / "plant"
    project = sync_project(root, receiver.url)
    receiver.plan = lambda n, request: 400 if n == 0 else "ok"
    with filled_store(project.history.path, samples=150) as filled:
        sync_once(project, filled, receiver, {"history": 50})
    try:
        yield root, receiver
    finally:
        receiver.stop()


def test_hmi_sync_resend_needs_a_user_with_resend_sync(quarantined, monkeypatch, capsys):
    root, receiver = quarantined
    setup_users()
    sent_before = len(receiver.keys_sent())
    assert main(["sync", "resend", str(root), "--all"]) == 2
    monkeypatch.setenv("CONVERGE_PASSWORD", GOOD)
    assert main(["sync", "resend", str(root), "--all", "--user", "olga"]) == 2
    assert "lacks the permission resend_sync" in capsys.readouterr().err
    assert len(receiver.keys_sent()) == sent_before  # nothing was sent for a refused resend
    assert main(["sync", "resend", str(root), "--all", "--user", "erik"]) == 0
    assert len(receiver.keys_sent()) == sent_before + 1
    trail = rows(root / "history-audit.db")
    assert [(r[0], r[2], r[3], r[4]) for r in trail[1:]] == [
        ("olga", "log_on", "olga", "ok"),
        ("olga", "sync_resend", "all", "refused"),
        ("erik", "log_on", "erik", "ok"),
        ("erik", "sync_resend", trail[-1][3], "ok"),
    ]
    assert trail[0][2:] == ("sync_resend", "all", "refused")  # no --user: the OS user, refused
    capsys.readouterr()
    assert main(["audit", "verify", str(root)]) == 0
