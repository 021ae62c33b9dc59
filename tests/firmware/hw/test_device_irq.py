"""Interrupts: doorbell -> core external interrupt -> firmware handler -> host IRQ; the machine timer."""

from __future__ import annotations

from test_device_programs import load, symbol

from firmware.hw.device import Device

DELAY = 50_000


def word(dev: Device, addr: int) -> int:
    return int.from_bytes(dev.core.read_mem(addr, 4), "little")


def boot_irq_program() -> tuple[Device, object]:
    dev = Device()
    image = load(dev, "irq", DELAY=DELAY)
    dev.run_until(lambda: dev.asleep, 10_000)
    assert dev.asleep
    return dev, image


def test_doorbell_interrupts_the_core_and_the_handler_raises_a_host_irq() -> None:
    dev, image = boot_irq_program()
    rmap = dev.regs.map
    dev.bar0_write(rmap.register("host_irq.mask").offset, 4, rmap.encode("host_irq.mask", cq0=1))
    assert not dev.host_irq_pending()
    dev.bar0_write(rmap.register("queue0.sq_doorbell").offset, 4, 1)
    stop = dev.run_until(dev.host_irq_pending, 100_000)
    assert stop.reason == "predicate"
    assert word(dev, symbol(image, "doorbells")) == 1
    assert dev.regs.peek("core_irq.pending") == 0  # the handler acknowledged it
    status = rmap.register("host_irq.status").offset
    assert dev.bar0_read(status, 4) == rmap.encode("host_irq.status", cq0=1)
    dev.bar0_write(status, 4, rmap.encode("host_irq.status", cq0=1))  # W1C
    assert not dev.host_irq_pending()


def test_masked_cause_latches_but_does_not_drive_the_line() -> None:
    dev, _ = boot_irq_program()
    dev.bar0_write(dev.regs.map.register("queue0.sq_doorbell").offset, 4, 1)
    dev.advance(100_000)
    assert dev.regs.field("host_irq.status.cq0") == 1
    assert not dev.host_irq_pending()


def test_machine_timer_interrupt_fires_at_mtimecmp() -> None:
    dev, image = boot_irq_program()
    dev.advance(2 * DELAY)
    at = word(dev, symbol(image, "timer_at"))
    assert DELAY <= at < DELAY + 100  # a handful of instructions after the compare
    assert dev.asleep and dev.timer.next_tick(dev.now) > 1 << 63  # disarmed by the handler
    assert dev.core.csr("mip") & 0x80 == 0  # MTIP low again


def test_core_irq_is_hidden_from_the_host_and_abi_selection_rings_the_core() -> None:
    dev, _ = boot_irq_program()
    assert dev.bar0_read(dev.regs.map.register("core_irq.pending").offset, 4) == 0  # firmware-only
    dev.bar0_write(dev.regs.map.register("version.abi_selected").offset, 4, 2)
    assert dev.regs.field("core_irq.pending.handshake") == 1


def test_same_inputs_give_the_same_register_trace() -> None:
    def trace() -> list:
        dev = Device()
        seen = []
        dev.regs.observe(lambda a: seen.append(tuple(a)))
        load(dev, "irq", DELAY=DELAY)
        rmap = dev.regs.map
        dev.bar0_write(rmap.register("host_irq.mask").offset, 4, rmap.encode("host_irq.mask", cq0=1))
        for _ in range(3):
            dev.bar0_write(rmap.register("queue0.sq_doorbell").offset, 4, 1, origin="test")
            dev.run_until(dev.host_irq_pending, 100_000)
            dev.bar0_write(rmap.register("host_irq.status").offset, 4, rmap.encode("host_irq.status", cq0=1))
        dev.advance(2 * DELAY)
        return seen

    first = trace()
    assert len(first) > 20 and {a[0] for a in first} >= {"host", "firmware", "unit"}
    assert trace() == first
