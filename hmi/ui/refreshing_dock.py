"""A dock whose view refreshes itself only while the dock is shown and attached to a window.

The connections view, the rules view and the alarm report each poll the runtime on a timer;
polling while hidden would cost the runtime thread work nobody sees, so the dock starts the
view when it becomes visible and stops it when hidden or detached.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, Protocol, TypeVar, cast

from PySide6.QtWidgets import QDockWidget, QWidget

if TYPE_CHECKING:
    from hmi.ui.panels import PanelContext


class RefreshingView(Protocol):
    """A view that polls on its own timer between ``start`` and ``stop``."""

    def start(self) -> None:
        """Refresh now and then on the view's own rhythm."""

    def stop(self) -> None:
        """Stop refreshing."""


ViewT = TypeVar("ViewT", bound=RefreshingView)


class RefreshingDock(QDockWidget, Generic[ViewT]):
    """Builds its view on ``attach`` (``make_view``) and runs it only while visible."""

    def __init__(self, title: str, object_name: str, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.setObjectName(object_name)
        self.view: ViewT | None = None
        self.visibilityChanged.connect(self._follow_visibility)

    def make_view(self, context: PanelContext) -> ViewT:
        """The view to show, built from the window's ``context`` (a subclass says how)."""
        raise NotImplementedError

    def attach(self, context: PanelContext) -> None:
        """Build the view; answers come back through the context's relay."""
        view = self.make_view(context)
        self.view = view
        self.setWidget(cast(QWidget, view))  # every view is a widget that also starts and stops
        if self.isVisible():
            view.start()

    def detach(self) -> None:
        """Stop refreshing for good."""
        if self.view is not None:
            self.view.stop()
        self.view = None

    def _follow_visibility(self, visible: bool) -> None:
        if self.view is None:
            return
        if visible:
            self.view.start()
        else:
            self.view.stop()
