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
        self._decay: dict[int, float] = {}  # exp(-dt / tau) by dt: host accesses repeat the same dt
        self.published: tuple | None = None  # what `publish` last brought in line (see there)
        self.slots: tuple | None = None  # the register file and the registers `publish` reads
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
        return self.step(dt, self.activity(dt, busy_ticks))

    def step(self, dt: int, activity: float) -> bool:
        """Advance `dt` ticks at a constant `activity`; True when the throttle flips."""
        if dt <= 0:
            return False
        c = self.config
        target = c.ambient_c + c.thermal_gain_c * activity
        decay = self._decay.get(dt)
        if decay is None:
            if len(self._decay) >= 256:
                self._decay.clear()
            decay = self._decay[dt] = math.exp(-dt / c.thermal_tau_ticks)
        self.temp_c = target + (self.temp_c - target) * decay
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
    """Bring the thermal registers and the clock in line with the model (after each update).

    Everything this reads is compared with what it left behind last time; when nothing
    changed, bringing it in line again would change nothing. The temperature enters as the
    register's tenths of a degree, not the float: a die cooling by less than 0.05 °C since the
    last update (most updates) publishes nothing new.
    """
    t = dev.thermal
    slots = t.slots
    if slots is None or slots[0] is not dev.regs:
        regs = dev.regs
        slots = t.slots = (regs, regs.slot("thermal.throttle_temp"), regs.slot("thermal.dvfs_req"),
                           regs.slot("thermal.temp"), regs.slot("thermal.throttle"))
    _, limit, dvfs, temp, throttle = slots
    tenths = max(0, round(t.temp_c * 10))
    seen = (tenths, t.throttled, t.throttle_on_c, dev.clock.tpc, limit.value, dvfs.value, temp.value,
            throttle.value)
    if seen == t.published:
        return
    t.throttle_on_c = limit.value / 10
    dev.reg_set("thermal.temp", tenths, changed_only=True)
    dev.reg_set("thermal.throttle", int(t.throttled), changed_only=True)
    dev.set_clock_mhz(t.clock_mhz(dvfs.value))
    t.published = (tenths, t.throttled, t.throttle_on_c, dev.clock.tpc, limit.value, dvfs.value,
                   temp.value, throttle.value)
