"""The demo plant's OPC UA face: a real asyncua server, security None, anonymous access.

Address space (namespace 2, string NodeIds, all Double):

    ns=2;s=Plant.Tank1.Level             %      read only
    ns=2;s=Plant.Tank1.Temperature       °C     read only
    ns=2;s=Plant.Pump1.Vibration         mm/s   read only
    ns=2;s=Plant.Heater1.PowerSetpoint   %      read/write

Each variable carries an EngineeringUnits property (UNECE codes), and every
publish stamps values with the source time of the plant tick.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asyncua import Node, Server, ua
from asyncua.common.callback import CallbackType, ServerItemCallback

from drivers.sim.process import TankProcess

NAMESPACE_URI = "urn:converge-hmi:demo-plant"
APPLICATION_URI = "urn:converge-hmi:demo-plant:server"
NAMESPACE_INDEX = 2
UNECE_UNITS_URI = "http://www.opcfoundation.org/UA/units/un/cefact"
_STOP_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class PlantVariable:
    """One variable of the address space and the ``TankProcess`` attribute behind it."""

    node_id: str
    attribute: str
    unece_code: str
    unit_symbol: str
    unit_name: str

    @property
    def parent_id(self) -> str:
        """String id of the object that holds the variable (``Plant.Tank1``)."""
        return self.node_id.rsplit(".", 1)[0]

    @property
    def browse_name(self) -> str:
        """Last part of the id (``Temperature``)."""
        return self.node_id.rsplit(".", 1)[1]


MEASUREMENTS = (
    PlantVariable("Plant.Tank1.Level", "level", "P1", "%", "percent"),
    PlantVariable("Plant.Tank1.Temperature", "temperature", "CEL", "°C", "degree Celsius"),
    PlantVariable("Plant.Pump1.Vibration", "vibration", "C16", "mm/s", "millimetre per second"),
)
HEATER_SETPOINT = PlantVariable("Plant.Heater1.PowerSetpoint", "heater_setpoint", "P1", "%", "percent")


def unece_unit_id(code: str) -> int:
    """The OPC UA UnitId of a UNECE Recommendation 20 code: its characters packed into an integer."""
    unit_id = 0
    for char in code:
        unit_id = (unit_id << 8) | ord(char)
    return unit_id


def pick_free_port(host: str) -> int:
    """A TCP port free on ``host`` right now.

    asyncua advertises its endpoint URL before it binds, so the port must be known
    in advance instead of letting the system choose it at bind time.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def _node_id(string_id: str) -> ua.NodeId:
    return ua.NodeId(string_id, NAMESPACE_INDEX)


def _quiet_address_space_logging() -> None:
    # Building the standard address space logs hundreds of INFO lines; keep them out
    # unless someone configured this logger on purpose.
    address_space_log = logging.getLogger("asyncua.server.address_space")
    if address_space_log.level == logging.NOTSET:
        address_space_log.setLevel(logging.WARNING)


