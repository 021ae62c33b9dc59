"""Device configurations: the one table of sizes, clocks, latencies and model constants.

Region sizes come from `isa/memmap.tbl` (the configuration name selects the column);
everything else a device model needs to be tuned (clock frequencies, host access
latencies, queue depths, thermal constants) is a field here, so that the timing of a
run is a function of the configuration name and the inputs, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from isa.errors import NpuError
from isa.memmap import CONFIGS, Region, memory_map

REFERENCE_MHZ = 1000  # one tick is one nanosecond of the 1 GHz reference


@dataclass(frozen=True)
class DeviceConfig:
    """Everything configurable about one device, besides its register map."""

    name: str
    regions: tuple[Region, ...] = field(repr=False)
    core_mhz: int = 1000  # nominal clock of the control core and the units
    throttle_mhz: int = 500  # clock cap while the die is above `throttle_on_c`
    min_mhz: int = 100  # lowest clock a DVFS request can select
    bar0_latency_ticks: int = 500  # one host register access (a PCIe round trip)
    bar2_latency_ticks: int = 500  # fixed part of one BAR2 bulk transfer
    bar2_bytes_per_tick: int = 16  # BAR2 bandwidth (16 B/ns = 16 GB/s)
    pipe_depth: int = 16  # entries a pipe queue holds; issuing into a full queue stalls the core
    max_slice_ticks: int = 100_000  # longest stretch the core runs between device bookkeeping
    timeline_capacity: int = 1 << 20  # records kept by the pipe timeline (oldest dropped)
    strict_races: bool = False  # a race is a device error instead of a warning
    max_reports: int = 10_000  # races and device errors kept in lists (later ones only counted)
    # Thermal: first-order model dT/dt = (ambient + gain * activity - T) / tau.
    ambient_c: float = 25.0  # also the die temperature at reset
    thermal_gain_c: float = 60.0  # steady-state rise at activity 1.0 (the cube busy all the time)
    thermal_tau_ticks: float = 200_000.0
    throttle_on_c: float = 65.0  # default threshold; on a device, thermal.throttle_temp decides
    throttle_hysteresis_c: float = 5.0  # the clock comes back this far below the threshold
    thermal_update_ticks: int = 10_000  # the model is fed at least this much time at once (tau / 20)
    # Activity weight of each pipe being busy (and the core running) for the thermal model.
    activity_weights: tuple[tuple[str, float], ...] = (
        ("s", 0.1), ("mte1", 0.2), ("mte2", 0.3), ("m", 1.0), ("v", 0.4), ("mte3", 0.3))
    cq_entry_bytes: int = 16  # size of a completion entry (used to corrupt one on injection)

    def region(self, name: str) -> Region:
        for r in self.regions:
            if r.name == name:
                return r
        raise NpuError(f"configuration '{self.name}' has no memory region '{name}'")

    @property
    def mmio(self) -> Region:
        return self.region("mmio")

    @property
    def hbm(self) -> Region:
        return self.region("hbm")


def device_config(name: str = "default", **overrides: object) -> DeviceConfig:
    """The named configuration, with any field overridden (tests shorten constants this way)."""
    if name not in CONFIGS:
        raise NpuError(f"unknown device configuration '{name}' (one of {', '.join(CONFIGS)})")
    base = DeviceConfig(name=name, regions=memory_map(name))
    unknown = sorted(set(overrides) - set(DeviceConfig.__dataclass_fields__))
    if unknown:
        raise NpuError(f"unknown device configuration field '{unknown[0]}'")
    return replace(base, **overrides) if overrides else base


def ticks_per_cycle(mhz: int) -> int:
    """Whole ticks per cycle of a clock of `mhz`: the fastest clock not above the request."""
    mhz = max(1, mhz)
    return max(1, -(-REFERENCE_MHZ // mhz))


def mhz_of(tpc: int) -> int:
    """The frequency a whole number of ticks per cycle gives."""
    return REFERENCE_MHZ // tpc
