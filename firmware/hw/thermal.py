"""Die temperature and clock throttling: a first-order thermal model.

Between two updates the activity (weighted busy fraction of the pipes and the core) is
taken as constant, so the temperature follows the exact solution of
dT/dt = (ambient + gain * activity - T) / tau over the interval: an idle stretch of any
length costs one update. Above the threshold (thermal.throttle_temp, 65 °C at reset) the
clock is capped at `throttle_mhz` until the die cools `throttle_hysteresis_c` below it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

from firmware.hw.config import DeviceConfig

if TYPE_CHECKING:
    from firmware.hw.device import Device


class Thermal:
    """Temperature state and the throttle decision."""

    def __init__(self, config: DeviceConfig) -> None:
        self.config = config
        self.weights = dict(config.activity_weights)
        self.reset()

    def reset(self) -> None:
        self.temp_c = self.config.ambient_c
        self.throttled = False
        self.throttle_on_c = self.config.throttle_on_c  # the device sets it from thermal.throttle_temp

    def activity(self, dt: int, busy_ticks: Mapping[str, int]) -> float:
        """Weighted busy fraction over `dt` ticks (each pipe counts at most fully busy)."""
        if dt <= 0:
            return 0.0
        return sum(self.weights.get(p, 0.0) * min(1.0, t / dt) for p, t in busy_ticks.items())

    def update(self, dt: int, busy_ticks: Mapping[str, int]) -> bool:
        """Advance `dt` ticks with the given busy ticks per pipe; True when the throttle flips."""
        if dt <= 0:
            return False
        c = self.config
        target = c.ambient_c + c.thermal_gain_c * self.activity(dt, busy_ticks)
        self.temp_c = target + (self.temp_c - target) * math.exp(-dt / c.thermal_tau_ticks)
        was = self.throttled
        if not was and self.temp_c > self.throttle_on_c:
            self.throttled = True
        elif was and self.temp_c < self.throttle_on_c - c.throttle_hysteresis_c:
            self.throttled = False
        return was != self.throttled

    def clock_mhz(self, requested_mhz: int) -> int:
        """The clock the core and units run at, given the DVFS request."""
        c = self.config
        mhz = max(c.min_mhz, min(requested_mhz, c.core_mhz))
        return min(mhz, c.throttle_mhz) if self.throttled else mhz

    def state(self) -> tuple[float, bool]:
        return self.temp_c, self.throttled

    def load_state(self, state: tuple[float, bool]) -> None:
        self.temp_c, self.throttled = state


def attach_thermal(dev: Device) -> None:
    """The thermal block: the DVFS request and the throttle threshold take effect when written."""
    dev.on_reg_write("thermal.dvfs_req", lambda v, s, o: publish(dev))
    dev.on_reg_write("thermal.throttle_temp", lambda v, s, o: publish(dev))


def publish(dev: Device) -> None:
    """Bring the thermal registers and the clock in line with the model (after each update)."""
    t = dev.thermal
    t.throttle_on_c = dev.regs.peek("thermal.throttle_temp") / 10
    dev.reg_set("thermal.temp", max(0, round(t.temp_c * 10)), changed_only=True)
    dev.reg_set("thermal.throttle", int(t.throttled), changed_only=True)
    dev.set_clock_mhz(t.clock_mhz(dev.regs.peek("thermal.dvfs_req")))