class OpcUaPlantServer:
    """Serves a ``TankProcess`` over OPC UA; restartable on the same port to simulate an outage."""

    def __init__(self, process: TankProcess, host: str = "127.0.0.1", port: int = 0) -> None:
        self._process = process
        self._host = host
        self._port = port or pick_free_port(host)
        self._server: Server | None = None
        self._published_setpoint: float | None = None

    @property
    def endpoint(self) -> str:
        """The URL clients connect to, ``opc.tcp://HOST:PORT/``."""
        return f"opc.tcp://{self._host}:{self._port}/"

    @property
    def port(self) -> int:
        """The TCP port served."""
        return self._port

    @property
    def running(self) -> bool:
        """True while the server listens."""
        return self._server is not None

    async def start(self) -> None:
        """Build the address space and listen; raises ``OSError`` when the port cannot be bound."""
        if self._server is not None:
            return
        # A stopped asyncua Server cannot be started again, so each start builds a fresh one.
        server = await self._build_server()
        await server.start()
        self._server = server
        self._published_setpoint = None
        await self.publish()

    async def stop(self) -> None:
        """Stop listening and drop every session."""
        server, self._server = self._server, None
        if server is not None:
            await asyncio.wait_for(server.stop(), _STOP_TIMEOUT_S)

    async def publish(self) -> None:
        """Write the process's current values into the address space, stamped now."""
        server = self._server
        if server is None:
            return
        now = datetime.now(UTC)
        for variable in MEASUREMENTS:
            value = float(getattr(self._process, variable.attribute))
            await server.write_attribute_value(_node_id(variable.node_id), self._data_value(value, now))
        setpoint = self._process.heater_setpoint
        # A setpoint keeps the time it was last changed, so it is written only when it changes.
        if setpoint != self._published_setpoint:
            await server.write_attribute_value(
                _node_id(HEATER_SETPOINT.node_id), self._data_value(setpoint, now)
            )
            self._published_setpoint = setpoint
        # The built-in clock task is disabled (it makes stop wait up to a second); keep the time here.
        await server.write_attribute_value(
            ua.NodeId(ua.ObjectIds.Server_ServerStatus_CurrentTime),
            ua.DataValue(ua.Variant(now, ua.VariantType.DateTime), SourceTimestamp=now, ServerTimestamp=now),
        )

    @staticmethod
    def _data_value(value: float, now: datetime) -> ua.DataValue:
        variant = ua.Variant(value, ua.VariantType.Double)
        return ua.DataValue(variant, SourceTimestamp=now, ServerTimestamp=now)

    async def _build_server(self) -> Server:
        _quiet_address_space_logging()
        server = Server()
        await server.init()
        await server.set_application_uri(APPLICATION_URI)
        server.disable_clock(True)
        server.set_endpoint(self.endpoint)
        server.set_server_name("Converge demo plant")
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        server.set_identity_tokens([ua.AnonymousIdentityToken])
        index = await server.register_namespace(NAMESPACE_URI)
        if index != NAMESPACE_INDEX:
            raise RuntimeError(
                f"demo plant namespace got index {index}, expected {NAMESPACE_INDEX}: "
                "the demo project addresses its tags as ns=2"
            )
        await self._add_nodes(server)
        server.subscribe_server_callback(CallbackType.PostWrite, self._on_client_write)
        return server

    async def _add_nodes(self, server: Server) -> None:
        plant_name = ua.QualifiedName("Plant", NAMESPACE_INDEX)
        plant = await server.nodes.objects.add_object(_node_id("Plant"), plant_name)
        folders: dict[str, Node] = {}
        for variable in (*MEASUREMENTS, HEATER_SETPOINT):
            parent = folders.get(variable.parent_id)
            if parent is None:
                name = variable.parent_id.rsplit(".", 1)[1]
                parent = await plant.add_object(
                    _node_id(variable.parent_id), ua.QualifiedName(name, NAMESPACE_INDEX)
                )
                folders[variable.parent_id] = parent
            node = await parent.add_variable(
                _node_id(variable.node_id),
                ua.QualifiedName(variable.browse_name, NAMESPACE_INDEX),
                float(getattr(self._process, variable.attribute)),
                ua.VariantType.Double,
            )
            await self._add_engineering_units(node, variable)
        setpoint = server.get_node(_node_id(HEATER_SETPOINT.node_id))
        await setpoint.set_writable()

    @staticmethod
    async def _add_engineering_units(node: Node, variable: PlantVariable) -> None:
        units = ua.EUInformation(
            NamespaceUri=UNECE_UNITS_URI,
            UnitId=unece_unit_id(variable.unece_code),
            DisplayName=ua.LocalizedText(variable.unit_symbol),
            Description=ua.LocalizedText(variable.unit_name),
        )
        await node.add_property(
            _node_id(f"{variable.node_id}.EngineeringUnits"),
            ua.QualifiedName("EngineeringUnits", 0),
            units,
            datatype=ua.NodeId(ua.ObjectIds.EUInformation),
        )

    def _on_client_write(self, event: ServerItemCallback, _dispatcher: Any) -> None:
        # Runs after the server stored a client's write; hand an accepted setpoint to the process.
        if not event.is_external:
            return
        setpoint_id = _node_id(HEATER_SETPOINT.node_id)
        for written, status in zip(event.request_params.NodesToWrite, event.response_params, strict=False):
            if written.NodeId != setpoint_id or written.AttributeId != ua.AttributeIds.Value:
                continue
            if status.is_good() and written.Value.Value is not None:
                self._process.heater_setpoint = float(written.Value.Value.Value)
                # The process may have clamped the value: the next publish writes back what it took.
                self._published_setpoint = None
