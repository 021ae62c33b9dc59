"""The bus: every access passes one dispatch point; observers see side, offset, width, value and call site."""

from __future__ import annotations

import inspect

import pytest

from driver import transport
from driver.bus import Bus, BusAccess
from driver.registers import Registers, offset
from driver.transport import InProcess
from firmware.hw.regmap import RegisterError, regmap

SCRATCH = regmap().register("version.scratch[1]").offset


@pytest.fixture
def bus() -> Bus:
    return Bus(InProcess())


def _line_of(marker: str) -> int:
    src, start = inspect.getsourcelines(test_observer_sees_every_access_with_its_call_site)
    return start + next(i for i, line in enumerate(src) if marker in line)


def test_observer_sees_every_access_with_its_call_site(bus: Bus) -> None:
    seen: list[BusAccess] = []
    bus.observe(seen.append)
    bus.write32(SCRATCH, 0xCAFEF00D)  # site: write32
    assert bus.read16(SCRATCH + 2) == 0xCAFE  # site: read16
    bus.write8(SCRATCH + 1, 0x12)
    assert bus.read32(SCRATCH) == 0xCAFE120D
    bus.bar2_write(0x40, b"\x01\x02\x03\x04")
    assert bus.bar2_read(0x40, 4) == b"\x01\x02\x03\x04"
    assert bus.wait_irq(1000) is False
    got = [(e.kind, e.side, e.offset, e.width, e.value) for e in seen]
    assert got == [
        ("write", "bar0", SCRATCH, 4, 0xCAFEF00D), ("read", "bar0", SCRATCH + 2, 2, 0xCAFE),
        ("write", "bar0", SCRATCH + 1, 1, 0x12), ("read", "bar0", SCRATCH, 4, 0xCAFE120D),
        ("write", "bar2", 0x40, 4, b"\x01\x02\x03\x04"), ("read", "bar2", 0x40, 4, b"\x01\x02\x03\x04"),
        ("wait", "irq", 0, 1000, 0)]
    assert seen[0].site == f"{__file__}:{_line_of('site: write32')} in " \
                           "test_observer_sees_every_access_with_its_call_site"
    assert seen[1].line == _line_of("site: read16")
    # Every BAR0 access costs the device's latency; the tick is when the access happened.
    latency = InProcess().device.config.bar0_latency_ticks
    assert [e.tick for e in seen[:4]] == [0, latency, 2 * latency, 3 * latency]


def test_decoding_is_lazy_and_names_the_register(bus: Bus) -> None:
    seen: list[BusAccess] = []
    bus.observe(seen.append)
    Registers(bus).write_fields("version.driver_version", major=2, minor=1, patch=0)
    event = seen[0]
    assert event.register == "version.driver_version"
    assert [(f.field, f.value) for f in event.fields()] == [("patch", 0), ("minor", 1), ("major", 2)]
    assert "version.driver_version = 0x00020100" in str(event)
    # The call site is the caller of the register layer, not the layer itself.
    assert event.code is not None and event.code.co_name == "test_decoding_is_lazy_and_names_the_register"


def test_unobserve_and_without_observers_nothing_is_recorded(bus: Bus) -> None:
    seen: list[BusAccess] = []
    fn = bus.observe(seen.append)
    bus.write32(SCRATCH, 1)
    bus.unobserve(fn)
    bus.write32(SCRATCH, 2)
    assert not bus.observed
    assert [e.value for e in seen] == [1]
    assert bus.read32(SCRATCH) == 2


def test_registers_by_path_fields_and_enums(bus: Bus) -> None:
    regs = Registers(bus)
    assert regs.read("id.device_id") == 0x4E505531
    assert regs.enum("ctrl.state.state") == "off"
    assert regs.field("id.hw_rev.major") == 1
    assert offset("QUEUE0.SQ_TAIL") == regmap().register("queue0.sq_tail").offset
    assert regs.mask("host_irq.status", "cq0", "watchdog") == 0b1001
    with pytest.raises(RegisterError, match=r"no field named 'host_irq\.status\.nope'"):
        regs.mask("host_irq.status", "nope")


def test_open_takes_its_transport_from_the_overridable_place() -> None:
    mine = InProcess()
    assert transport.open_transport() is not mine
    with transport.use(mine):
        assert transport.open_transport() is mine
        assert transport.open_transport() is mine
    assert transport.open_transport() is not mine
    made: list[InProcess] = []
    with transport.use(lambda: made.append(InProcess()) or made[-1]):
        assert transport.open_transport() is made[0]
    old = transport.set_provider(lambda: mine)
    try:
        assert transport.open_transport() is mine
    finally:
        transport.set_provider(old)


def test_time_advances_and_idle_irq_wait_times_out(bus: Bus) -> None:
    t0 = bus.now()
    bus.advance(12_345)
    assert bus.now() == t0 + 12_345
    assert bus.wait_irq(5_000) is False
    assert bus.now() == t0 + 17_345
    assert bus.irq_pending() is False


def test_a_bus_handed_to_open_observes_bring_up_too() -> None:
    import driver

    bus = Bus(InProcess())
    seen: list[BusAccess] = []
    bus.observe(seen.append)
    with transport.use(bus), driver.open("1.3.0", release="1.3.0") as dev:
        assert dev.bus is bus
    names = [e.register for e in seen if e.side == "bar0"]
    assert names[0] == "ctrl.soft_reset" and "version.abi_selected" in names
    assert names[-1] == "ctrl.run"  # close() halts the core
