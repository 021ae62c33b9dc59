"""Fault injection: every kind fires at its tick or event, the same way on every run."""

from __future__ import annotations

import pytest
from test_device_programs import load, symbol

from firmware.hw.device import Device
from firmware.hw.inject import InjectError
from firmware.hw.units import descriptor

TIMEOUT = 20_000
HANG_AT = 30_000
HBM_CQ = 0x1000  # BAR2 offset of the completion ring in the completion test


def log_of(dev: Device) -> list[tuple[int, str, str]]:
    return [(e.tick, e.injection.kind, e.what) for e in dev.injector.log]


def word(dev: Device, addr: int) -> int:
    return int.from_bytes(dev.core.read_mem(addr, 4), "little")


def run_hang() -> Device:
    dev = Device()
    load(dev, "watchdog", TIMEOUT=TIMEOUT, PETS=100_000, SLEEP=1)
    dev.inject("hang", at=HANG_AT)
    dev.advance(10 * TIMEOUT)
    return dev


def test_hang_at_a_tick_stops_progress_and_the_watchdog_fires() -> None:
    dev = run_hang()
    assert log_of(dev) == [(HANG_AT, "hang", "triggered"), (HANG_AT, "hang", "fired")]
    (err,) = dev.errors
    assert err.cause == "watchdog" and HANG_AT < err.tick <= HANG_AT + TIMEOUT
    assert dev.halted == "watchdog"
    again = run_hang()
    assert log_of(again) == log_of(dev) and again.errors == dev.errors and again.core.pc == dev.core.pc


def run_lost_irq() -> tuple[Device, list[bool]]:
    dev = Device()
    load(dev, "irq", DELAY=1 << 30)
    dev.run_until(lambda: dev.asleep, 10_000)
    rmap = dev.regs.map
    dev.bar0_write(rmap.register("host_irq.mask").offset, 4, rmap.encode("host_irq.mask", cq0=1))
    dev.inject("lost_irq", on="doorbell")
    seen = []
    for _ in range(2):
        dev.bar0_write(rmap.register("queue0.sq_doorbell").offset, 4, 1)
        seen.append(dev.run_until(dev.host_irq_pending, 50_000).reason == "predicate")
    return dev, seen


def test_lost_irq_drops_exactly_the_next_host_interrupt() -> None:
    dev, seen = run_lost_irq()
    assert seen == [False, True]
    (triggered, fired) = log_of(dev)
    assert triggered[1:] == ("lost_irq", "triggered") and fired[1:] == ("lost_irq", "fired")
    assert triggered[0] < fired[0] < triggered[0] + 1000  # the handler's raise, shortly after the doorbell
    assert log_of(run_lost_irq()[0]) == log_of(dev)


def run_dma_error(**when) -> tuple[Device, object]:
    dev = Device()
    image = load(dev, "matmul", boot=False, M=16, K=16, N=16, FLAG=1)
    base = {r.name: r.base for r in dev.config.regions}
    routes = {"desc_a": ("hbm", "l0a"), "desc_b": ("hbm", "l0b"), "desc_c": ("l0c", "ub"),
              "desc_out": ("ub", "hbm")}
    for name, (src, dst) in routes.items():
        dev.core.write_mem(symbol(image, name), descriptor.encode(base[src], base[dst], 512))
    dev.inject("dma_error", **when)
    dev.boot(image.entry)
    dev.run_until(lambda: dev.asleep, 1_000_000)
    return dev, image


@pytest.mark.parametrize("when", [{"at": 0}, {"on": "dma"}, {"on": "xnpu"}])
def test_dma_error_fails_the_next_transfer(when: dict) -> None:
    dev, image = run_dma_error(**when)
    (err,) = dev.errors  # the other three transfers went through
    assert err.cause == "injected" and err.pc == symbol(image, "dma_a")
    assert dev.regs.peek("dma.err_cause") == dev.cause_value("injected")
    assert dev.regs.peek("dma.err_pc") == symbol(image, "dma_a")
    assert dev.regs.field("host_irq.status.dma_error") == 1
    fired = [e for e in dev.injector.log if e.what == "fired"]
    assert len(fired) == 1 and log_of(run_dma_error(**when)[0]) == log_of(dev)


