"""Helpers for security tests: a users store with cheap hashing, a Modbus PLC whose requests are traced,
`hmi` run as a user in a real process, the audit trail's rows, and the demo-less window started on a project.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

from modbus_peer import device, modbus_server

from hmi.security.paths import users_path
from hmi.security.users import UserStore

GOOD = "correct horse 42"
WRITE_CODES = {5, 6, 15, 16}  # write coil(s), write register(s)
FC_READ_HOLDING = 3
# the test's own data and cache folders reach a child process; credentials never do unless given
_CHILD_ENV = {"CONVERGE_HMI_DATA_DIR", "CONVERGE_HMI_CACHE_DIR"}


def cheap_users(path: Path | None = None, **roles: str) -> UserStore:
    """A users store (the data folder's unless ``path``) with cheap hashing and ``name=role`` users (GOOD)."""
    store = UserStore(users_path() if path is None else path)
    for key, value in (("argon2_time_cost", "1"), ("argon2_memory_kib", "1024"), ("argon2_parallelism", "1")):
        store.configure(key, value)
    for name, role in roles.items():
        store.add_user(name, role, GOOD)
    return store


class RequestLog:
    """The server's trace of every PDU it received."""

    def __init__(self) -> None:
        self.function_codes: list[int] = []

    def __call__(self, sending: bool, pdu: Any) -> Any:  # pymodbus's trace signature
        if not sending:
            self.function_codes.append(pdu.function_code)
        return pdu

    def writes(self) -> list[int]:
        """The write function codes received, in order."""
        return [code for code in self.function_codes if code in WRITE_CODES]


@contextlib.asynccontextmanager
async def traced_plc(tmp_path: Path, port: int, project: str) -> AsyncIterator[tuple[Any, RequestLog]]:
    """``project`` (formatted with ``port``) written to ``tmp_path``; a PLC (registers 7 ...) traced."""
    (tmp_path / "project.yaml").write_text(project.format(port=port), "utf-8")
    log = RequestLog()
    async with modbus_server(port, device(hr=[7] * 10), trace=log) as server:
        yield server, log


async def hmi(*args: str, password: str | None = None, verifier: str | None = None) -> tuple[int, str, str]:
    """Run ``hmi ARGS`` in a child process with the given passwords only; (exit code, stdout, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVERGE_") or k in _CHILD_ENV}
    if password is not None:
        env["CONVERGE_PASSWORD"] = password
    if verifier is not None:
        env["CONVERGE_VERIFIER_PASSWORD"] = verifier
    pipe = asyncio.subprocess.PIPE
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "hmi.app.cli", *args),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=pipe,
        stderr=pipe,
        env=env,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def audit_columns(path: Path, columns: str) -> list[tuple[Any, ...]]:
    """``columns`` (e.g. "actor, stage") of every audit record in the trail at ``path``, in order."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute(f"SELECT {columns} FROM audit ORDER BY seq").fetchall()


@contextlib.contextmanager
def started_window(
    qtbot: Any,
    project: Any,
    ready: Callable[[Any, Any], bool],
    on_started: Callable[[Any, Any], None] | None = None,
) -> Iterator[tuple[Any, Any]]:
    """The main window and session on ``project``, started, until ``ready(window, session)``; closed after.

    ``on_started(window, future)`` replaces the window's own start-up callback (``hmi run``'s, say).
    """
    from hmi.ui.bridge import RuntimeBridge
    from hmi.ui.main_window import MainWindow
    from hmi.ui.session import GuiSession

    session = GuiSession(project, RuntimeBridge())
    window = MainWindow(project, session)
    qtbot.addWidget(window)
    window.show()
    if on_started is None:
        window.relay.watch(session.start(), lambda _future: window.on_runtime_started())
    else:
        window.relay.watch(session.start(), lambda future: on_started(window, future))
    try:
        qtbot.waitUntil(lambda: ready(window, session), timeout=20000)
        yield window, session
    finally:
        window.close()
        session.stop()


def runtime_ready(_window: Any, session: Any) -> bool:
    """True once the session's station and command path exist."""
    return session.station is not None and session.commands is not None


def tag_good(name: str) -> Callable[[Any, Any], bool]:
    """A ``ready`` test: the window has a good value of ``name``."""
    return lambda window, _session: window.latest.get(name) is not None and window.latest[name].is_good


_PLC1 = "connections:\n  plc1: {{driver: modbus, host: 127.0.0.1, port: {port}, unit: 1, timeout: 1s}}\n"
_SCANS = "scan_classes: {{fast: 100ms, normal: 1s, slow: 10s}}\n"


def modbus_project(name: str, tags: str, rest: str = "", scan_classes: bool = True) -> str:
    """A project.yaml template (format it with ``port``): PLC ``plc1`` over Modbus, ``tags``, then ``rest``.

    ``tags`` and ``rest`` are template text too (braces doubled); ``scan_classes``: fast, normal and slow.
    """
    return f"name: {name}\n" + _PLC1 + (_SCANS if scan_classes else "") + "tags:\n" + tags + rest
