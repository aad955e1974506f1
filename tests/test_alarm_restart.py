"""States survive a SIGKILL of the runtime: restored from the journal, none raised twice, no ack lost."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from killed_child import ROOT, first_line_then_kill
from modbus_peer import device, modbus_server, wait_for

from hmi.alarms.engine import AlarmState
from hmi.core.station import Station
from hmi.project.loader import load_project

PROJECT = """\
name: Restart
connections:
  plc1: {{driver: modbus, host: 127.0.0.1, port: {port}, timeout: 0.5s}}
scan_classes: {{fast: 100ms}}
history: {{commit_interval: 50ms}}
tags:
  A: {{connection: plc1, address: "hr:0", type: uint16, scan: fast}}
  B: {{connection: plc1, address: "hr:1", type: uint16, scan: fast}}
  C: {{connection: plc1, address: "hr:2", type: uint16, scan: fast}}
alarms:
  A.HI: {{tag: A, type: hi, limit: 50, priority: high}}
  B.HI: {{tag: B, type: hi, limit: 50, priority: high}}
  C.HI: {{tag: C, type: hi, limit: 50, priority: high}}
"""

# The runtime that is killed: raise all three, shelve A, take B out of service, then wait to be killed.
CHILD = """
import asyncio, sqlite3, sys
from hmi.core.station import Station
from hmi.project.loader import load_project

async def main(root):
    project = load_project(root)
    station = Station(project, project.history.path)
    await station.start()
    alarms = station.alarms
    while not all(s.state.value == "active unacknowledged" for s in alarms.statuses.values()
                  if not s.name.startswith("SYSTEM.")):
        await asyncio.sleep(0.05)
    assert alarms.shelve("A.HI", 3600, "transmitter repair", "alice") is None
    assert alarms.remove_from_service("B.HI", "sensor removed", "eng") is None
    while station.journal.stats().pending:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    print("ready", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main(sys.argv[1]))
"""


async def test_a_killed_runtime_comes_back_with_its_shelved_and_out_of_service_alarms(
    tmp_path: Path, free_port: Callable[[], int]
) -> None:
    port = free_port()
    (tmp_path / "project.yaml").write_text(textwrap.dedent(PROJECT.format(port=port)), "utf-8")
    async with modbus_server(port, device(hr=[99, 99, 99] + [0] * 47)):
        line = await first_line_then_kill(CHILD, tmp_path, 60)
        assert line.strip() == b"ready"

        project = load_project(tmp_path)
        station = Station(project, project.history.path)
        await station.start()
        try:
            statuses = station.alarms.statuses
            assert statuses["A.HI"].state is AlarmState.SHELVED and statuses["A.HI"].set_aside_by == "alice"
            assert statuses["B.HI"].state is AlarmState.OUT_OF_SERVICE
            assert statuses["B.HI"].set_aside_reason == "sensor removed"
            await wait_for(lambda: statuses["C.HI"].state is AlarmState.UNACKED, within=10)
            await wait_for(lambda: statuses["A.HI"].alarmed and statuses["B.HI"].alarmed, within=10)
            # Their values are still high, yet they stay set aside: not announced again.
            assert statuses["A.HI"].state is AlarmState.SHELVED
            assert statuses["B.HI"].state is AlarmState.OUT_OF_SERVICE
            assert [s.name for s in station.alarms.shown() if not s.name.startswith("SYSTEM.")] == ["C.HI"]
        finally:
            await station.stop()
    with sqlite3.connect(project.history.path) as conn:
        shelvings = conn.execute("SELECT count(*) FROM alarm_events WHERE kind = 'shelved'").fetchone()
    assert shelvings == (1,), "restoring is not shelving again"


FULL_PROJECT = """\
name: Restart states
connections:
  plc1: {{driver: modbus, host: 127.0.0.1, port: {port}, timeout: 0.5s}}
