"""The mimic screens of a project in one stack: only the screen in front follows the frames.

The stack declares the front screen's tags to the context, so the bridge carries those (and
what other panels show) and no others; bringing a screen forward changes the set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QStackedWidget, QWidget

from hmi.model import Sample
from hmi.project.config import Project
from hmi.ui.panels import SignalLinks
from hmi.ui.screen_view import ScreenView

if TYPE_CHECKING:
    from hmi.ui.panels import PanelContext


class ScreenStack(QStackedWidget):
    """Every screen of the project; one brought to the front gets the latest value of every tag at once."""

    sig_screen_shown = Signal(object)
    """ScreenView: the screen now in front."""

    def __init__(self, project: Project, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.views: dict[str, ScreenView] = {}
        for name, screen in project.screens.items():
            view = ScreenView(screen, project)
            self.views[name] = view
            self.addWidget(view)
        self.current: ScreenView | None = None
        self._links = SignalLinks()
        self._context: PanelContext | None = None

    def attach(self, context: PanelContext) -> None:
        """Frames to the screen in front; writes to the command path; navigation and trends by request."""
        self._context = context
        if self.current is not None:
            context.show_tags(self, self.current.bound_tags)
        self._links.connect(context.tags.sig_values_changed, self._apply_to_front)
        self._links.connect(context.sig_screen_requested, self.show_screen)
        for view in self.views.values():
            self._links.connect(view.sig_write_requested, context.commands.write)
            self._links.connect(view.sig_navigate, context.sig_screen_requested)
            self._links.connect(view.sig_open_trend, context.sig_trend_requested)

    def detach(self) -> None:
        """Undo ``attach``; text typed and not applied goes with the window."""
        self._links.disconnect_all()
        for view in self.views.values():
            view.discard_pending()
        if self._context is not None:
            self._context.release_tags(self)
        self._context = None

    def show_screen(self, name: str) -> bool:
        """Bring screen ``name`` to the front with the latest values at once; False when there is none."""
        view = self.views.get(name)
        if view is None:
            if self._context is not None:
                self._context.show_message(f"No screen named {name!r}")
            return False
        if self.current is not None and self.current is not view:
            self.current.discard_pending()  # text typed there and not applied must not wait for a return
        self.setCurrentWidget(view)
        self.current = view
        if self._context is not None:
            # tags new to the GUI come with their current value; those already carried are in the cache
            self._context.show_tags(self, view.bound_tags)
            latest = self._context.tags.latest
            view.apply_values({tag: latest[tag] for tag in view.bound_tags if tag in latest})
        self.sig_screen_shown.emit(view)
        return True

    def _apply_to_front(self, values: dict[str, Sample]) -> None:
        if self.current is not None:
            self.current.apply_values(values)
