"""How a panel plugs into the window: it attaches itself to a context and detaches itself again.

The main window only builds the context, lays the panels out and lists them; each panel
connects what it needs in ``attach`` and undoes exactly that in ``detach`` (symmetric
wiring, so a new panel never means editing the window's wiring). The context offers:

- the bridge's signals (connection states, the alarm summary and alarm events),
- the one GUI-side tag cache (latest sample per tag) and its per-frame signal,
- the tags shown: each panel declares the tags it shows (``show_tags``) when it attaches or what
  it shows changes, and releases them (``release_tags``) on detach; the bridge carries only their
  union, and a tag newly shown arrives at once with its current value from the runtime. The alarm
  views declare nothing: alarms come by their own feed, values included,
- the command path (writes and acknowledgements, through the window's single entry points),
- requests between panels (show a screen, open a trend) as signals, so panels never hold each other.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Hashable, Iterable
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


class ShownTags:
    """The tags each owner (a panel, a screen, a faceplate) shows now, and their union."""

    def __init__(self) -> None:
        self._by_owner: dict[Hashable, frozenset[str]] = {}

    def set(self, owner: Hashable, tags: Iterable[str]) -> bool:
        """``owner`` shows ``tags`` now, replacing what it showed before; False when nothing changed."""
        wanted = frozenset(tags)
        if self._by_owner.get(owner) == wanted:
            return False
        if wanted:
            self._by_owner[owner] = wanted
        else:
            self._by_owner.pop(owner, None)
        return True

    def release(self, owner: Hashable) -> bool:
        """``owner`` shows nothing any more; False when it showed nothing."""
        return self._by_owner.pop(owner, None) is not None

    def union(self) -> frozenset[str]:
        """Every tag some owner shows."""
        return frozenset().union(*self._by_owner.values())

    def owners_of(self, tag: str) -> list[Hashable]:
        """Who shows ``tag`` (for diagnostics and tests)."""
        return [owner for owner, tags in self._by_owner.items() if tag in tags]


@dataclass(frozen=True)
class Commands:
    """The command path as panels see it: every write and acknowledgement goes through these."""

    write: Callable[[str, str, Any], None]
    """(request id, tag, value): the result comes back by that id to the screen that asked."""

    acknowledge: Callable[[str | None], None]
    """(alarm name, or None for all)."""

    acknowledge_with: Callable[[str | None, str, tuple[str, ...] | None], None] = lambda *_args: None
    """(alarm name or None for all, comment, the visible alarms an "all" is limited to, or None)."""

    alarm_action: Callable[[str, str, str, float], None] = lambda *_args: None
    """(alarm name, action: shelve | unshelve | out of service | return to service, reason, seconds)."""


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
        self.shown = ShownTags()
        """Who shows which tags; the bridge carries their union and nothing else."""
        self._feeding = SignalLinks()
        self._feeding.connect(bridge.sig_values_changed, self.tags.apply)
        bridge.show_only(frozenset())  # a window shows only what its panels declare

    def show_tags(self, owner: Hashable, tags: Iterable[str]) -> None:
        """``owner`` shows ``tags`` now (replacing its earlier set); tags new to the GUI arrive at once."""
        if self.shown.set(owner, tags):
            self._carry()

    def release_tags(self, owner: Hashable) -> None:
        """``owner`` shows nothing any more (on detach, or a faceplate closed)."""
        if self.shown.release(owner):
            self._carry()

    def _carry(self) -> None:
        current = self.bridge.show_only(self.shown.union())
        if current:
            self.tags.apply(current)  # cache first, then every panel, as a frame would

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
