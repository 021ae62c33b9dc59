"""Thermal/DVFS: sustained cube load heats the die past the threshold and the clock throttles."""

from __future__ import annotations

import math

import pytest
from test_device_programs import load

from firmware.hw.config import device_config, mhz_of
from firmware.hw.device import Device
from firmware.hw.thermal import Thermal
from firmware.hw.units import costs

SIZE = 128  # 528 cycles per mmad: heavy work, few instructions


def test_first_order_model_heats_and_cools_exactly() -> None:
    cfg = device_config()
    t = Thermal(cfg)
    tau = int(cfg.thermal_tau_ticks)
    t.update(tau, {"m": tau})  # fully busy cube for one time constant
    rise = cfg.thermal_gain_c * (1 - math.exp(-1))
    assert t.temp_c == pytest.approx(cfg.ambient_c + rise, rel=1e-12)
    assert t.temp_c < cfg.throttle_on_c and not t.throttled
    assert t.update(tau, {"m": tau}) and t.throttled  # flips on the second time constant
    assert t.clock_mhz(cfg.core_mhz) == cfg.throttle_mhz
    t.update(100 * tau, {})
    assert t.temp_c == pytest.approx(cfg.ambient_c, abs=1e-6) and not t.throttled


def test_sustained_cube_load_throttles_visibly_in_registers() -> None:
    dev = Device(thermal_tau_ticks=20_000.0)  # a small die: heats in tens of microseconds
    load(dev, "cube_loop", SIZE=SIZE)
    rmap = dev.regs.map
    read = lambda path: dev.bar0_read(rmap.register(path).offset, 4)  # noqa: E731
    assert read("thermal.throttle") == 0 and read("thermal.freq") == dev.config.core_mhz
    dev.advance(60_000)
    assert read("thermal.throttle") == 1
    assert read("thermal.freq") == mhz_of(-(-1000 // dev.config.throttle_mhz))
    assert read("thermal.temp") > read("thermal.throttle_temp")
    cycles = costs.cube_cycles(SIZE, SIZE, SIZE, "fp16")
    durations = [s.end - s.start for s in dev.timeline.for_pipe("m")]
    assert durations[0] == cycles  # 1 tick per cycle at 1 GHz
    assert durations[-1] == cycles * 2  # the same work costs twice the time at 500 MHz
    assert dev.regs.field("host_irq.status.thermal") == 1


def test_dvfs_request_sets_the_clock() -> None:
    dev = Device()
    dev.bar0_write(dev.regs.map.register("thermal.dvfs_req").offset, 4, 250)  # host may not: read-only
    assert dev.regs.peek("thermal.freq") == dev.config.core_mhz
    dev.regs.write(dev.regs.map.register("thermal.dvfs_req").address, 250, "firmware")
    assert dev.regs.peek("thermal.freq") == 250 and dev.clock.tpc == 4
