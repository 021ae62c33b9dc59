"""The host's view: loading firmware through the load window, run control, reset, debugger stops."""

from __future__ import annotations

from test_device_programs import build, load, symbol

from firmware.hw.device import Device

MAGIC = 0x5A5A


def host_load(dev: Device, image) -> None:
    rmap = dev.regs.map
    addr, data = rmap.register("fw_load.addr").offset, rmap.register("fw_load.data").offset
    for sec in image.sections:
        if sec.nobits or not sec.data:
            continue
        dev.bar0_write(addr, 4, sec.addr)
        blob = bytes(sec.data) + bytes(-len(sec.data) % 4)
        for i in range(0, len(blob), 4):
            dev.bar0_write(data, 4, int.from_bytes(blob[i:i + 4], "little"))
    dev.bar0_write(rmap.register("ctrl.boot_addr").offset, 4, image.entry)


def test_firmware_loaded_through_the_window_boots_on_run() -> None:
    dev = Device()
    image = build("hello", MAGIC=MAGIC)
    host_load(dev, image)
    rmap = dev.regs.map
    assert dev.regs.field("fw_load.status.words") == len(image.sections[0].data) // 4
    dev.advance(10_000)
    assert dev.regs.peek("version.scratch[0]") == 0  # held until ctrl.run
    seen = []
    dev.regs.observe(lambda a: seen.append((a.side, a.kind, a.path, a.new, a.origin)) if a.path.startswith(
        "version.scratch") else None)
    dev.bar0_write(rmap.register("ctrl.run").offset, 4, 1)
    dev.advance(10_000)
    assert dev.regs.peek("version.scratch[0]") == MAGIC
    assert ("firmware", "write", "version.scratch[0]", MAGIC, symbol(image, "store")) in seen
    assert rmap.decode("ctrl.state", dev.regs.peek("ctrl.state"))[0].enum == "booting"


def test_load_window_outside_tcm_sets_the_error_bit() -> None:
    dev = Device()
    rmap = dev.regs.map
    dev.bar0_write(rmap.register("fw_load.addr").offset, 4, dev.config.hbm.base)
    dev.bar0_write(rmap.register("fw_load.data").offset, 4, 1)
    assert dev.regs.field("fw_load.status.error") == 1


def test_host_halt_and_resume() -> None:
    dev = Device()
    load(dev, "watchdog", TIMEOUT=1 << 30, PETS=1 << 20, SLEEP=1)
    run = dev.regs.map.register("ctrl.run").offset
    dev.advance(5_000)
    dev.bar0_write(run, 4, 0)
    pc, instret = dev.core.pc, dev.core.instret
    dev.advance(50_000)
    assert (dev.core.pc, dev.core.instret) == (pc, instret) and dev.halted == "host"
    dev.bar0_write(run, 4, 1)
    dev.advance(5_000)
    assert dev.core.instret > instret


def test_soft_reset_returns_to_power_on() -> None:
    dev = Device()
    load(dev, "hello", MAGIC=MAGIC)
    dev.advance(10_000)
    assert dev.regs.peek("version.scratch[0]") == MAGIC
    dev.bar0_write(dev.regs.map.register("ctrl.soft_reset").offset, 4, 1)
    assert dev.regs.peek("version.scratch[0]") == 0 and dev.halted == "off"
    assert dev.core.pc == 0 and dev.core.regs["t1"] == 0


def test_breakpoint_stops_the_device_and_continuing_finishes() -> None:
    dev = Device()
    image = load(dev, "hello", MAGIC=MAGIC)
    bp = dev.core.add_breakpoint(symbol(image, "store"))
    stop = dev.advance(10_000)
    assert stop.reason == "core" and stop.core.breakpoint == bp and dev.core.pc == symbol(image, "store")
    tick = dev.now
    assert dev.regs.peek("version.scratch[0]") == 0
    stop = dev.step()
    assert stop.reason == "step" and dev.regs.peek("version.scratch[0]") == MAGIC and dev.now > tick
    dev.advance(1_000)
    assert dev.asleep


def test_firmware_error_report_lands_in_the_error_log() -> None:
    dev = Device()
    image = load(dev, "report")
    rmap = dev.regs.map
    dev.bar0_write(rmap.register("host_irq.mask").offset, 4, rmap.encode("host_irq.mask", fw_fatal=1))
    assert dev.run_until(dev.host_irq_pending, 10_000).reason == "predicate"
    read = lambda path: dev.bar0_read(rmap.register(path).offset, 4)  # noqa: E731
    assert read("errlog.count") == 1 and read("errlog.write_idx") == 1
    assert read("errlog.entry[0].cause") == dev.cause_value("fw_trap")
    assert read("errlog.entry[0].addr") == 0xBAD0
    assert read("errlog.entry[0].pc") == symbol(image, "report")
    assert 0 < read("errlog.entry[0].tick") < dev.now


def test_step_into_wfi_puts_the_core_to_sleep() -> None:
    dev = Device()
    image = load(dev, "hello", MAGIC=MAGIC)
    while dev.core.pc != symbol(image, "done"):
        dev.step()
    dev.step()
    assert dev.asleep
    tick = dev.now
    assert dev.step().reason == "time" and dev.now == tick  # nothing scheduled: nothing to do


def test_double_fault_is_a_fatal_firmware_trap() -> None:
    dev = Device()
    load(dev, "double_fault")
    stop = dev.advance(10_000)
    assert stop.reason == "core" and stop.core.reason.name == "DOUBLE_FAULT"
    (err,) = dev.errors
    assert err.cause == "fw_trap" and dev.halted == "fw_trap"
    assert dev.regs.field("host_irq.status.fw_fatal") == 1
    assert dev.advance(10_000).reason == "time"  # stays halted


def test_run_until_sees_a_firmware_register_write_at_once() -> None:
    dev = Device()
    image = load(dev, "watchdog", TIMEOUT=1 << 30, PETS=3, SLEEP=0)
    stop = dev.run_until(lambda: dev.regs.peek("wdog.enable") == 1, 1_000_000)
    assert stop.reason == "predicate"
    assert dev.core.pc == symbol(image, "enabled")  # right after the store
