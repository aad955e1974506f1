"""Suite-wide set-up: headless Qt, free loopback ports, and a guard against leaked tasks and threads."""

from __future__ import annotations

import os

# Must precede any Qt import: without a display, the xcb plugin aborts the interpreter.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import asyncio
import functools
import gc
import inspect
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ON_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(autouse=True, scope="session")
def _private_project_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Validated-project cache entries go to a folder of this run, never the user's own cache."""
    previous = os.environ.get("CONVERGE_HMI_CACHE_DIR")
    os.environ["CONVERGE_HMI_CACHE_DIR"] = str(tmp_path_factory.mktemp("project-cache"))
    yield
    if previous is None:
        os.environ.pop("CONVERGE_HMI_CACHE_DIR", None)
    else:
        os.environ["CONVERGE_HMI_CACHE_DIR"] = previous


@pytest.fixture(autouse=True)
def _private_security_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test gets an empty users store (commissioning mode), never the machine's own users, and no
    OS keyring: the audit key is the data folder's key file, as in the ``hmi`` processes a test starts
    (a keyring left behind in this process would key a trail those processes cannot read). A test
    that wants a keyring sets its own backend."""
    import keyring
    from keyring.backends import fail

    monkeypatch.setenv("CONVERGE_HMI_DATA_DIR", str(tmp_path / "machine-data"))
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        yield
    finally:
        keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def _qt_garbage_on_the_main_thread(request: pytest.FixtureRequest) -> Iterator[None]:
    """In GUI tests, collect cycles only here, on the main thread (see hmi/ui/main_thread_gc.py).

    A collection run by a worker thread that frees Qt objects can freeze the process; after
    a GUI test, its Qt garbage is freed here, in order, before the next test starts threads.
    """
    gui = "qtbot" in request.fixturenames or request.node.get_closest_marker("gui") is not None
    if not gui:
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.collect()
        gc.enable()


def get_free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (bound then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def free_port() -> Callable[[], int]:
    """Call it for each port a test needs."""
    return get_free_port


@pytest.fixture
def memory_keyring() -> Iterator[Any]:
    """An in-memory keyring (a ``MemoryKeyring``) in place of the failing one, for this test only."""
    import keyring
    from memory_keyring import MemoryKeyring

    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def plc(free_port: Callable[[], int]) -> Iterator[tuple[Any, ...]]:
    """(port, server, loop thread): a pymodbus server with 60 zeroed holding registers on its own loop
    thread, as a PLC runs beside the GUI. A test module needing other registers defines its own."""
    from modbus_peer import plc_on_thread

    with plc_on_thread(free_port(), [0] * 60) as running:
        yield running


@pytest.fixture
def receiver(free_port: Callable[[], int]) -> Iterator[Any]:
    """A sync endpoint (a ``sync_receiver.Receiver``) on a free loopback port; it accepts everything
    until a test gives it a plan."""
    from sync_receiver import Receiver

    found = Receiver(free_port()).start()
    try:
        yield found
    finally:
        found.stop()


def require_program(name: str) -> str:
    """Path of a system program a test peer needs; skip without it locally, fail on CI."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (.ci/run installs it)"
        if ON_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def running_demo(qtbot: Any, tmp_path: Any) -> Iterator[tuple[Any, Any, Any]]:
    """The demo plant, the runtime and a shown main window, as `hmi demo` starts them; stopped after."""
    from hmi.core.resources import demo_project_dir
    from hmi.project.loader import load_project
    from hmi.ui.bridge import RuntimeBridge
    from hmi.ui.main_window import MainWindow
    from hmi.ui.session import GuiSession

    project = load_project(demo_project_dir())
    session = GuiSession(project, RuntimeBridge(), demo_data_dir=tmp_path)
    window = MainWindow(project, session)
    qtbot.addWidget(window)
    window.show()
    window.relay.watch(session.start(), lambda _future: window.on_runtime_started())
    try:
        yield project, session, window
    finally:
        window.close()
        session.stop()


def _live_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.is_alive()}


@pytest.fixture(autouse=True)
def _no_leaked_threads_or_tasks() -> Iterator[None]:
    """Fail a test that leaves threads or asyncio tasks running behind it."""
    before = _live_threads()
    yield
    leaked = [t for t in _live_threads() - before if not t.daemon or t.name.startswith("hmi-")]
    for thread in leaked:
        thread.join(timeout=5)  # give a thread that was told to stop the time to finish
    still = [t.name for t in leaked if t.is_alive()]
    assert not still, f"test left threads running: {still}"


def _checking_tasks(test: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap an async test so that it fails when it leaves asyncio tasks pending on its loop."""

    @functools.wraps(test)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = await test(*args, **kwargs)
        await asyncio.sleep(0)  # let tasks cancelled in the test's own clean-up finish
        me = asyncio.current_task()
        pending = [t.get_name() for t in asyncio.all_tasks() if t is not me and not t.done()]
        assert not pending, f"test left asyncio tasks running: {pending}"
        return result

    return wrapper


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if isinstance(item, pytest.Function) and inspect.iscoroutinefunction(item.obj):
            item.obj = _checking_tasks(item.obj)


class _QtTimerWatch:
    """Remembers every QTimer started during a test, so that one left running fails the test."""

    def __init__(self) -> None:
        self.started: list[Any] = []
        self._original_start: Any = None

    def install(self) -> None:
        from PySide6.QtCore import QTimer

        original = QTimer.start
        watch = self

        def start(timer: QTimer, *args: Any) -> None:
            watch.started.append(timer)
            original(timer, *args)

        self._original_start = original
        QTimer.start = start  # type: ignore[method-assign]

    def uninstall(self) -> None:
        from PySide6.QtCore import QTimer

        QTimer.start = self._original_start  # type: ignore[method-assign]

    def still_running(self) -> list[str]:
        import shiboken6

        running = []
        for timer in self.started:
            if shiboken6.isValid(timer) and timer.isActive():
                running.append(f"{type(timer.parent()).__name__ if timer.parent() else 'no parent'}"
                               f" interval={timer.interval()}")
        return running


@pytest.fixture(autouse=True)
def _no_leaked_qt_timers(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a GUI test that leaves a QTimer running (a panel not closed, a bridge not stopped)."""
    if "qtbot" not in request.fixturenames and request.node.get_closest_marker("gui") is None:
        yield
        return
    watch = _QtTimerWatch()
    watch.install()
    try:
        yield
    finally:
        watch.uninstall()
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is not None:
        app.processEvents()  # let deleteLater() and close events land before judging
    running = watch.still_running()
    watch.started.clear()
    assert not running, f"test left Qt timers running: {running}"
