"""Physics and PLC program of the demo plant: one tank, a fill pump, a drain valve and a heater.

Pure Python without IO or clocks: the caller advances plant time with ``step(dt)``,
so tests can run minutes of plant time in milliseconds, and a seed replays the
same sensor noise.
"""

from __future__ import annotations

import math
import random

SPEED_MAX_RPM = 1500.0
PUMP_FLOW_AT_MAX_SPEED = 40.0
"""m³/h delivered at full speed; flow is proportional to speed."""
PUMP_RAMP_RPM_PER_S = 600.0
VALVE_FLOW_COEFFICIENT = 50.0
"""m³/h through the fully open valve with a full tank; flow goes with the square root of the level."""
TANK_VOLUME_M3 = 0.28
"""Small on purpose: with the default setpoints one fill-and-drain cycle lasts about a minute and a half."""

AUTO_START_BELOW = 20.0
AUTO_STOP_ABOVE = 92.0

AMBIENT_C = 20.0
HEATER_RISE_C = 55.0
"""How far above ambient full heater power holds the tank when no cold water comes in."""
INFLOW_COOLING_C = 6.0
"""How far the cold feed at full pump flow pulls the tank temperature down."""
TEMPERATURE_TIME_CONSTANT_S = 60.0

VIBRATION_IDLE_MM_S = 1.0
VIBRATION_AT_MAX_SPEED_MM_S = 5.0
WEAR_VIBRATION_MM_S = 12.0
"""Vibration a fully worn bearing adds at full speed (it grows with the square of the speed)."""
TRIP_VIBRATION_MM_S = 11.0
"""The PLC's protection trips the pump above this vibration (latched until the bearing is repaired)."""
BEARING_RISE_C = 25.0
"""A healthy bearing's temperature above ambient at full speed."""
WEAR_BEARING_RISE_C = 30.0
"""What a fully worn bearing adds at full speed."""
BEARING_TIME_CONSTANT_S = 20.0
DEFAULT_WEAR_RATE = 1.0 / 600.0
"""Bearing wear per second once it starts: fully worn in ten minutes."""

SURGE_DURATION_S = 40.0
SURGE_PERIOD_S = 8.0
"""A surge (the Demo menu's alarm flood) lasts this long, its readings high for half of each period."""
SURGE_LEVEL = 97.0
SURGE_INFLOW = 48.0
SURGE_OUTFLOW = 58.0
"""What the level transmitter and the two flow meters read at a surge's peaks (%, m³/h, m³/h)."""

MAX_SUBSTEP_S = 0.1
"""Long steps are split so that the on/off control sees every crossing of its thresholds."""

DEFAULT_SPEED_SETPOINT = 1200.0
DEFAULT_VALVE_SETPOINT = 40.0
DEFAULT_HEATER_SETPOINT = 35.0


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def _approach(value: float, target: float, max_change: float) -> float:
    """Move ``value`` toward ``target`` by at most ``max_change``."""
    return value + _clamp(target - value, -max_change, max_change)


