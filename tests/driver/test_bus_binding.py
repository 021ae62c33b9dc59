"""The bus's `read`/`write` are rebound as observers come and go, and say what the methods they stand for say.

With no observer an in-process bus hands out the device's own access functions; with
observers, closures that build each event. Either must give what `Bus.read`/`Bus.write`
(the reference, still the class's methods) give: the same values, device state, events,
decoded registers and fields, and the same text when a trace is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from driver.bus import Bus, BusAccess
from driver.transport import InProcess
from firmware.hw.regmap import regmap

RMAP = regmap()
SCRATCH = RMAP.register("version.scratch[1]").offset
SKIP = {"ctrl.soft_reset", "ctrl.run"}  # (they would restart the device; the bring-up tests cover them)


def _accesses(read: Callable[..., int], write: Callable[..., None]) -> list[int]:
    """Every BAR0 register at every width and byte lane: write a pattern, read it back.

    One call line for every variant, so that the events' call sites are the same."""
    got: list[int] = []
    for reg in RMAP.registers:
        if reg.path in SKIP:
            continue
        for width in (4, 2, 1):
            for lane in range(0, 4, width):
                at = reg.offset + lane
                write(at, width, (0x5AC3_A53C ^ (at * 0x0103_0507)) & ((1 << 8 * width) - 1))
                got.append(read(at, width))
    return got


def _run(variant: str) -> tuple[list[int], list[BusAccess], tuple[Any, ...]]:
    bus = Bus(InProcess())
    events: list[BusAccess] = []
    if variant != "direct":
        bus.observe(events.append)
    if variant == "methods":
        got = _accesses(Bus.read.__get__(bus), Bus.write.__get__(bus))
    else:
        got = _accesses(bus.read, bus.write)
    dev = bus.transport.device  # type: ignore[attr-defined]
    return got, events, (dev.now, dev.regs.snapshot(), dev.clock.state(), dev.thermal.state())


def test_bound_accesses_match_the_methods_over_every_offset_and_width() -> None:
    got, events, state = _run("methods")
    traced_got, traced, traced_state = _run("traced")
    direct_got, none, direct_state = _run("direct")
    assert got == traced_got == direct_got
    assert state == traced_state == direct_state
    assert none == []
    assert len(events) == 2 * len(got)
    assert traced == events  # kind, side, offset, width, value, tick, call site
    assert [str(e) for e in traced] == [str(e) for e in events]  # the trace as shown
    decoded = [(e.register, e.fields(), e.site) for e in events]
    assert [(e.register, e.fields(), e.site) for e in traced] == decoded
    assert all(e.code is not None and e.code.co_name == "_accesses" for e in traced)
    shown = str(traced[0])
    assert " write id.device_id = 0x" in shown and "_accesses)" in shown


def test_an_unobserved_in_process_bus_hands_out_the_devices_functions() -> None:
    transport = InProcess()
    bus = Bus(transport)
    assert bus.read is transport.bar0_read and bus.write is transport.bar0_write
    seen: list[BusAccess] = []
    fn = bus.observe(seen.append)
    assert bus.read is not transport.bar0_read
    bus.write(SCRATCH, 4, 7)
    assert bus.read(SCRATCH) == 7
    bus.unobserve(fn)
    assert bus.read is transport.bar0_read and bus.write is transport.bar0_write
    bus.write(SCRATCH, 4, 8)
    assert bus.read32(SCRATCH) == 8
    assert [(e.kind, e.value) for e in seen] == [("write", 7), ("read", 7)]


def test_an_observer_may_detach_itself_inside_an_access() -> None:
    bus = Bus(InProcess())
    seen: list[BusAccess] = []

    def once(event: BusAccess) -> None:
        seen.append(event)
        bus.unobserve(once)

    bus.observe(once)
    write = bus.write  # (taken while observed: it keeps reading the bus's observers)
    write(SCRATCH, 4, 1)
    write(SCRATCH, 4, 2)
    bus.read(SCRATCH)
    assert [e.value for e in seen] == [1]
    assert not bus.observed


class Narrow:
    """A transport as the protocol requires it, no more: no default width, no `direct_bar0`."""

    def __init__(self) -> None:
        self.regs: dict[int, int] = {}
        self.calls: list[tuple[Any, ...]] = []
        self.tick = 0

    def bar0_read(self, offset: int, width: int) -> int:
        self.calls.append(("read", offset, width))
        self.tick += 10
        return self.regs.get(offset, 0)

    def bar0_write(self, offset: int, width: int, value: int) -> None:
        self.calls.append(("write", offset, width, value))
        self.tick += 10
        self.regs[offset] = value

    def now(self) -> int:
        return self.tick


def test_a_transport_without_direct_bar0_is_called_through_the_methods() -> None:
    transport = Narrow()
    bus = Bus(transport)  # type: ignore[arg-type]
    assert "read" not in vars(bus)
    bus.write(0x40, 4, 5)
    assert bus.read(0x40) == 5  # the bus's default width, which this transport does not have
    seen: list[BusAccess] = []
    fn = bus.observe(seen.append)
    assert bus.read(0x40) == 5
    bus.unobserve(fn)
    assert "read" not in vars(bus) and bus.read(0x40) == 5
    assert transport.calls[1] == ("read", 0x40, 4)
    assert [(e.kind, e.offset, e.width, e.value, e.tick) for e in seen] == [("read", 0x40, 4, 5, 20)]
