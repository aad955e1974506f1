"""Plausible history for the demo plant, generated in seconds: for trend screenshots, benchmarks and tests.

The simulated tank process is stepped through a day of plant time with the
pump in manual, its speed following the day's demand, heater and valve
setpoints changed by shift and one PLC link outage; every measurement is
written through the history writer as the runtime would.

    python -m tools.demo_history OUT.db [--hours 24] [--step 5]
"""

from __future__ import annotations

import argparse
import math
import random
import time
from pathlib import Path

from drivers.sim.process import TankProcess
from hmi.historian.writer import HistoryWriter
from hmi.model import Reason, Sample

MODBUS_TAGS = ("TANK1.LEVEL", "TANK1.INFLOW", "TANK1.OUTFLOW", "PUMP1.SPEED")
OPCUA_TAGS = ("TANK1.TEMP", "PUMP1.VIBRATION")
OUTAGE = (0.62, 0.655)
"""Share of the generated period during which the PLC's Modbus link is down (about 50 min of a day)."""

# (share of the period, heater %, valve %): the operators' setpoint changes by shift
_SHIFTS = (
    (0.00, 30.0, 50.0),
    (0.21, 42.0, 50.0),
    (0.34, 58.0, 55.0),
    (0.55, 50.0, 55.0),
    (0.72, 36.0, 50.0),
    (0.88, 30.0, 48.0),
)
_DEMAND_RPM = (760.0, 85.0)
"""Pump speed follows the day's demand: mean and amplitude of a daily swing, in rpm."""
_WARM_UP_S = 3600.0
_HEATER_RAMP_PER_S = 0.01
"""% of heater power per second a setpoint change ramps at."""
_VIBRATION_AVERAGING_S = 120.0
"""A vibration transmitter reports a moving RMS, not the raw sensor."""
_WANDER_RPM, _WANDER_TAU_S = 18.0, 1200.0
"""A slow random wander on top of the demand (standard deviation, correlation time)."""


class _Operators:
    """The day's setpoint changes: the pump in manual, its speed following demand, setpoints by shift."""

    def __init__(self, process: TankProcess, seed: int) -> None:
        self._process = process
        self._random = random.Random(seed)
        self._wander = 0.0
        process.auto, process.command = False, True

    def act(self, share: float, hour_angle: float, dt: float) -> None:
        heater = self._process.heater_setpoint
        for start, target, valve in _SHIFTS:
            if share >= start:
                heater, self._process.valve_setpoint = target, valve
        # the heater's power ramps to a new setpoint rather than jumping
        step = _HEATER_RAMP_PER_S * dt
        self._process.heater_setpoint += max(-step, min(step, heater - self._process.heater_setpoint))
        decay = math.exp(-dt / _WANDER_TAU_S)
        self._wander = self._wander * decay + self._random.gauss(0.0, _WANDER_RPM * math.sqrt(1 - decay**2))
        mean, swing = _DEMAND_RPM
        self._process.speed_setpoint = mean + swing * math.sin(hour_angle) + self._wander


def _measurements(process: TankProcess) -> dict[str, float]:
    return {
        "TANK1.LEVEL": process.level,
        "TANK1.INFLOW": process.inflow,
        "TANK1.OUTFLOW": process.outflow,
        "PUMP1.SPEED": process.pump_speed,
        "TANK1.TEMP": process.temperature,
        "PUMP1.VIBRATION": process.vibration,
    }


def generate_history(
    path: Path, hours: float = 24.0, step: float = 5.0, end: float | None = None, seed: int = 7
) -> int:
    """Write ``hours`` of demo history ending at ``end`` (default now) into ``path``; returns samples written.

    ``step`` is the sampling period in plant seconds: 5 s gives ~100k samples a day, in a few seconds.
    """
    end = time.time() if end is None else end
    start = end - hours * 3600.0
    process = TankProcess(seed=seed)
    operators = _Operators(process, seed)
    for _ in range(int(_WARM_UP_S / step)):  # settle the start-up transient before recording
        operators.act(0.0, 2 * math.pi * ((start / 3600.0) % 24.0 - 9.0) / 24.0, step)
        process.step(step)
    writer = HistoryWriter(path, commit_interval=0.5)
    writer.start()
    written = 0
    steps = int(hours * 3600.0 / step)
    link_was_down = False
    smoothing = 1.0 - math.exp(-step / _VIBRATION_AVERAGING_S)
    vibration = process.vibration
    try:
        for index in range(steps + 1):
            share = index / steps
            ts = start + index * step
            operators.act(share, 2 * math.pi * ((ts / 3600.0) % 24.0 - 9.0) / 24.0, step)
            process.step(step)
            link_down = OUTAGE[0] <= share < OUTAGE[1]
            measured = _measurements(process)
            vibration += (measured["PUMP1.VIBRATION"] - vibration) * smoothing
            measured["PUMP1.VIBRATION"] = vibration
            for tag, value in measured.items():
                if link_down and tag in MODBUS_TAGS:
                    if not link_was_down:  # the runtime stores the transition, not every failed poll
                        writer.append(tag, Sample.bad(Reason.COMM_FAILURE, ts=ts))
                        written += 1
                    continue
                writer.append(tag, Sample.good(round(value, 3), ts))
                written += 1
            link_was_down = link_down
    finally:
        writer.stop()
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line: write demo history into a file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--step", type=float, default=5.0, help="sampling period, plant seconds")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    count = generate_history(args.path, args.hours, args.step)
    print(f"{count} samples in {time.perf_counter() - started:.1f} s -> {args.path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