class TankProcess:
    """A tank filled by a pump and drained through a valve, with the PLC program that runs the pump.

    Operator inputs are ``auto``, ``command`` and the three setpoints (clamped to
    their ranges on assignment). Everything else is a measurement, refreshed by
    ``step`` with a little sensor noise on top of the true state.

    In auto the program starts the pump below 20 % and stops it above 92 %; in
    manual ``command`` starts and stops it.
    """

    def __init__(self, seed: int | None = None) -> None:
        self._random = random.Random(seed)
        self.auto = True
        self.command = True
        self._speed_setpoint = DEFAULT_SPEED_SETPOINT
        self._valve_setpoint = DEFAULT_VALVE_SETPOINT
        self._heater_setpoint = DEFAULT_HEATER_SETPOINT
        # Mid-level and filling, so that a short demo sees every value move at once.
        self._level = 60.0
        self._temperature = 36.0
        self._pump_running = True
        self._pump_speed = DEFAULT_SPEED_SETPOINT
        self.bearing_wear = 0.0
        """0 (new) .. 1 (worn out): adds vibration and bearing heat."""
        self.wear_rate = 0.0
        """Wear per second; 0 until ``start_bearing_wear``."""
        self.tripped = False
        """The vibration protection stopped the pump (latched)."""
        self._bearing_temperature = AMBIENT_C + BEARING_RISE_C * (DEFAULT_SPEED_SETPOINT / SPEED_MAX_RPM) ** 2
        self.elapsed = 0.0
        """Plant seconds stepped so far."""
        self._surge_left = 0.0
        self._surge_period = SURGE_PERIOD_S
        self._surge_elapsed = 0.0
        self._measure()

    # -- operator inputs ------------------------------------------------------------

    @property
    def speed_setpoint(self) -> float:
        """Pump speed setpoint, rpm (0–1500)."""
        return self._speed_setpoint

    @speed_setpoint.setter
    def speed_setpoint(self, rpm: float) -> None:
        self._speed_setpoint = _clamp(float(rpm), 0.0, SPEED_MAX_RPM)

    @property
    def valve_setpoint(self) -> float:
        """Drain valve opening setpoint, % (0–100)."""
        return self._valve_setpoint

    @valve_setpoint.setter
    def valve_setpoint(self, percent: float) -> None:
        self._valve_setpoint = _clamp(float(percent), 0.0, 100.0)

    @property
    def heater_setpoint(self) -> float:
        """Heater power setpoint, % (0–100)."""
        return self._heater_setpoint

    @heater_setpoint.setter
    def heater_setpoint(self, percent: float) -> None:
        self._heater_setpoint = _clamp(float(percent), 0.0, 100.0)

    # -- measurements ---------------------------------------------------------------

    @property
    def level(self) -> float:
        """Tank level, % (0–100)."""
        return self._level_measured

    @property
    def inflow(self) -> float:
        """Pump discharge flow into the tank, m³/h."""
        return self._inflow_measured

    @property
    def outflow(self) -> float:
        """Flow out through the drain valve, m³/h."""
        return self._outflow_measured

    @property
    def temperature(self) -> float:
        """Tank temperature, °C."""
        return self._temperature_measured

    @property
    def pump_speed(self) -> float:
        """Pump actual speed, rpm."""
        return self._pump_speed

    @property
    def pump_running(self) -> bool:
        """True while the PLC program drives the pump."""
        return self._pump_running

    @property
    def vibration(self) -> float:
        """Pump bearing vibration velocity, mm/s."""
        return self._vibration_measured

    @property
    def bearing_temperature(self) -> float:
        """Pump bearing temperature, °C."""
        return self._bearing_measured

    # -- degradation ----------------------------------------------------------------

    def start_bearing_wear(self, per_second: float = DEFAULT_WEAR_RATE) -> None:
        """The bearing starts to wear: vibration rises and its temperature drifts up."""
        self.wear_rate = max(0.0, float(per_second))

    def repair_bearing(self) -> None:
        """A new bearing: no wear, the trip reset."""
        self.bearing_wear, self.wear_rate, self.tripped = 0.0, 0.0, False

    @property
    def surging(self) -> bool:
        """True while a surge shakes the instruments (see :meth:`start_surge`)."""
        return self._surge_left > 0

    def start_surge(self, duration: float = SURGE_DURATION_S, period: float = SURGE_PERIOD_S) -> None:
        """A pressure surge: the level and flow readings swing high and back every ``period`` seconds.

        The PLC program keeps acting on the true level; only the instruments read the surge, so an
        alarm flood can be shown without emptying or overfilling the tank.
        """
        if duration <= 0 or period <= 0:
            raise ValueError(f"a surge needs a positive duration and period, not {duration!r}, {period!r}")
        self._surge_left, self._surge_period, self._surge_elapsed = float(duration), float(period), 0.0
        self._measure()

    # -- time -----------------------------------------------------------------------

    def step(self, dt: float) -> None:
        """Advance the plant by ``dt`` seconds and take new measurements."""
        if dt < 0:
            raise ValueError(f"cannot step back in time (dt={dt})")
        remaining = dt
        while remaining > 1e-9:
            substep = min(remaining, MAX_SUBSTEP_S)
            self._advance(substep)
            remaining -= substep
        self.elapsed += dt
        if self._surge_left > 0:
            self._surge_left = max(0.0, self._surge_left - dt)
            self._surge_elapsed += dt
        self._measure()

    def _advance(self, dt: float) -> None:
        self.bearing_wear = min(1.0, self.bearing_wear + self.wear_rate * dt)
        if self._pump_running and self._true_vibration() > TRIP_VIBRATION_MM_S:
            self.tripped = True
        self._scan_plc_program()
        target_speed = self._speed_setpoint if self._pump_running else 0.0
        self._pump_speed = _approach(self._pump_speed, target_speed, PUMP_RAMP_RPM_PER_S * dt)
        inflow, outflow = self._true_inflow(), self._true_outflow()
        level_change = (inflow - outflow) * dt / 3600.0 / TANK_VOLUME_M3 * 100.0
        self._level = _clamp(self._level + level_change, 0.0, 100.0)
        heated_to = (
            AMBIENT_C
            + HEATER_RISE_C * self._heater_setpoint / 100.0
            - INFLOW_COOLING_C * inflow / PUMP_FLOW_AT_MAX_SPEED
        )
        lag = 1.0 - math.exp(-dt / TEMPERATURE_TIME_CONSTANT_S)
        self._temperature += (heated_to - self._temperature) * lag
        share = self._pump_speed / SPEED_MAX_RPM
        bearing_to = AMBIENT_C + BEARING_RISE_C * share**2 + WEAR_BEARING_RISE_C * self.bearing_wear * share
        self._bearing_temperature += (bearing_to - self._bearing_temperature) * (
            1.0 - math.exp(-dt / BEARING_TIME_CONSTANT_S)
        )

    def _scan_plc_program(self) -> None:
        if self.tripped:  # the protection overrides auto and manual alike
            self._pump_running = False
            self.command = False
            return
        if self.auto:
            if self._level < AUTO_START_BELOW:
                self._pump_running = True
            elif self._level > AUTO_STOP_ABOVE:
                self._pump_running = False
            # The command tracks the pump in auto, so that switching to manual leaves it as it is.
            self.command = self._pump_running
        else:
            self._pump_running = self.command

    def _true_inflow(self) -> float:
        return PUMP_FLOW_AT_MAX_SPEED * self._pump_speed / SPEED_MAX_RPM

    def _true_outflow(self) -> float:
        opening = self._valve_setpoint / 100.0
        return VALVE_FLOW_COEFFICIENT * opening * math.sqrt(self._level / 100.0)

    def _measure(self) -> None:
        noise = self._random.gauss
        self._level_measured = _clamp(self._level + noise(0.0, 0.02), 0.0, 100.0)
        self._inflow_measured = self._flow_meter(self._true_inflow(), noise(0.0, 0.25))
        self._outflow_measured = self._flow_meter(self._true_outflow(), noise(0.0, 0.2))
        self._temperature_measured = self._temperature + noise(0.0, 0.05)
        self._vibration_measured = max(0.1, self._true_vibration() + noise(0.0, 0.15))
        self._bearing_measured = self._bearing_temperature + noise(0.0, 0.05)
        if self._surge_left > 0 and self._surge_elapsed % self._surge_period < self._surge_period / 2:
            self._level_measured = max(self._level_measured, SURGE_LEVEL)
            self._inflow_measured = max(self._inflow_measured, SURGE_INFLOW)
            self._outflow_measured = max(self._outflow_measured, SURGE_OUTFLOW)

    def _true_vibration(self) -> float:
        share = self._pump_speed / SPEED_MAX_RPM
        healthy = VIBRATION_IDLE_MM_S + (VIBRATION_AT_MAX_SPEED_MM_S - VIBRATION_IDLE_MM_S) * share**2
        return healthy + WEAR_VIBRATION_MM_S * self.bearing_wear * share**2

    @staticmethod
    def _flow_meter(true_flow: float, noise: float) -> float:
        # Like a real meter, a low-flow cut-off shows a clean zero instead of noise around it.
        if true_flow < 0.1:
            return 0.0
        return max(0.0, true_flow + noise)
