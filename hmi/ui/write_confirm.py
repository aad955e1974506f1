"""The confirmation and electronic-signature dialog of a write from a screen.

``confirm: true``: the tag, old -> new value with units, Write / Cancel. Cancel has the focus and is
the default button, so Enter alone cancels: an operator never writes by accident.
``confirm: signature | double``: also a reason and the writer's password ("performed by"), and for
``double`` a second user's name and password ("verified by"). There Enter only moves to the next
field; Write needs a click (or Space once Tab has reached it). Whether the signature is valid is
decided on the runtime side (hmi.security.signatures): the dialog only collects it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hmi.model import ConfirmMode, Sample, TagDef
from hmi.security.signatures import PERFORMED_BY, VERIFIED_BY, SignatureForm
from hmi.ui.write_confirm_form import SignedValue
from widgets.palette import format_value

Accepted = Callable[[Any], None]
"""Receives the value to write (a :class:`SignedValue` for a signed tag)."""


def shown_value(value: Any, tag: TagDef) -> str:
    """A value as the operator reads it, with the tag's units (on/off for a bool)."""
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "ON" if value else "OFF"
    text = format_value(value, tag.decimals) if isinstance(value, float) else str(value)
    return f"{text} {tag.units}".strip()


class WriteConfirmDialog(QDialog):
    """Asks before one write; ``accepted_value`` is what to request once the operator chose Write."""

    def __init__(
        self, tag: TagDef, old: Sample | None, new: Any, signer: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.tag = tag
        self.new = new
        self.mode = tag.confirm
        signed = self.mode.signed
        self.setWindowTitle("Sign the write" if signed else "Confirm the write")
        self.setObjectName("write-confirm")
        old_value = old.value if old is not None and old.is_good else None
        heading = QLabel(f"<b>{tag.name}</b>" + (f" — {tag.description}" if tag.description else ""))
        change = QLabel(f"{shown_value(old_value, tag)}  →  <b>{shown_value(new, tag)}</b>")
        change.setObjectName("write-confirm-change")
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(change)
        self.reason = QLineEdit()
        self.password = _password_field()
        self.verifier = QLineEdit()
        self.verifier_password = _password_field()
        self.error = QLabel("")
        self.error.setStyleSheet("color: #b3261e")
        if signed:
            layout.addLayout(self._signature_form(signer))
            layout.addWidget(self.error)
        self.write_button = QPushButton("Sign and write" if signed else "Write")
        self.cancel_button = QPushButton("Cancel")
        self.write_button.setAutoDefault(False)
        self.write_button.setDefault(False)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.write_button)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)
        self.write_button.clicked.connect(self._write)
        self.cancel_button.clicked.connect(self.reject)
        if signed:
            self.cancel_button.setAutoDefault(False)  # Enter in a field goes to the next one, never out
            self.reason.setFocus(Qt.FocusReason.OtherFocusReason)
        else:
            self.cancel_button.setDefault(True)  # Enter alone cancels
            self.cancel_button.setFocus(Qt.FocusReason.OtherFocusReason)
        self.accepted_value: Any = None

    def _signature_form(self, signer: str) -> QFormLayout:
        form = QFormLayout()
        self.reason.setPlaceholderText("why this change (recorded with the signature)")
        form.addRow("Reason", self.reason)
        form.addRow(f"Signature: {PERFORMED_BY}", QLabel(signer or "the user logged on"))
        form.addRow("Password", self.password)
        fields = [self.reason, self.password]
        if self.mode is ConfirmMode.DOUBLE:
            self.verifier.setPlaceholderText("another user who may write this tag")
            form.addRow(f"Second signature: {VERIFIED_BY}", self.verifier)
            form.addRow("Their password", self.verifier_password)
            fields += [self.verifier, self.verifier_password]
        for field in fields:  # Enter moves on; it never signs
            field.returnPressed.connect(self.focusNextChild)
        return form

    def _write(self) -> None:
        if not self.mode.signed:
            self.accepted_value = self.new
            self.accept()
            return
        problem = self._missing()
        if problem:
            self.error.setText(problem)
            return
        form = SignatureForm(
            self.reason.text(), self.password.text(), self.verifier.text(), self.verifier_password.text()
        )
        self.accepted_value = SignedValue(self.new, form, double=self.mode is ConfirmMode.DOUBLE)
        self.password.clear()  # the passwords leave with the request, not kept in the dialog
        self.verifier_password.clear()
        self.accept()

    def _missing(self) -> str:
        if not self.reason.text().strip():
            return "Give a reason: it is recorded with the signature."
        if not self.password.text():
            return "Enter your password to sign."
        if self.mode is ConfirmMode.DOUBLE and not (
            self.verifier.text().strip() and self.verifier_password.text()
        ):
            return "A second user signs too: their name and password."
        return ""


def _password_field() -> QLineEdit:
    field = QLineEdit()
    field.setEchoMode(QLineEdit.EchoMode.Password)
    return field


def ask_to_confirm(
    parent: QWidget,
    tag: TagDef,
    old: Sample | None,
    new: Any,
    on_write: Accepted,
    on_cancel: Callable[[], None],
    signer: str = "",
) -> WriteConfirmDialog:
    """Open the dialog (window-modal, without a nested event loop); one of the callbacks follows."""
    dialog = WriteConfirmDialog(tag, old, new, signer, parent)

    def finished(result: int) -> None:
        if result == QDialog.DialogCode.Accepted and dialog.accepted_value is not None:
            on_write(dialog.accepted_value)
        else:
            on_cancel()
        dialog.deleteLater()

    dialog.finished.connect(finished)
    dialog.open()
    return dialog