scan_classes: {{fast: 100ms}}
history: {{commit_interval: 50ms}}
tags:
  A: {{connection: plc1, address: "hr:0", type: uint16, scan: fast}}
  B: {{connection: plc1, address: "hr:1", type: uint16, scan: fast}}
  C: {{connection: plc1, address: "hr:2", type: uint16, scan: fast}}
  D: {{connection: plc1, address: "hr:3", type: uint16, scan: fast}}
  E: {{connection: plc1, address: "hr:4", type: uint16, scan: fast}}
  F: {{connection: plc1, address: "hr:5", type: uint16, scan: fast}}
alarms:
  A.HI: {{tag: A, type: hi, limit: 50, priority: high}}
  B.HI: {{tag: B, type: hi, limit: 50, priority: high}}
  C.HI: {{tag: C, type: hi, limit: 50, priority: high}}
  D.HI: {{tag: D, type: hi, limit: 50, priority: high}}
  E.HI: {{tag: E, type: hi, limit: 50, priority: high, latched: true}}
  F.HI: {{tag: F, type: hi, limit: 50, priority: low}}
"""

# The first runtime: raise A-E; through the command path acknowledge A and E, shelve B, take C out of
# service, leave D unacknowledged; E returns (the test lowers it) and stays latched; then it is killed.
ACTING_CHILD = """
import asyncio, sys
from hmi.core.commands import AcknowledgeRequest, AlarmAction, AlarmActionRequest, CommandPath, Origin
from hmi.core.station import Station
from hmi.project.loader import load_project

async def main(root):
    project = load_project(root)
    station = Station(project, project.history.path)
    await station.start()
    alarms = station.alarms
    path = CommandPath(station.runtime, alarms)
    names = [f"{n}.HI" for n in "ABCDE"]
    while not all(alarms.statuses[n].state.value == "active unacknowledged" for n in names):
        await asyncio.sleep(0.05)
    assert path.acknowledge(AcknowledgeRequest("A.HI", "olga", Origin.CLI, "seen")).ok
    assert path.acknowledge(AcknowledgeRequest("E.HI", "olga", Origin.CLI)).ok
    shelve = AlarmActionRequest("B.HI", AlarmAction.SHELVE, "olga", Origin.CLI, "chatter", 3600)
    assert path.alarm_action(shelve).ok
    remove = AlarmActionRequest("C.HI", AlarmAction.OUT_OF_SERVICE, "eng", Origin.CLI, "removed")
    assert path.alarm_action(remove).ok
    print("acted", flush=True)
    while alarms.statuses["E.HI"].state.value != "returned latched":
        await asyncio.sleep(0.05)
    while station.journal.stats().pending:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    print("ready", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main(sys.argv[1]))
