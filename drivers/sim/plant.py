"""The demo plant: one simulated process served at once over Modbus TCP and OPC UA.

``hmi demo`` and the integration tests start one, point the demo project's
connections at ``modbus_port`` and ``opcua_endpoint``, and talk to it like to a
real PLC. Either server can be stopped and started again on the same port to
rehearse a communication outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType

from drivers.sim.enterprise import EnterpriseReceiver
from drivers.sim.modbus_server import ModbusPlantServer
from drivers.sim.opcua_server import OpcUaPlantServer
from drivers.sim.process import TankProcess

log = logging.getLogger(__name__)

WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})
MAX_CATCH_UP_S = 60.0
"""A loop stalled longer than this (a suspended laptop) resumes the plant instead of replaying the gap."""
_STOP_TIMEOUT_S = 5.0


class DemoPlant:
    """A tank process ticking on the running loop, served over Modbus TCP and OPC UA.

    Ports of 0 are replaced by free ones on ``host``; read the real ones from
    ``modbus_port`` and ``opcua_endpoint`` after ``start()``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        modbus_port: int = 0,
        opcua_port: int = 0,
        tick: float = 0.1,
        seed: int | None = None,
        wear_after: float | None = None,
    ) -> None:
        """``wear_after``: plant seconds after which the pump's bearing starts to wear (None: never)."""
        if host in WILDCARD_HOSTS:
            # Both servers accept anonymous writes: never offer them on every interface.
            raise ValueError(f"the demo plant binds one interface, not the wildcard {host!r}")
        if tick <= 0:
            raise ValueError(f"tick must be positive, got {tick}")
        self._tick = tick
        self._process = TankProcess(seed)
        self._modbus = ModbusPlantServer(self._process, host, modbus_port)
        self._opcua = OpcUaPlantServer(self._process, host, opcua_port)
        self.enterprise = EnterpriseReceiver(host)
        """Where the demo's sync endpoint delivers (no enterprise needed)."""
        self._physics: asyncio.Task[None] | None = None
        self._publish_failing = False
        self._wear_after = wear_after

    @property
    def process(self) -> TankProcess:
        """The simulated process, for tests and for scripted scenarios."""
        return self._process

    @property
    def modbus_port(self) -> int:
        """The Modbus TCP port (unit 1); the real one once started."""
        return self._modbus.port

    @property
    def opcua_endpoint(self) -> str:
        """The OPC UA endpoint URL, ``opc.tcp://HOST:PORT/``."""
        return self._opcua.endpoint

    @property
    def modbus_running(self) -> bool:
        """True while the Modbus server listens."""
        return self._modbus.running

    @property
    def opcua_running(self) -> bool:
        """True while the OPC UA server listens."""
        return self._opcua.running

    @property
    def running(self) -> bool:
        """True between ``start()`` and ``stop()``."""
        return self._physics is not None

    async def start(self) -> None:
        """Start both servers and the physics task on the running loop."""
        if self._physics is not None:
            return
        try:
            await self._modbus.start()
            await self._opcua.start()
            await self.enterprise.start()
        except BaseException:
            await self._stop_servers()
            raise
        self._physics = asyncio.create_task(self._run_physics(), name="demo-plant:physics")

    async def stop(self) -> None:
        """Stop the physics task and both servers; safe to call twice."""
        task, self._physics = self._physics, None
        try:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(task, _STOP_TIMEOUT_S)
        finally:
            await self._stop_servers()

    async def stop_modbus(self) -> None:
        """Take the Modbus server down: clients are dropped and new connections refused."""
        await self._modbus.stop()

    async def start_modbus(self) -> None:
        """Bring the Modbus server back on the same port."""
        await self._modbus.start()

    async def stop_opcua(self) -> None:
        """Take the OPC UA server down: sessions are dropped and new connections refused."""
        await self._opcua.stop()

    async def start_opcua(self) -> None:
        """Bring the OPC UA server back on the same endpoint."""
        await self._opcua.start()

    async def __aenter__(self) -> DemoPlant:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def set_bearing_wear(self, wearing: bool, per_second: float | None = None) -> None:
        """Start the bearing wearing out (the Demo menu), or fit a new bearing and reset the trip."""
        if wearing:
            self._process.start_bearing_wear(*(() if per_second is None else (per_second,)))
        else:
            self._process.repair_bearing()

    async def start_surge(self, duration: float | None = None, period: float | None = None) -> None:
        """A pressure surge that floods the demo's alarms (the Demo menu); see ``TankProcess.start_surge``."""
        options = {k: v for k, v in (("duration", duration), ("period", period)) if v is not None}
        self._process.start_surge(**options)

    async def _stop_servers(self) -> None:
        try:
            await self._modbus.stop()
        finally:
            try:
                await self._opcua.stop()
            finally:
                await self.enterprise.stop()

    async def _run_physics(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(self._tick)
            now = loop.time()
            self._process.step(min(now - last, MAX_CATCH_UP_S))
            last = now
            if self._wear_after is not None and self._process.elapsed >= self._wear_after:
                self._wear_after = None  # once: a repaired bearing stays good
                self._process.start_bearing_wear()
            await self._publish_opcua()

    async def _publish_opcua(self) -> None:
        # A failed publish must not stop the physics; log it once, not once per tick.
        try:
            await self._opcua.publish()
        except Exception:
            if not self._publish_failing:
                log.exception("demo plant: publishing to OPC UA failed")
            self._publish_failing = True
        else:
            self._publish_failing = False
