"""A SIGKILLed runtime comes back with its totaliser, its run hours and a rule disabled at run time
(a station in a child process, and `hmi run --headless` itself)."""

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
from pymodbus.server import ModbusTcpServer

from hmi.core.station import Station
from hmi.project.loader import load_project
from hmi.rules.events import RuleState
from hmi.rules.state_file import rule_state_path

FC_WRITE_REGISTER, FC_WRITE_COIL = 6, 5

PROJECT = """\
name: Kept
connections:
  plc1: {{driver: modbus, host: 127.0.0.1, port: {port}, timeout: 0.5s}}
scan_classes: {{fast: 100ms}}
history: {{commit_interval: 50ms}}
tags:
  FLOW: {{connection: plc1, address: "hr:0", type: uint16, scan: fast}}
  RUN: {{connection: plc1, address: "co:0", type: bool, scan: fast}}
  TOTAL: {{expr: "integral(FLOW)"}}
  HOURS: {{expr: "run_hours(RUN)"}}
rules:
  spare:
    when: "FLOW > 80"
    do: [{{log: "flow very high"}}]
"""

# The runtime that is killed: disable the rule, run until the state file holds that and a total,
# print what it holds, then wait to be killed.
CHILD = """
import asyncio, json, sqlite3, sys
from pathlib import Path
from hmi.core.station import Station
from hmi.project.loader import load_project
from hmi.rules.state_file import rule_state_path

def saved(path):
    try:
        with sqlite3.connect(path) as conn:
            return {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM rule_state")}
    except sqlite3.Error:
        return {}

async def main(root):
    project = load_project(root)
    station = Station(project, project.history.path)
    await station.start()
    station.rules.engine.set_enabled("spare", False)
    path = rule_state_path(project.history.path)
    for _ in range(600):
        state = await asyncio.to_thread(saved, path)
        total = state.get("window:('integral', 'FLOW')", {}).get("total", 0.0)
        hours = state.get("window:('run_hours', 'RUN')", {}).get("seconds", 0.0)
        if state.get("rule:spare", {}).get("state") == "disabled" and total > 20 and hours > 1:
            print(json.dumps({"total": total, "seconds": hours}), flush=True)
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(3600)

asyncio.run(main(sys.argv[1]))
"""


async def test_a_killed_runtime_comes_back_with_its_counters_and_a_rule_disabled_at_run_time(
    tmp_path: Path, free_port: Callable[[], int]
) -> None:
    port = free_port()
    (tmp_path / "project.yaml").write_text(textwrap.dedent(PROJECT.format(port=port)), "utf-8")
    async with modbus_server(port, device(hr=[10] + [0] * 49, co=[True] + [False] * 49)) as server:
        # The driver reports changes: the flow moves and the pump stops now and then, so that the
        # totaliser and the run hours have samples to count.
        plant = asyncio.get_running_loop().create_task(_wobble(server))
        try:
            await _kill_and_restart(tmp_path)
        finally:
            plant.cancel()
            await asyncio.gather(plant, return_exceptions=True)
    with sqlite3.connect(rule_state_path(tmp_path / "history.db")) as conn:
        (spare,) = conn.execute("SELECT value FROM rule_state WHERE key = 'rule:spare'").fetchone()
    assert json.loads(spare)["state"] == "disabled"


async def _wobble(server: ModbusTcpServer) -> None:
    for step in range(100_000):  # bounded; cancelled when the test is done
        await server.async_setValues(1, FC_WRITE_REGISTER, 0, [10 + 2 * (step % 2)])
        await server.async_setValues(1, FC_WRITE_COIL, 0, [step % 3 != 0])
        await asyncio.sleep(0.15)


async def _kill_and_restart(tmp_path: Path) -> None:
    """Run the child until its state file holds a total, SIGKILL it, start again in this process."""
    kept = json.loads(await first_line_then_kill(CHILD, tmp_path, 90))

    project = load_project(tmp_path)
    station = Station(project, project.history.path)
    await station.start()
    try:
        assert station.rules is not None
        engine = station.rules.engine
        assert engine.rules["spare"].state is RuleState.DISABLED  # not armed again by the restart
        await wait_for(lambda: "TOTAL" in engine.inputs.values and "HOURS" in engine.inputs.values, 15)
        # Carried on from what was saved (at most one commit interval behind the kill), not from zero.
        assert engine.inputs.values["TOTAL"] >= kept["total"]
        assert engine.inputs.values["HOURS"] >= kept["seconds"] / 3600
        await wait_for(lambda: engine.inputs.values["TOTAL"] > kept["total"] + 5, 15)
    finally:
        await station.stop()


def _saved(path: Path) -> dict:
    """The state file's entries (empty while it does not exist yet or is being created)."""
    if not path.exists():
        return {}
    try:
        with sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True) as conn:
            return {
                key: json.loads(value) for key, value in conn.execute("SELECT key, value FROM rule_state")
            }
    except sqlite3.Error:
        return {}


def _total(path: Path) -> float:
    return _saved(path).get("window:('integral', 'FLOW')", {}).get("total", 0.0)


async def test_hmi_run_killed_then_run_again_carries_the_totaliser_on(
    tmp_path: Path, free_port: Callable[[], int]
) -> None:
    port = free_port()
    (tmp_path / "project.yaml").write_text(textwrap.dedent(PROJECT.format(port=port)), "utf-8")
    state = rule_state_path(tmp_path / "history.db")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    command = [sys.executable, "-m", "hmi.app.cli", "run", str(tmp_path), "--headless"]
    async with modbus_server(port, device(hr=[10] + [0] * 49, co=[True] + [False] * 49)) as server:
        plant = asyncio.get_running_loop().create_task(_wobble(server))
        try:
            child = await asyncio.create_subprocess_exec(
                *command, "--for", "120", env=env, stdout=asyncio.subprocess.DEVNULL, cwd=ROOT
            )
            try:
                await wait_for(lambda: _total(state) > 60, within=60)  # some six seconds of flow
            finally:
                child.send_signal(signal.SIGKILL)
                await child.wait()
            kept = _total(state)
            again = await asyncio.create_subprocess_exec(
                *command, "--for", "3", env=env, stdout=asyncio.subprocess.DEVNULL, cwd=ROOT
            )
            assert await asyncio.wait_for(again.wait(), 60) == 0
        finally:
            plant.cancel()
            await asyncio.gather(plant, return_exceptions=True)
    # Saved at the graceful stop, on top of what the killed run had saved: a total started afresh
    # would be at most three seconds of flow (about 36), below what was kept.
    assert _total(state) > kept + 3