def test_trap_replaces_the_next_xnpu_instruction() -> None:
    def run() -> tuple[Device, object]:
        dev = Device()
        dev.inject("trap", on="xnpu")
        image = load(dev, "trap")
        dev.advance(10_000)
        return dev, image

    dev, image = run()
    seen = symbol(image, "seen")
    xn = symbol(image, "xn")
    assert word(dev, seen) == 2  # illegal instruction
    assert word(dev, seen + 4) == word(dev, xn)  # mtval: the instruction word
    assert word(dev, seen + 8) == xn
    assert log_of(run()[0]) == log_of(dev)


def run_completion(inject: bool) -> Device:
    dev = Device()
    rmap = dev.regs.map
    dev.bar0_write(rmap.register("queue0.cq_base").offset, 4, dev.config.hbm.base + HBM_CQ)
    dev.bar0_write(rmap.register("queue0.cq_size").offset, 4, 4)
    sizes = rmap.encode("queue0.entry_size", sq=64, cq=16)
    dev.bar0_write(rmap.register("queue0.entry_size").offset, 4, sizes)
    if inject:
        dev.inject("corrupt_completion", at=dev.now + 5)
    load(dev, "completion")
    dev.advance(10_000)
    return dev


def test_corrupt_completion_inverts_the_published_entry() -> None:
    clean = run_completion(False)
    tail = (0x1111).to_bytes(4, "little")
    assert clean.bar2_read(HBM_CQ, 8) == (0x600D).to_bytes(4, "little") + tail
    dev = run_completion(True)
    assert dev.bar2_read(HBM_CQ, 8) == (0x600D ^ 0xFFFFFFFF).to_bytes(4, "little") + tail
    assert [what for _, _, what in log_of(dev)] == ["triggered", "fired"]
    assert dev.regs.peek("perf.cmd_done") == 1
    assert log_of(run_completion(True)) == log_of(dev)


def test_bad_requests_are_one_line_errors() -> None:
    dev = Device()
    with pytest.raises(InjectError, match="unknown injection kind 'meltdown'"):
        dev.inject("meltdown", at=5)
    with pytest.raises(InjectError, match="exactly one of"):
        dev.inject("hang")
    with pytest.raises(InjectError, match="unknown event 'tuesday'"):
        dev.inject("hang", on="tuesday")


def test_pending_injections_are_part_of_a_snapshot() -> None:
    dev = Device()
    load(dev, "watchdog", TIMEOUT=TIMEOUT, PETS=100_000, SLEEP=1)
    dev.inject("hang", at=HANG_AT)
    dev.advance(HANG_AT // 2)
    snap = dev.snapshot()
    dev.advance(10 * TIMEOUT)
    first = (log_of(dev), dev.errors, dev.now, dev.core.pc)
    dev.restore(snap)
    assert dev.injector.pending() and dev.halted is None
    dev.advance(10 * TIMEOUT)
    assert (log_of(dev), dev.errors, dev.now, dev.core.pc) == first


def test_hang_while_sleeping_wakes_into_a_spin_the_watchdog_catches() -> None:
    dev = Device()
    load(dev, "watchdog", TIMEOUT=TIMEOUT, PETS=1, SLEEP=1)
    dev.advance(HANG_AT // 2)
    assert dev.asleep
    dev.inject("hang", on="doorbell")
    dev.bar0_write(dev.regs.map.register("queue0.sq_doorbell").offset, 4, 1)
    rang = dev.now - dev.config.bar0_latency_ticks
    dev.advance(2 * TIMEOUT)
    (err,) = dev.errors
    assert err.cause == "watchdog" and rang < err.tick <= rang + TIMEOUT
