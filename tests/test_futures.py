"""The future relay holds nothing of the GUI on the worker side; why collection stays on the GUI thread."""

from __future__ import annotations

import concurrent.futures
import gc
import threading
import weakref
from typing import Any

import pytest
from PySide6.QtCore import QObject

from hmi.ui.futures import FutureRelay
from hmi.ui.main_thread_gc import MainThreadGarbageCollector


class Receiver(QObject):
    """A panel-like object answering through a bound method."""

    def __init__(self) -> None:
        super().__init__()
        self.answers: list[Any] = []

    def on_answer(self, future: concurrent.futures.Future[Any]) -> None:
        self.answers.append(future.result())


def finish_on_a_worker(future: concurrent.futures.Future[Any], value: Any) -> None:
    worker = threading.Thread(target=future.set_result, args=(value,), name="worker")
    worker.start()
    worker.join()


@pytest.mark.gui
def test_a_pending_future_does_not_keep_a_bound_methods_object_alive(qtbot: Any) -> None:
    relay = FutureRelay()
    kept, dropped = Receiver(), Receiver()
    first, second = concurrent.futures.Future(), concurrent.futures.Future()
    relay.watch(first, kept.on_answer)
    relay.watch(second, dropped.on_answer)
    gone = weakref.ref(dropped)
    del dropped
    assert gone() is None, "the pending future and the relay hold the receiver only weakly"
    finish_on_a_worker(first, 1)
    finish_on_a_worker(second, 2)
    qtbot.waitUntil(lambda: relay.pending == 0, timeout=2000)
    assert kept.answers == [1]


@pytest.mark.gui
def test_a_closure_is_called_once_on_the_gui_thread_and_released_there(qtbot: Any) -> None:
    relay = FutureRelay()
    calls: list[tuple[str, Any]] = []
    future: concurrent.futures.Future[int] = concurrent.futures.Future()
    relay.watch(future, lambda done: calls.append((threading.current_thread().name, done.result())))
    assert relay.pending == 1
    finish_on_a_worker(future, 7)
    qtbot.waitUntil(lambda: bool(calls), timeout=2000)
    assert calls == [(threading.main_thread().name, 7)]
    assert relay.pending == 0
    late: concurrent.futures.Future[int] = concurrent.futures.Future()
    relay.watch(late, lambda done: calls.append(("late", done.result())))
    relay.close()
    assert relay.pending == 0, "closing drops the callbacks still waiting"
    finish_on_a_worker(late, 8)
    qtbot.wait(50)
    assert calls == [(threading.main_thread().name, 7)]


def _qt_object_in_a_cycle(freed_on: list[str]) -> None:
    """A plain QObject reachable only through a reference cycle, as panels and their lambdas make them."""

    class Holder:
        pass

    holder = Holder()
    holder.me = holder  # type: ignore[attr-defined]
    holder.qt = QObject()  # type: ignore[attr-defined]
    weakref.finalize(holder.qt, lambda: freed_on.append(threading.current_thread().name))  # type: ignore[attr-defined]


def _allocate_on_a_worker(until: list[str]) -> list[list[int]]:
    """Allocate on a worker as a busy runtime does; the allocations are returned, still alive."""
    junk: list[list[int]] = []

    def allocate() -> None:
        for i in range(200_000):  # enough allocations to trip an automatic collection many times
            junk.append([i])
            if until:
                return

    worker = threading.Thread(target=allocate, name="worker")
    worker.start()
    worker.join()
    return junk


def test_a_worker_threads_automatic_collection_frees_gui_qt_objects_unless_collection_is_on_the_gui_thread(
    qapp: Any,
) -> None:
    # Not a gui-marked test: the suite's GUI fixture would switch automatic collection off.
    assert gc.isenabled()
    gc.collect()
    freed_on: list[str] = []
    _qt_object_in_a_cycle(freed_on)
    _allocate_on_a_worker(freed_on)
    assert freed_on == ["worker"], "automatic collection freed a GUI thread's Qt object on a worker"

    collector = MainThreadGarbageCollector()
    collector.start()
    try:
        freed_on.clear()
        _qt_object_in_a_cycle(freed_on)
        junk = _allocate_on_a_worker(freed_on)
        assert freed_on == [], "with the collector, a worker's allocations collect nothing"
        collector.collect_due()  # the collector's timer tick on the GUI thread: a collection is due
        assert freed_on == [threading.main_thread().name]
        del junk
    finally:
        collector.stop()
    assert gc.isenabled()
