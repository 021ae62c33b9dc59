"""Watchdog: firmware pets it; expiry halts the core and interrupts the host; wfi does not count."""

from __future__ import annotations

from test_device_programs import load, symbol

from firmware.hw.device import Device
from firmware.hw.watchdog import Watchdog

TIMEOUT = 20_000


def test_countdown_pauses_while_sleeping() -> None:
    w = Watchdog()
    w.configure(True, 1000, now=0, sleeping=False)
    assert w.deadline == 1000
    w.sleep(now=400)
    assert (w.deadline, w.remaining) == (None, 600)
    w.wake(now=10_000)
    assert w.deadline == 10_600
    w.pet(now=10_100, sleeping=False)
    assert w.deadline == 11_100


def test_expiry_halts_the_core_with_irq_and_errlog() -> None:
    dev = Device()
    image = load(dev, "watchdog", TIMEOUT=TIMEOUT, PETS=5, SLEEP=0)
    rmap = dev.regs.map
    dev.bar0_write(rmap.register("host_irq.mask").offset, 4, rmap.encode("host_irq.mask", watchdog=1))
    stop = dev.run_until(dev.host_irq_pending, 10 * TIMEOUT)
    assert stop.reason == "predicate" and dev.halted == "watchdog"
    (err,) = dev.errors
    assert err.cause == "watchdog"
    assert symbol(image, "spin") <= err.pc <= symbol(image, "spin") + 4
    assert dev.regs.field("wdog.expired.flag") == 1
    assert dev.regs.field("errlog.entry[0].cause.cause") == dev.cause_value("watchdog")
    assert dev.regs.map.decode("ctrl.state", dev.regs.peek("ctrl.state"))[0].enum == "fault"
    # the last pet happened a little after boot; expiry is exactly TIMEOUT ticks after it
    last_pet = err.tick - TIMEOUT
    assert 0 < last_pet < 5 * 1000
    pc = dev.core.pc
    dev.advance(10 * TIMEOUT)
    assert dev.core.pc == pc  # halted for good


def test_no_expiry_while_the_core_sleeps_in_wfi() -> None:
    dev = Device()
    load(dev, "watchdog", TIMEOUT=TIMEOUT, PETS=1, SLEEP=1)
    dev.advance(1000 * TIMEOUT)
    assert dev.asleep and dev.halted is None and dev.errors == []
    left = dev.bar0_read(dev.regs.map.register("wdog.remaining").offset, 4)
    assert 0 < left < TIMEOUT


def test_watchdog_expiry_is_deterministic() -> None:
    def expiry() -> int:
        dev = Device()
        load(dev, "watchdog", TIMEOUT=TIMEOUT, PETS=7, SLEEP=0)
        dev.advance(10 * TIMEOUT)
        return dev.errors[0].tick

    assert expiry() == expiry()
