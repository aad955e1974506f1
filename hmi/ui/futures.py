"""Deliver the result of work done on another thread back to the GUI thread.

A future finishes, and is often freed, on the thread that ran the work. Whatever the
future's done-callback references would then be released on that thread, and a Qt
object released off the GUI thread is the start of the freezes described in
:mod:`hmi.ui.main_thread_gc`. So the done-callback holds nothing of ours but a number and
a weak reference: the callback itself waits in the relay, on the GUI thread, and a bound
method is held only weakly (``weakref.WeakMethod``), so a pending future never keeps a
panel alive and a panel gone before its answer simply gets none.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import logging
import weakref
from collections.abc import Callable
from types import MethodType
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

log = logging.getLogger(__name__)

Callback = Callable[[concurrent.futures.Future[Any]], None]
_Held = Callable[[], Callback | None]
"""Returns the callback, or None once its object is gone."""


def _hold(callback: Callback) -> _Held:
    """A bound method weakly; any other callable (a closure has no other owner) strongly."""
    if isinstance(callback, MethodType):
        return weakref.WeakMethod(callback)
    return lambda: callback


class _Courier(QObject):
    """The one object a worker thread signals; lives on the GUI thread for the whole process."""

    sig_done = Signal(object, object, object)
    """(weak reference to the relay, ticket, future): emitted off the GUI thread, queued to it."""

    def __init__(self) -> None:
        super().__init__()
        self.sig_done.connect(self._deliver)

    @Slot(object, object, object)
    def _deliver(
        self, relay_ref: weakref.ref[FutureRelay], ticket: int, future: concurrent.futures.Future[Any]
    ) -> None:
        relay = relay_ref()
        if relay is not None:
            relay._deliver(ticket, future)


_courier: _Courier | None = None


def _the_courier() -> _Courier:
    global _courier
    if _courier is None:
        _courier = _Courier()  # first relay: created on the GUI thread, as every relay is
    return _courier


class FutureRelay(QObject):
    """Calls a callback on the GUI thread when a future finishes on a runtime or worker thread."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._courier = _the_courier()
        self._tickets = itertools.count()
        self._waiting: dict[int, _Held] = {}
        self._alive = True

    @property
    def pending(self) -> int:
        """Callbacks waiting for their future."""
        return len(self._waiting)

    def watch(self, future: concurrent.futures.Future[Any], callback: Callback) -> None:
        """Call ``callback(future)`` on this object's thread once ``future`` is done.

        A bound method does not keep its object alive; when the object is gone by then, nothing is called.
        """
        if not self._alive:
            return
        ticket = next(self._tickets)
        self._waiting[ticket] = _hold(callback)
        relay_ref = weakref.ref(self)
        courier = self._courier

        def done(finished: concurrent.futures.Future[Any]) -> None:
            # Runs on the finishing thread: it touches only the process-wide courier.
            courier.sig_done.emit(relay_ref, ticket, finished)

        future.add_done_callback(done)

    def close(self) -> None:
        """Drop results that arrive after the window closed, and the callbacks waiting for them."""
        self._alive = False
        self._waiting.clear()

    def _deliver(self, ticket: int, future: concurrent.futures.Future[Any]) -> None:
        held = self._waiting.pop(ticket, None)
        callback = held() if held is not None else None
        if callback is not None and self._alive:
            callback(future)
