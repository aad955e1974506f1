"""The demo plant: a simulated tank process served over real Modbus TCP and real OPC UA."""

from drivers.sim.plant import DemoPlant
from drivers.sim.process import TankProcess

__all__ = ["DemoPlant", "TankProcess"]
