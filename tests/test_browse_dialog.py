"""The browse dialog against a real asyncua server: lazy tree, attributes, "Add as tag" to the clipboard."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from asyncua import ua
from conftest import get_free_port
from opcua_server import OpcUaTestServer, make_server_identity
from PySide6.QtWidgets import QApplication

from drivers.settings import OpcUaSettings
from hmi.core.loop_thread import LoopThread
from hmi.ui.browse_dialog import BrowseDialog

pytestmark = pytest.mark.gui


async def build_plant(server: OpcUaTestServer) -> None:
    await server.add_folder("Plant.Tank1")
    await server.add_analog_variable(
        "Plant.Tank1.Level", 42.0, ua.VariantType.Float, units="%", eu_range=(0, 100), parent="Plant.Tank1"
    )
    await server.add_analog_variable(
        "Plant.Tank1.Temp", 20.0, ua.VariantType.Double, units="°C", eu_range=(-20, 120), parent="Plant.Tank1"
    )


@pytest.fixture(scope="module")
def server() -> Iterator[OpcUaTestServer]:
    thread = LoopThread("test-ua-server")
    thread.start()
    server = OpcUaTestServer(get_free_port(), make_server_identity())
    try:
        thread.call(server.start())
        thread.call(build_plant(server))
        yield server
    finally:
        thread.call(server.stop())
        thread.stop()


def close(qtbot, dialog: BrowseDialog) -> None:
    dialog.close()
    qtbot.waitUntil(lambda: dialog.closed, timeout=5000)


def top_item(dialog: BrowseDialog, name: str):
    root = dialog.tree.invisibleRootItem()
    return next(root.child(i) for i in range(root.childCount()) if root.child(i).text(0) == name)


def test_walk_the_tree_lazily_and_copy_variables_as_tags(qtbot, server, tmp_path):
    dialog = BrowseDialog("ua1", OpcUaSettings(server.endpoint, timeout=2.0), None)
    qtbot.addWidget(dialog)
    dialog.show()
    try:
        qtbot.waitUntil(lambda: dialog.tree.topLevelItemCount() > 0, timeout=8000)
        tank = top_item(dialog, "Tank1")
        assert tank.childCount() == 1 and tank.child(0).text(0) == "loading…"  # nothing fetched yet
        tank.setExpanded(True)
        qtbot.waitUntil(lambda: tank.childCount() == 2 and tank.child(0).text(0) != "loading…", timeout=5000)
        level = next(tank.child(i) for i in range(2) if tank.child(i).text(0) == "Level")
        assert [level.text(c) for c in range(1, 6)] == [
            "ns=2;s=Plant.Tank1.Level",
            "Variable",
            "Float",
            "%",
            "read",
        ]
        assert not dialog.add_button.isEnabled()

        for index in range(2):
            tank.child(index).setSelected(True)
        assert dialog.add_button.isEnabled()
        with qtbot.waitSignal(dialog.sig_tags_copied) as copied:
            dialog.add_button.click()
        lines = copied.args[0].splitlines()
        assert sorted(lines) == [
            'Plant.Tank1.Level: {connection: ua1, address: "ns=2;s=Plant.Tank1.Level", type: float32, '
            'units: "%"}',
            'Plant.Tank1.Temp: {connection: ua1, address: "ns=2;s=Plant.Tank1.Temp", type: float64, '
            'units: "°C"}',
        ]
        assert QApplication.clipboard().text() == copied.args[0]
        assert dialog.yaml.toPlainText() == copied.args[0]
        dialog.grab().save(str(tmp_path / "browse_dialog.png"))
    finally:
        close(qtbot, dialog)


def test_an_untrusted_server_is_reported_with_its_thumbprint(qtbot, server, tmp_path):
    settings = OpcUaSettings(server.endpoint, "Basic256Sha256", "SignAndEncrypt", timeout=2.0)
    dialog = BrowseDialog("ua1", settings, tmp_path / "pki", None)
    qtbot.addWidget(dialog)
    try:
        with qtbot.waitSignal(dialog.sig_untrusted, timeout=8000) as untrusted:
            dialog.show()
        assert len(untrusted.args[0]) == 40
        assert "not trusted" in dialog.status.text() and "Certificates…" in dialog.status.text()
        assert (tmp_path / "pki" / "rejected" / f"{untrusted.args[0]}.der").is_file()
    finally:
        close(qtbot, dialog)


def test_closing_while_still_connecting_leaves_nothing_behind(qtbot, server):
    dialog = BrowseDialog("ua1", OpcUaSettings(server.endpoint, timeout=2.0), None)
    qtbot.addWidget(dialog)
    dialog.show()
    close(qtbot, dialog)
    assert dialog.tree.topLevelItemCount() == 0
