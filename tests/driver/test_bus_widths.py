"""8/16-bit BAR0 accesses are traced and observed with their true width, offset and bytes, end to end."""

from __future__ import annotations

import inspect

from driver.bus import Bus, BusAccess
from driver.transport import InProcess
from firmware.hw.regfile import Access
from firmware.hw.regmap import regmap

RMAP = regmap()
SCRATCH = RMAP.register("version.scratch[2]")
STATUS = RMAP.register("host_irq.status")


def _here() -> int:
    return inspect.currentframe().f_back.f_lineno  # type: ignore[union-attr]


def test_narrow_accesses_reach_both_observers_with_their_width() -> None:
    t = InProcess()
    bus = Bus(t)
    events: list[BusAccess] = []
    accesses: list[Access] = []
    bus.observe(events.append)
    t.device.regs.observe(accesses.append)
    bus.write32(SCRATCH.offset, 0x1122_3344)
    bus.write8(SCRATCH.offset + 1, 0xAB); line = _here()  # noqa: E702
    bus.write16(SCRATCH.offset + 2, 0xCDEF)
    assert bus.read8(SCRATCH.offset + 3) == 0xCD
    assert bus.read16(SCRATCH.offset) == 0xAB44
    assert bus.read32(SCRATCH.offset) == 0xCDEF_AB44
    assert [(e.kind, e.offset - SCRATCH.offset, e.width, e.value) for e in events] == [
        ("write", 0, 4, 0x1122_3344), ("write", 1, 1, 0xAB), ("write", 2, 2, 0xCDEF),
        ("read", 3, 1, 0xCD), ("read", 0, 2, 0xAB44), ("read", 0, 4, 0xCDEF_AB44)]
    # The register file (what the MMIO trace and watchpoints see) reports the same widths.
    host = [(a.kind, a.offset - SCRATCH.offset, a.width, a.new) for a in accesses if a.kind != "change"]
    assert host == [(e.kind, e.offset - SCRATCH.offset, 8 * e.width, e.value) for e in events]
    # Decoded lazily, in the bytes' own lanes.
    tick = events[1].tick
    name = "test_narrow_accesses_reach_both_observers_with_their_width"
    assert str(events[1]) == f"{tick:>12} write version.scratch[2] = 0xab  ({__file__}:{line} in {name})"
    assert [(f.field, f.value) for f in events[2].fields()] == [("value", 0xCDEF_0000)]
    assert [(f.field, f.value) for f in accesses[2].fields()] == [("value", 0x0000_AB00)]


def test_a_byte_write_to_w1c_clears_only_that_byte_and_is_traced_as_a_byte() -> None:
    t = InProcess()
    bus = Bus(t)
    t.device.regs.poke(STATUS.path, STATUS.defined_mask)
    events: list[BusAccess] = []
    bus.observe(events.append)
    bus.write8(STATUS.offset, 0x01)
    assert t.device.regs.peek(STATUS.path) == STATUS.defined_mask & ~0x01
    assert [(e.width, e.value) for e in events] == [(1, 0x01)]
    assert [(f.field, f.value) for f in events[0].fields() if f.value] == [("cq0", 1)]


def test_every_width_costs_the_same_latency() -> None:
    t = InProcess()
    bus = Bus(t)
    latency = t.device.config.bar0_latency_ticks
    t0 = bus.now()
    bus.write8(SCRATCH.offset + 3, 1)
    bus.read16(SCRATCH.offset + 2)
    bus.write32(SCRATCH.offset, 2)
    bus.read32(SCRATCH.offset)
    assert bus.now() == t0 + 4 * latency
