"""The machine timer's mtime is writable, as on a RISC-V CLINT: the timer is rebased, and
mtimecmp comparisons and the interrupt's rise follow the rebased count."""

from __future__ import annotations

from firmware.hw.device import Device
from firmware.hw.timer import MASK64, MachineTimer

MTIP = 0x80


def _mtime(dev: Device) -> int:
    lo = dev.regs.read("timer.mtime_lo", "firmware")
    return dev.regs.read("timer.mtime_hi", "firmware") << 32 | lo


def _write64(dev: Device, name: str, value: int) -> None:
    dev.regs.write(f"timer.{name}_lo", value & 0xFFFFFFFF, "firmware")
    dev.regs.write(f"timer.{name}_hi", value >> 32, "firmware")


def _mtip(dev: Device) -> bool:
    return bool(dev.core.csr("mip") & MTIP)


def test_a_written_mtime_counts_on_from_the_written_value() -> None:
    dev = Device()
    dev.advance(5_000)
    assert _mtime(dev) == dev.now == 5_000
    _write64(dev, "mtime", 0x1_2345_0000)
    assert _mtime(dev) == 0x1_2345_0000
    dev.advance(700)
    assert _mtime(dev) == 0x1_2345_0000 + 700 and dev.now == 5_700  # device time itself is untouched


def test_writing_one_word_keeps_the_other() -> None:
    dev = Device()
    _write64(dev, "mtime", 0x7_0000_0010)
    dev.regs.write("timer.mtime_lo", 0x100, "firmware")
    assert _mtime(dev) == 0x7_0000_0100
    dev.regs.write("timer.mtime_hi", 3, "firmware")
    assert _mtime(dev) == 0x3_0000_0100


def test_rebasing_backwards_delays_the_interrupt_by_as_much() -> None:
    dev = Device()
    _write64(dev, "mtimecmp", 10_000)
    dev.advance(4_000)
    _write64(dev, "mtime", 1_000)  # 3000 ticks back: the compare is now 9000 ticks away
    dev.advance(8_999)
    assert not _mtip(dev) and _mtime(dev) == 9_999
    dev.advance(1)
    assert _mtip(dev) and dev.now == 13_000


def test_rebasing_past_mtimecmp_raises_the_line_at_once_and_back_lowers_it() -> None:
    dev = Device()
    _write64(dev, "mtimecmp", 1 << 40)
    assert not _mtip(dev)
    _write64(dev, "mtime", (1 << 40) + 5)
    assert _mtip(dev)  # level-triggered: mtime >= mtimecmp
    _write64(dev, "mtime", 0)
    assert not _mtip(dev)
    assert dev.timer.next_tick(dev.now) == dev.now + (1 << 40)


def test_the_offset_is_part_of_a_snapshot() -> None:
    dev = Device()
    _write64(dev, "mtime", 123_456)
    _write64(dev, "mtimecmp", 200_000)
    snap = dev.snapshot()
    _write64(dev, "mtime", 0)
    dev.restore(snap)
    assert _mtime(dev) == 123_456
    dev.advance(200_000 - 123_456)
    assert _mtip(dev)


def test_timer_without_writes_is_the_tick_count_and_never_fires_at_reset() -> None:
    t = MachineTimer()
    assert t.mtime(42) == 42 and not t.pending(1 << 62)
    assert t.cmp == MASK64 and t.next_tick(0) is None