"""

FC_WRITE_REGISTERS = 16


def journal_events(path: Path) -> list[dict[str, object]]:
    with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute("SELECT * FROM alarm_events ORDER BY seq")]


def _journal_matches(path: Path, predicate: Callable[[list[dict[str, object]]], bool]) -> bool:
    return path.is_file() and predicate(journal_events(path))


async def wait_for_journal(path: Path, predicate: Callable[[list[dict[str, object]]], bool]) -> None:
    for _ in range(400):  # bounded: 20 s
        if await asyncio.to_thread(_journal_matches, path, predicate):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"journal never matched; it holds {journal_events(path)}")


async def test_hmi_run_after_a_kill_keeps_every_state_raises_nothing_twice_and_loses_no_ack(
    tmp_path: Path, free_port: Callable[[], int]
) -> None:
    port = free_port()
    (tmp_path / "project.yaml").write_text(textwrap.dedent(FULL_PROJECT.format(port=port)), "utf-8")
    journal = load_project(tmp_path).history.path
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    async with modbus_server(port, device(hr=[99, 99, 99, 99, 99, 0] + [0] * 44)) as server:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-c", ACTING_CHILD, str(tmp_path), stdout=asyncio.subprocess.PIPE, env=env
        )
        try:
            assert (await asyncio.wait_for(child.stdout.readline(), 60)).strip() == b"acted"  # type: ignore[union-attr]
            await server.async_setValues(1, FC_WRITE_REGISTERS, 4, [10])  # E returns: latched
            assert (await asyncio.wait_for(child.stdout.readline(), 60)).strip() == b"ready"  # type: ignore[union-attr]
        finally:
            child.send_signal(signal.SIGKILL)
            await child.wait()
        before = len(journal_events(journal))

        # The restart: the real `hmi run --headless`. F goes high only now: its raise shows the new
        # runtime has evaluated a poll of A-E still high, and raised none of them again.
        await server.async_setValues(1, FC_WRITE_REGISTERS, 5, [99])
        run = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hmi.app.cli",
            "run",
            str(tmp_path),
            "--headless",
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            await wait_for_journal(
                journal,
                lambda rows: any(r["alarm"] == "F.HI" and r["kind"] == "raised" for r in rows[before:]),
            )
            await asyncio.sleep(0.3)  # a few more polls of the high values
            # Everything returns: each alarm's clear says the state it left, restored from the journal.
            await server.async_setValues(1, FC_WRITE_REGISTERS, 0, [10, 10, 10, 10, 10, 10])
            cleared = {"A.HI", "B.HI", "C.HI", "D.HI", "F.HI"}
            await wait_for_journal(
                journal,
                lambda rows: cleared <= {r["alarm"] for r in rows[before:] if r["kind"] == "cleared"},
            )
        finally:
            run.send_signal(signal.SIGKILL)
            await run.wait()

    rows = journal_events(journal)
    raises = [r["alarm"] for r in rows if r["kind"] == "raised"]
    assert sorted(raises) == ["A.HI", "B.HI", "C.HI", "D.HI", "E.HI", "F.HI"], "each raised once"
    after = {r["alarm"]: (r["from_state"], r["state"]) for r in rows[before:] if r["kind"] == "cleared"}
    assert after["A.HI"] == ("active acknowledged", "normal"), "the acknowledgement survived"
    assert after["D.HI"] == ("active unacknowledged", "returned unacknowledged")
    assert after["B.HI"] == ("shelved", "shelved")
    assert after["C.HI"] == ("out of service", "out of service")
    assert "E.HI" not in after, "E was latched, not active: nothing to clear"
    cli = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "hmi.app.cli", "alarms", "history", str(tmp_path), "--format", "json"],
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(cli.communicate(), 60)
    assert cli.returncode == 0
    history = [e for e in json.loads(out) if e["alarm"] == "A.HI"]
    assert [(e["kind"], e["user"], e["comment"]) for e in history if e["kind"] == "acknowledged"] == [
        ("acknowledged", "olga", "seen")
    ]
    assert history[-1]["from_state"] == "active acknowledged" and history[-1]["state"] == "normal"

    # And a third start reads the same states back (after the second kill).
    project = load_project(tmp_path)
    station = Station(project, project.history.path)
    await station.start()
    try:
        states = {
            name: station.alarms.statuses[name].state for name in ("A.HI", "B.HI", "C.HI", "D.HI", "E.HI")
        }
        assert states == {
            "A.HI": AlarmState.NORMAL,
            "B.HI": AlarmState.SHELVED,
            "C.HI": AlarmState.OUT_OF_SERVICE,
            "D.HI": AlarmState.RETURNED_UNACKED,
            "E.HI": AlarmState.LATCHED,
        }
        assert station.alarms.statuses["B.HI"].set_aside_by == "olga"
        first_raises = {r["alarm"]: r for r in rows if r["kind"] == "raised"}
        for name in ("D.HI", "E.HI"):  # returned, still waiting: the operator sees when and what
            status = station.alarms.statuses[name]
            assert status.raised_at == first_raises[name]["ts"] / 1e6
            assert status.message and status.message == first_raises[name]["message"]
        assert station.alarms.reset("E.HI", "olga") is None
    finally:
        await station.stop()
