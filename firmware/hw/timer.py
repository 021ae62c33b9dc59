"""The machine timer: mtime counts reference ticks, mtimecmp raises the core's timer interrupt.

mtime is the device's tick counter itself (1 GHz), so it costs nothing to keep; the
interrupt is level-triggered (pending while mtime >= mtimecmp), as the privileged
spec describes, and the device schedules a clock event at mtimecmp.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from firmware.hw.device import Device

MASK64 = (1 << 64) - 1


@dataclass
class MachineTimer:
    cmp: int = MASK64  # mtimecmp; the reset value never fires

    def pending(self, now: int) -> bool:
        return now >= self.cmp

    def set_cmp_lo(self, value: int) -> None:
        self.cmp = (self.cmp & ~0xFFFFFFFF & MASK64) | (value & 0xFFFFFFFF)

    def set_cmp_hi(self, value: int) -> None:
        self.cmp = ((value & 0xFFFFFFFF) << 32) | (self.cmp & 0xFFFFFFFF)

    def next_tick(self, now: int) -> int | None:
        """When the interrupt will rise, or None when it is pending already or never rises."""
        return self.cmp if now < self.cmp < MASK64 else None


def attach_timer(dev: Device) -> None:
    """The timer block: mtime reads the tick count; mtimecmp writes re-arm the interrupt.

    mtime is read-only in effect: a write is overwritten by the tick count on the next read.
    """

    def read_mtime(side: str, origin: Any) -> None:
        now = dev.sync()
        dev.regs.poke("timer.mtime_lo", now & 0xFFFFFFFF)
        dev.regs.poke("timer.mtime_hi", (now >> 32) & 0xFFFFFFFF)

    def write_cmp(value: int, side: str, origin: Any, hi: bool) -> None:
        (dev.timer.set_cmp_hi if hi else dev.timer.set_cmp_lo)(value)
        rearm(dev)

    dev.on_reg_read("timer.mtime_lo", read_mtime)
    dev.on_reg_read("timer.mtime_hi", read_mtime)
    dev.on_reg_write("timer.mtimecmp_lo", lambda v, s, o: write_cmp(v, s, o, False))
    dev.on_reg_write("timer.mtimecmp_hi", lambda v, s, o: write_cmp(v, s, o, True))


def rearm(dev: Device) -> None:
    """Set the core's timer line from mtime >= mtimecmp and schedule the next rise."""
    now = dev.sync()
    dev.core.set_interrupt("timer", dev.timer.pending(now))
    nxt = dev.timer.next_tick(now)
    if nxt is None:
        dev.clock.cancel("timer")
    else:
        dev.clock.schedule("timer", nxt)
    dev.after_callback()
