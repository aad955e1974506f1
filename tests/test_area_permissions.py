"""Permissions scoped by plant area: a custom role's grant limited to areas, checked on the target's area.

A write outside the role's areas never reaches the PLC (the server's trace holds no write).
"""

from __future__ import annotations

import sqlite3
from types import SimpleNamespace

import pytest
from test_signature import GOOD, plant, users, write

from hmi.core.commands import AcknowledgeRequest, AlarmAction, AlarmActionRequest, Origin, secured
from hmi.model import TagDef
from hmi.project.config import AlarmDef
from hmi.security.areas import parse_grants
from hmi.security.permissions import Permission
from hmi.security.policy import AccessPolicy
from hmi.security.users import SecurityError


def test_grants_parse_with_their_areas_and_bad_ones_are_named():
    grants = parse_grants(["write_tag@kiln+dosing", "acknowledge", "shelve@kiln"])
    assert grants.permissions == {Permission.WRITE_TAG, Permission.ACKNOWLEDGE, Permission.SHELVE}
    assert grants.scopes == {Permission.WRITE_TAG: {"kiln", "dosing"}, Permission.SHELVE: {"kiln"}}
    assert grants.texts() == ["acknowledge", "shelve@kiln", "write_tag@dosing+kiln"]
    with pytest.raises(ValueError, match="give the areas as write_tag@AREA"):
        parse_grants(["write_tag@"])
    with pytest.raises(ValueError, match="no permission before"):
        parse_grants(["@kiln"])
    with pytest.raises(ValueError, match="unknown permission 'fly'"):
        parse_grants(["fly@kiln"])


def test_the_users_store_keeps_area_grants_in_an_additive_table(tmp_path):
    store = users(tmp_path)
    with pytest.raises(SecurityError, match="give the areas"):
        store.add_role("kiln_op", ["write_tag@"])
    store.add_role("kiln_op", ["write_tag@kiln", "acknowledge"])
    store.add_user("kai", "kiln_op", GOOD)
    directory = store.directory()
    assert directory.roles["kiln_op"] == {Permission.WRITE_TAG, Permission.ACKNOWLEDGE}
    assert directory.role_areas == {"kiln_op": {Permission.WRITE_TAG: frozenset({"kiln"})}}
    assert store.role_grants()["kiln_op"].texts() == ["acknowledge", "write_tag@kiln"]
    store.add_role("kiln_op", ["write_tag", "acknowledge"])  # widened again: the scope goes
    assert store.directory().role_areas == {}
    with sqlite3.connect(store.path) as conn:  # the old tables are as they were
        assert conn.execute("SELECT permissions FROM roles WHERE name = 'kiln_op'").fetchone() == (
            "acknowledge,write_tag",
        )


def test_the_policy_checks_the_targets_area_for_writes_and_alarm_actions(tmp_path):
    store = users(tmp_path)
    store.add_role("kiln_op", ["write_tag@kiln", "acknowledge@kiln", "shelve"])
    store.add_user("kai", "kiln_op", GOOD)
    policy = AccessPolicy(store.directory())
    policy.log_on("kai")
    policy.log_on("olga")
    policy.log_on("vic")

    tags = {
        name: TagDef(name, "plc1", "hr:0", area=area)
        for name, area in (("KILN_SP", "kiln"), ("DOSE_SP", "dosing"))
    }
    alarms = {
        "KILN.HI": AlarmDef("KILN.HI", "KILN_SP", "hi", 90.0, area="kiln"),
        "DOSE.HI": AlarmDef("DOSE.HI", "DOSE_SP", "hi", 90.0, area="dosing"),
    }
    decide = secured(policy, SimpleNamespace(tags=tags, alarms=alarms))
    assert decide(write("KILN_SP", 1, "kai")) is None
    assert decide(write("DOSE_SP", 1, "kai")) == (
        "user kai (kiln_op) holds write_tag only in kiln; the target is in area 'dosing'"
    )
    assert "the target is in no area" in (decide(write("NO_AREA", 1, "kai")) or "")
    assert decide(write("DOSE_SP", 1, "olga")) is None  # built-in roles hold everywhere
    assert decide(AcknowledgeRequest("KILN.HI", "kai", Origin.SCREEN)) is None
    assert "only in kiln" in (decide(AcknowledgeRequest("DOSE.HI", "kai", Origin.SCREEN)) or "")
    shelve = AlarmActionRequest("DOSE.HI", AlarmAction.SHELVE, "kai", Origin.SCREEN, "work", 60.0)
    assert decide(shelve) is None  # shelve is not scoped for this role
    # A viewer sees everything and changes nothing, in every area.
    assert "lacks the permission write_tag" in (decide(write("KILN_SP", 1, "vic")) or "")


async def test_a_write_outside_the_roles_area_never_reaches_the_plc(tmp_path, free_port):
    store = users(tmp_path)
    store.add_role("kiln_op", ["write_tag@kiln"])
    store.add_user("kai", "kiln_op", GOOD)
    async with plant(tmp_path, free_port(), store, "kai") as p:
        refused = await p.path.write(write("PUMP_CMD", True, "kai"))  # a dosing tag
        assert not refused.ok and "holds write_tag only in kiln" in refused.error
        assert p.log.function_codes and p.log.writes() == []
        assert await p.server.async_getValues(1, 1, 0, 1) == [False]  # the coil is untouched
        allowed = await p.path.write(write("SPEED_SP", 1200, "kai"))  # a kiln tag
        assert allowed.ok, allowed.error
        assert (await p.registers())[2] == 1200


def test_hmi_users_roles_adds_and_lists_area_grants(tmp_path):
    import json
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("CONVERGE_PASSWORD", "CONVERGE_AS_PASSWORD")}
    env["CONVERGE_AS_PASSWORD"] = GOOD
    from hmi.security.paths import users_path
    from hmi.security.users import UserStore

    store = UserStore(users_path())  # in the data folder the conftest gives each test
    store.configure("argon2_memory_kib", "1024")
    store.add_user("ada", "administrator", GOOD)

    def hmi(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "hmi.app.cli", "users", *args]
        return subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
        )

    added = hmi(
        "roles", "--add", "kiln_op", "--permissions", "write_tag@kiln+dryer,acknowledge", "--as", "ada"
    )
    assert added.returncode == 0, added.stderr
    assert added.stdout == "role kiln_op: acknowledge, write_tag@dryer+kiln\n"
    listed = hmi("roles", "--format", "json")
    assert json.loads(listed.stdout)["kiln_op"] == ["acknowledge", "write_tag@dryer+kiln"]
    bad = hmi("roles", "--add", "kiln_op", "--permissions", "write_tag@", "--as", "ada")
    assert bad.returncode == 2 and "give the areas as write_tag@AREA+AREA" in bad.stderr
