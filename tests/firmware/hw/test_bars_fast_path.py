"""BAR0's fast path (plain registers straight from the host access plan) gives what the full path gives.

Two devices run the same host program: one as it is (the plan and `host_latency`'s idle
path in use), one forced through the general paths (an observer on the register file
empties the plan; `host_latency` replaced by `advance`). Values read, register state,
ticks, scheduled events, thermal state and the bus observer's events must be the same.
"""

from __future__ import annotations

from typing import Any

from test_device_programs import load

from driver.bus import Bus, BusAccess
from driver.transport import InProcess
from firmware.hw.device import Device
from firmware.hw.regmap import regmap

RMAP = regmap()


def _asleep_device(general: bool) -> Device:
    """A device whose firmware sleeps in wfi; `general`: every host access takes the general paths."""
    dev = Device()
    load(dev, "watchdog", TIMEOUT=1 << 30, PETS=3, SLEEP=1)
    dev.advance(20_000)
    assert dev.asleep
    if general:
        dev.regs.observe(lambda a: None)
        assert not dev.regs.host_reads and not dev.regs.host_writes
        dev.host_latency = lambda ticks: dev.advance(ticks)  # type: ignore[method-assign]
    return dev


def _outcome(dev: Device, got: list[int], events: list[BusAccess]) -> tuple[Any, ...]:
    return (got, dev.now, dev.regs.snapshot(), dev.clock.state(), dev.thermal.state(), dev.hung,
            dev.halted, [(*e[:6], e.site) for e in events])


def _every_offset_and_width(general: bool) -> tuple[Any, ...]:
    """Write a pattern to every BAR0 register at every width and lane, read it back; an injected
    hang falls due in the middle."""
    dev = _asleep_device(general)
    bus = Bus(InProcess(dev))
    events: list[BusAccess] = []
    bus.observe(events.append)
    got: list[int] = []
    skip = {"ctrl.soft_reset", "ctrl.run"}  # (they would restart the firmware; tested elsewhere)
    for n, reg in enumerate(r for r in RMAP.registers if r.path not in skip):
        if n == 40:
            dev.inject("hang", at=dev.now + 1_234)
        for width in (4, 2, 1):
            for lane in range(0, 4, width):
                at = reg.offset + lane
                pattern = (0xA5C3_5A3C ^ (at * 0x0101_0101)) & ((1 << 8 * width) - 1)
                bus.write(at, width, pattern)
                got.append(bus.read(at, width))
    return _outcome(dev, got, events)


def test_every_bar0_offset_and_width_matches_the_general_path() -> None:
    fast, general = _every_offset_and_width(False), _every_offset_and_width(True)
    assert fast[0] == general[0]  # values read
    assert fast[1] == general[1]  # the tick
    assert fast[2] == general[2]  # every register
    assert fast[3:6] == general[3:6]  # scheduled events, thermal state, the hang fired
    assert fast[5]
    assert fast[7] == general[7]  # what the bus observer saw, with ticks and call sites


def _scratch_loop(general: bool) -> tuple[Any, ...]:
    """The benchmark's loop (write+read pairs on a scratch register), with events falling due on the way."""
    dev = _asleep_device(general)
    bus = Bus(InProcess(dev))
    events: list[BusAccess] = []
    scratch = RMAP.register("version.scratch[0]").offset
    temp = RMAP.register("thermal.temp").offset
    dev.thermal.temp_c = 47.3  # the die cools during the loop: thermal updates fall due
    got: list[int] = []
    for i in range(2_000):
        if i == 1_000:
            bus.observe(events.append)
        if i == 1_500:
            dev.inject("hang", at=dev.now + 777)
        bus.write32(scratch, i * 7)
        got.append(bus.read32(scratch))
        if i % 100 == 0:
            got.append(bus.read32(temp))
    return _outcome(dev, got, events)


def test_the_scratch_loop_matches_the_general_path_tick_for_tick() -> None:
    fast, general = _scratch_loop(False), _scratch_loop(True)
    assert fast == general
    assert fast[5]  # the hang fired at its tick
    assert 25.0 < fast[4][0] < 47.3  # the die cooled, and not all the way


def test_plain_registers_skip_the_register_file_and_others_do_not() -> None:
    dev = _asleep_device(False)
    calls: list[tuple[str, Any]] = []
    read, write = dev.regs.read, dev.regs.write
    dev.regs.read = lambda key, *a, **k: (calls.append(("read", key)), read(key, *a, **k))[1]  # type: ignore
    dev.regs.write = lambda key, *a, **k: (calls.append(("write", key)), write(key, *a, **k))[1]  # type: ignore
    scratch = RMAP.register("version.scratch[0]").offset
    status = RMAP.register("host_irq.status").offset
    t0 = dev.now
    dev.bar0_write(scratch, 4, 0x1234_5678)
    assert dev.bar0_read(scratch, 4) == 0x1234_5678
    assert calls == []  # straight from the plan
    assert dev.now == t0 + 2 * dev.config.bar0_latency_ticks  # and still the latency of each
    dev.bar0_write(scratch + 2, 2, 0xBEEF)  # narrow: the full path
    dev.bar0_write(status, 4, 1)  # W1C: the full path
    assert [c for c in calls if isinstance(c[1], int)] == [("write", scratch + 2), ("write", status)]
    assert dev.bar0_read(scratch, 4) == 0xBEEF_5678


def test_a_hook_attached_later_runs_on_host_writes() -> None:
    dev = _asleep_device(False)
    scratch = RMAP.register("version.scratch[2]")
    assert scratch.offset in dev.regs.host_writes
    seen: list[int] = []
    dev.regs.on_write(scratch.path, lambda a: seen.append(a.new))
    dev.regs.on_read(scratch.path, lambda a: seen.append(-1))
    dev.bar0_write(scratch.offset, 4, 77)
    dev.bar0_read(scratch.offset, 4)
    assert seen == [77, -1]


def test_register_observers_see_host_accesses_with_their_origin() -> None:
    dev = _asleep_device(False)
    scratch = RMAP.register("version.scratch[1]")
    seen = []
    fn = dev.regs.observe(seen.append)
    dev.bar0_write(scratch.offset, 4, 5, origin="host.py:3")
    dev.bar0_read(scratch.offset, 4, origin="host.py:4")
    dev.regs.unobserve(fn)
    dev.bar0_write(scratch.offset, 4, 6)
    assert [(a.side, a.kind, a.old, a.new, a.origin) for a in seen] == [
        ("host", "write", 0, 5, "host.py:3"), ("host", "change", 0, 5, "host.py:3"),
        ("host", "read", 5, 5, "host.py:4")]
    assert dev.regs.peek(scratch.path) == 6


def test_firmware_only_and_unmapped_offsets_read_zero_and_ignore_writes() -> None:
    dev = _asleep_device(False)
    pet = RMAP.register("wdog.pet")  # firmware only
    before = dev.regs.snapshot()
    for at in (pet.offset, 0x0FF0, 0x0FF1):
        for width in (4, 2, 1):
            if at % width:
                continue
            dev.bar0_write(at, width, 0xFFFF_FFFF & ((1 << 8 * width) - 1))
            assert dev.bar0_read(at, width) == 0
    assert dev.regs.snapshot() == before
