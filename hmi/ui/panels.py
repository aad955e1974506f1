"""How a panel plugs into the window: it attaches itself to a context and detaches itself again.

The main window only builds the context, lays the panels out and lists them; each panel
connects what it needs in ``attach`` and undoes exactly that in ``detach`` (symmetric
wiring, so a new panel never means editing the window's wiring). The context offers:

- the bridge's signals (connection states, the alarm summary and alarm events),
- the one GUI-side tag cache (latest sample per tag) and its per-frame signal,
- the command path (writes and acknowledgements, through the window's single entry points),
- requests between panels (show a screen, open a trend) as signals, so panels never hold each other.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from PySide6.QtCore import QObject, Signal, SignalInstance

from hmi.model import Sample
from hmi.project.config import Project
from hmi.ui.bridge import RuntimeBridge
from hmi.ui.futures import FutureRelay

Slot = Callable[..., Any] | SignalInstance
DiagnosticsRequest = Callable[[], concurrent.futures.Future[dict[str, dict[str, Any]]]]


class TagCache(QObject):
    """The latest sample of every tag the GUI has seen, fed once per bridge frame."""

    sig_values_changed = Signal(dict)
    """dict[str, Sample]: the tags that changed this frame, emitted after the cache holds them."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.latest: dict[str, Sample] = {}
        """Tag name → newest sample (read it to show a screen's values at once)."""

    def apply(self, values: dict[str, Sample]) -> None:
        """Take a frame of changed values, then tell the panels."""
        self.latest.update(values)
        self.sig_values_changed.emit(values)

    def get(self, tag: str) -> Sample | None:
        """The newest sample of ``tag``, if any arrived yet."""
        return self.latest.get(tag)


@dataclass(frozen=True)
class Commands:
    """The command path as panels see it: every write and acknowledgement goes through these."""

    write: Callable[[str, str, Any], None]
    """(request id, tag, value): the result comes back by that id to the screen that asked."""

    acknowledge: Callable[[str | None], None]
    """(alarm name, or None for all)."""


class PanelContext(QObject):
    """What a panel may use: bridge, tag cache, command path, relay, messages and requests to other panels."""

    sig_runtime_started = Signal(object)
    """Path: the station runs; its history file (the trend backfills from it)."""

    sig_screen_requested = Signal(str)
    """(screen name): bring this screen to the front."""

    sig_trend_requested = Signal(str)
    """(trend name): show this saved trend."""

    def __init__(
        self,
        project: Project,
        bridge: RuntimeBridge,
        commands: Commands,
        relay: FutureRelay,
        diagnostics: DiagnosticsRequest,
        show_message: Callable[[str], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.project = project
        self.bridge = bridge
        self.commands = commands
        self.relay = relay
        self.diagnostics = diagnostics
        self.show_message = show_message
        self.tags = TagCache(self)
        self._feeding = SignalLinks()
        self._feeding.connect(bridge.sig_values_changed, self.tags.apply)

    def close(self) -> None:
        """Stop feeding the tag cache from the bridge."""
        self._feeding.disconnect_all()


class Panel(Protocol):
    """A part of the window that wires itself: connect in ``attach``, disconnect and stop in ``detach``."""

    def attach(self, context: PanelContext) -> None:
        """Connect to the context's signals and keep what the panel needs of it."""

    def detach(self) -> None:
        """Undo ``attach`` and stop timers and workers; called once when the window closes."""


class SignalLinks:
    """The connections a panel made, so that ``detach`` undoes exactly those and no others."""

    def __init__(self) -> None:
        self._links: list[tuple[SignalInstance, Slot]] = []

    def connect(self, signal: SignalInstance, slot: Slot) -> None:
        """Connect ``slot`` (a callable, or another signal to relay to) to ``signal`` and remember it."""
        signal.connect(slot)
        self._links.append((signal, slot))

    def disconnect_all(self) -> None:
        """Disconnect everything connected through this object, newest first."""
        while self._links:
            signal, slot = self._links.pop()
            signal.disconnect(slot)

    def __len__(self) -> int:
        return len(self._links)
