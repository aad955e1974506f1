"""Browsing a real asyncua server: one level at a time with units and access, and ``hmi browse``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from asyncua import ua
from conftest import get_free_port
from opcua_server import OpcUaTestServer, make_server_identity

from drivers.opcua_browse import BrowseEntry, browse_children, open_browse_client, tag_yaml_line
from drivers.opcua_security import thumbprint
from drivers.settings import OpcUaSettings
from hmi.app.cli import main
from hmi.core.loop_thread import LoopThread

IDENTITY = make_server_identity()


async def build_plant(server: OpcUaTestServer) -> None:
    await server.add_folder("Plant.Tank1")
    await server.add_analog_variable(
        "Plant.Tank1.Level", 42.0, ua.VariantType.Float, units="%", eu_range=(0, 100), parent="Plant.Tank1"
    )
    await server.add_analog_variable(
        "Plant.Tank1.Temp_SP",
        20.0,
        ua.VariantType.Double,
        units="°C",
        eu_range=(-20, 120),
        parent="Plant.Tank1",
        writable=True,
    )
    await server.add_variable("Plant.Pump1.Speed", 0, ua.VariantType.Int16, writable=True)
    await server.add_variable("Plant.Pump1.Run", False, ua.VariantType.Boolean)
    await server.add_variable("Plant.Blob", b"\x00", ua.VariantType.ByteString)


@pytest.fixture(scope="module")
def plant_server() -> Iterator[OpcUaTestServer]:
    """A test server on its own loop thread, so that the CLI (which runs its own loop) can reach it."""
    thread = LoopThread("test-ua-server")
    thread.start()
    server = OpcUaTestServer(get_free_port(), IDENTITY)
    try:
        thread.call(server.start())
        thread.call(build_plant(server))
        yield server
    finally:
        thread.call(server.stop())
        thread.stop()


async def test_children_carry_class_type_units_range_and_access(plant_server):
    client = await open_browse_client(OpcUaSettings(plant_server.endpoint, timeout=2.0), None)
    try:
        top = {e.browse_name: e for e in await browse_children(client)}
        tank = await browse_children(client, top["2:Tank1"].node_id)
    finally:
        await client.disconnect()
    assert top["0:Server"].node_class == "Object" and top["0:Server"].has_children
    assert top["2:Tank1"].node_id == plant_server.node_id("Plant.Tank1") and top["2:Tank1"].has_children
    speed = top["2:Speed"]
    assert (speed.node_class, speed.data_type, speed.access, speed.units) == (
        "Variable",
        "Int16",
        "read/write",
        "",
    )
    assert top["2:Run"].access == "read"
    by_name = {e.browse_name: e for e in tank}
    assert set(by_name) == {"2:Level", "2:Temp_SP"}  # properties (units, range) are not children
    level = by_name["2:Level"]
    assert (level.data_type, level.units, level.eu_range, level.access) == (
        "Float",
        "%",
        (0.0, 100.0),
        "read",
    )
    assert not level.has_children


def test_tag_lines_are_ready_to_paste():
    level = BrowseEntry(
        "ns=2;s=Plant.Tank1.Level", "2:Level", "Level", "Variable", "Float", "%", None, "read"
    )
    assert tag_yaml_line(level, "ua1") == (
        'Plant.Tank1.Level: {connection: ua1, address: "ns=2;s=Plant.Tank1.Level", type: float32, units: "%"}'
    )
    numeric = BrowseEntry("ns=3;i=1001", "3:Speed SP", "Speed", "Variable", "UInt16", "", None, "read/write")
    assert tag_yaml_line(numeric, "plc") == (
        'Speed_SP: {connection: plc, address: "ns=3;i=1001", type: uint16, writable: true}'
    )
    blob = BrowseEntry("ns=2;s=Blob", "2:Blob", "Blob", "Variable", "ByteString", "", None, "read")
    assert tag_yaml_line(blob, "ua1") == "# Blob: data type ByteString of ns=2;s=Blob cannot be a tag"


def test_hmi_browse_prints_a_table_then_tag_lines(plant_server, capsys):
    endpoint = plant_server.endpoint
    assert main(["browse", endpoint]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["NodeId", "BrowseName", "NodeClass", "DataType", "Units", "Access"]
    assert any(line.split()[:3] == ["i=2253", "0:Server", "Object"] for line in out)
    speed = next(line for line in out if "Plant.Pump1.Speed" in line)
    assert speed.split() == ["ns=2;s=Plant.Pump1.Speed", "2:Speed", "Variable", "Int16", "read/write"]

    assert (
        main(["browse", endpoint, plant_server.node_id("Plant.Tank1"), "--tags", "--connection", "ua7"]) == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        'Plant.Tank1.Level: {connection: ua7, address: "ns=2;s=Plant.Tank1.Level", type: float32, '
        'units: "%"}',
        'Plant.Tank1.Temp_SP: {connection: ua7, address: "ns=2;s=Plant.Tank1.Temp_SP", type: float64, '
        'units: "°C", writable: true}',
    ]


def test_secure_browse_is_refused_until_the_certificate_is_trusted(plant_server, capsys, tmp_path):
    secure = ["--security", "Basic256Sha256", "--pki", str(tmp_path / "pki")]
    assert main(["browse", plant_server.endpoint, *secure]) == 1
    error = capsys.readouterr().err
    print_ = thumbprint(IDENTITY.certificate)
    assert f"not trusted (thumbprint {print_})" in error
    assert main(["certs", "--pki", str(tmp_path / "pki"), "trust", print_]) == 0
    assert main(["browse", plant_server.endpoint, *secure]) == 0
    assert "0:Server" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["ns=2;q=x"], "bad OPC UA NodeId 'ns=2;q=x'"),
        (["ns=2;s=Plant.Nothing"], "BadNodeId"),
    ],
)
def test_bad_nodes_exit_1_with_the_reason(plant_server, capsys, arguments, message):
    assert main(["browse", plant_server.endpoint, *arguments]) == 1
    assert message in capsys.readouterr().err


def test_an_unreachable_server_exits_1_naming_it(free_port, capsys):
    endpoint = f"opc.tcp://127.0.0.1:{free_port()}/"
    assert main(["browse", endpoint, "--timeout", "1"]) == 1
    assert f"hmi browse: {endpoint}: " in capsys.readouterr().err
