"""Help > About: the version, the project, and in the demo its generated accounts."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from hmi.security.demo_accounts import DemoAccount, accounts_path, read_demo_accounts


def app_version() -> str:
    """The installed version of Converge HMI."""
    try:
        return version("converge-hmi")
    except PackageNotFoundError:
        return "0+unknown"


class AboutDialog(QDialog):
    """What is running; the demo's accounts (user, role, password) so whoever started it can log on."""

    def __init__(self, project_name: str, demo_data_dir: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("about")
        self.setWindowTitle("About Converge HMI")
        self.accounts: list[DemoAccount] = read_demo_accounts(demo_data_dir) if demo_data_dir else []
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"<b>Converge HMI</b> {app_version()}<br>Project: {project_name}"))
        self.table: QTableWidget | None = None
        if demo_data_dir is not None:
            layout.addWidget(self._accounts_part(demo_data_dir))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _accounts_part(self, data_dir: Path) -> QWidget:
        if not self.accounts:
            return QLabel("This demo has no demo accounts: it runs view only.")
        part = QWidget()
        column = QVBoxLayout(part)
        column.setContentsMargins(0, 0, 0, 0)
        note = QLabel(
            "Demo accounts, with passwords generated for this demo data folder (no fixed default"
            f" exists). Kept in {accounts_path(data_dir)}, readable only by you."
        )
        note.setWordWrap(True)
        column.addWidget(note)
        table = self.table = QTableWidget(len(self.accounts), 3)
        table.setObjectName("about-accounts")
        table.setHorizontalHeaderLabels(("User", "Role", "Password"))
        table.verticalHeader().setVisible(False)
        for row, account in enumerate(self.accounts):
            for column_index, text in enumerate((account.user, account.role, account.password)):
                item = QTableWidgetItem(text)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                table.setItem(row, column_index, item)
        table.resizeColumnsToContents()
        table.horizontalHeader().setStretchLastSection(True)
        column.addWidget(table)
        return part
