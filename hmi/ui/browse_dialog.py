"""The OPC UA browse dialog: walk a server's address space as a tree and copy variables as tag lines.

The session lives on a loop thread of its own; each expanded node is one
``browse_children`` call whose result comes back through a FutureRelay, so a
slow server never freezes the window. Children are fetched when a node is first expanded.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from hmi.core.browse import (
    OBJECTS_FOLDER,
    BrowseEntry,
    OpcUaSettings,
    browse_children,
    close_quietly,
    open_browse_client,
)
from hmi.core.browse import tag_yaml_line as yaml_line
from hmi.core.loop_thread import LoopThread
from hmi.ui.connections_menu import untrusted_thumbprint
from hmi.ui.futures import FutureRelay

COLUMNS = ("Name", "NodeId", "Class", "Data type", "Units", "Access")
ENTRY_ROLE = Qt.ItemDataRole.UserRole
LOADED_ROLE = Qt.ItemDataRole.UserRole + 1
CLOSE_TIMEOUT = 2.0


class BrowseDialog(QDialog):
    """Browses the server of one OPC UA connection; "Add as tag" copies YAML tag lines to the clipboard."""

    sig_tags_copied = Signal(str)
    """The project.yaml tag lines just put on the clipboard."""

    sig_untrusted = Signal(str)
    """Thumbprint of a server certificate the connection refused (to offer the certificates dialog)."""

    def __init__(
        self, connection: str, settings: OpcUaSettings, pki_dir: Path | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Browse {connection} — {settings.endpoint}")
        self.resize(1000, 560)
        self.connection = connection
        self._client: Any = None  # the server session, used only on the loop thread
        self._closing = False
        self.closed = False
        """True once the session is closed and the loop thread has ended."""
        self._loop_thread = LoopThread(f"browse-{connection}")
        self._relay = FutureRelay(self)
        self._closer = FutureRelay(self)  # stays open after the dialog closes, to end the loop thread

        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setColumnWidth(0, 260)
        self.tree.setColumnWidth(1, 260)
        self.tree.itemExpanded.connect(self._expand)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self.status = QLabel(f"Connecting to {settings.endpoint}…")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.yaml = QPlainTextEdit()
        self.yaml.setReadOnly(True)
        self.yaml.setMaximumHeight(110)
        self.yaml.setPlaceholderText(
            "Select variables and press “Add as tag”: their project.yaml lines appear here"
        )
        self.add_button = QPushButton("&Add as tag")
        self.add_button.setToolTip("Copy project.yaml tag lines for the selected variables to the clipboard")
        self.add_button.clicked.connect(self.copy_selected_as_tags)
        close_button = QPushButton("&Close")
        close_button.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addStretch(1)
        buttons.addWidget(close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.yaml)
        layout.addLayout(buttons)
        self._update_buttons()

        self._loop_thread.start()
        self._connecting = self._loop_thread.submit(open_browse_client(settings, pki_dir))
        self._relay.watch(self._connecting, self._on_connected)

    # -- runtime round trips --------------------------------------------------------------
    def _on_connected(self, future: concurrent.futures.Future[Any]) -> None:
        error = future.exception()
        if error is not None:
            self._show_error(error)
            return
        self._client = future.result()
        self.status.setText("Connected. Expand a node to see its children.")
        self._browse(None, OBJECTS_FOLDER)

    def _browse(self, item: QTreeWidgetItem | None, node: str) -> None:
        assert self._client is not None
        future = self._loop_thread.submit(browse_children(self._client, node))
        self._relay.watch(future, lambda done: self._on_children(item, done))

    def _on_children(self, item: QTreeWidgetItem | None, future: concurrent.futures.Future[Any]) -> None:
        error = future.exception()
        if error is not None:
            self._show_error(error)
            return
        parent = item or self.tree.invisibleRootItem()
        parent.takeChildren()  # the "loading" placeholder
        for entry in future.result():
            parent.addChild(_item_for(entry))
        if item is None:
            self.status.setText(f"Connected: {parent.childCount()} nodes under Objects.")

    def _expand(self, item: QTreeWidgetItem) -> None:
        entry: BrowseEntry = item.data(0, ENTRY_ROLE)
        if item.data(0, LOADED_ROLE) or self._client is None:
            return
        item.setData(0, LOADED_ROLE, True)  # asked once; the answer replaces the placeholder
        self._browse(item, entry.node_id)

    def _show_error(self, error: BaseException) -> None:
        text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        thumbprint = untrusted_thumbprint(error)
        if thumbprint is not None:
            text += "\nInspect and trust it under Connections → Certificates…, then browse again."
            self.sig_untrusted.emit(thumbprint)
        self.status.setText(text)

    # -- tags -----------------------------------------------------------------------------
    def selected_variables(self) -> list[BrowseEntry]:
        """The selected tree rows that are variables, in tree order."""
        entries = [item.data(0, ENTRY_ROLE) for item in self.tree.selectedItems()]
        return [entry for entry in entries if entry is not None and entry.is_variable]

    def copy_selected_as_tags(self) -> str:
        """Put the YAML lines of the selected variables on the clipboard and show them; returns them."""
        text = "\n".join(yaml_line(entry, self.connection) for entry in self.selected_variables())
        if text:
            QApplication.clipboard().setText(text)
            self.yaml.setPlainText(text)
            self.sig_tags_copied.emit(text)
        return text

    def _update_buttons(self) -> None:
        self.add_button.setEnabled(bool(self.selected_variables()))

    # -- closing --------------------------------------------------------------------------
    def done(self, result: int) -> None:
        """Close the session on the loop thread, then end the thread; the window closes at once."""
        if self._closing:
            super().done(result)
            return
        self._closing = True
        self._relay.close()
        closing = self._loop_thread.submit(self._close_session())
        self._closer.watch(closing, self._end_loop_thread)
        super().done(result)

    def _end_loop_thread(self, _closing: concurrent.futures.Future[None]) -> None:
        self._loop_thread.stop()  # the loop is idle now: this returns at once
        self.closed = True

    async def _close_session(self) -> None:
        # Runs on the loop thread: the connect future, not the GUI's copy, says whether a session exists.
        connecting, self._client = self._connecting, None
        if not connecting.done():
            connecting.cancel()  # still connecting: give up, nothing to close
            return
        if not connecting.cancelled() and connecting.exception() is None:
            client = connecting.result()
            try:
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await close_quietly(client)
            except TimeoutError:
                client.disconnect_socket()


def _item_for(entry: BrowseEntry) -> QTreeWidgetItem:
    item = QTreeWidgetItem(
        [entry.display_name, entry.node_id, entry.node_class, entry.data_type, entry.units, entry.access]
    )
    item.setData(0, ENTRY_ROLE, entry)
    tip = entry.browse_name + (
        f"\nEURange {entry.eu_range[0]:g} .. {entry.eu_range[1]:g}" if entry.eu_range else ""
    )
    item.setToolTip(0, tip)
    if entry.has_children:
        item.addChild(QTreeWidgetItem(["loading…"]))
    return item
