"""The machine timer: mtime counts reference ticks, mtimecmp raises the core's timer interrupt.

mtime is the device's tick counter plus an offset (1 GHz), so it costs nothing to keep.
Firmware may write it, as on a RISC-V CLINT: a write of either word sets that word of
mtime and the timer counts on from there (the offset changes; time itself does not).
The interrupt is level-triggered (pending while mtime >= mtimecmp), as the privileged
spec describes, and the device schedules a clock event at the tick mtime reaches mtimecmp,
so a rebased mtime moves that tick (or raises the line at once).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from firmware.hw.device import Device

MASK64 = (1 << 64) - 1
MASK32 = 0xFFFFFFFF


@dataclass
class MachineTimer:
    cmp: int = MASK64  # mtimecmp; the reset value never fires
    offset: int = 0  # mtime - device tick (changed by firmware writes of mtime)

    def mtime(self, now: int) -> int:
        return (now + self.offset) & MASK64

    def pending(self, now: int) -> bool:
        return self.mtime(now) >= self.cmp

    def set_cmp_lo(self, value: int) -> None:
        self.cmp = (self.cmp & ~MASK32 & MASK64) | (value & MASK32)

    def set_cmp_hi(self, value: int) -> None:
        self.cmp = ((value & MASK32) << 32) | (self.cmp & MASK32)

    def set_mtime(self, now: int, value: int, hi: bool) -> None:
        """A write of one word of mtime at tick `now`: the other word keeps its current value."""
        cur = self.mtime(now)
        new = ((value & MASK32) << 32 | (cur & MASK32)) if hi else (cur & ~MASK32 & MASK64) | (value & MASK32)
        self.offset = new - now

    def next_tick(self, now: int) -> int | None:
        """The device tick the interrupt will rise at, or None when it is pending already or never rises."""
        if self.cmp >= MASK64 or self.pending(now):
            return None
        # mtime counts up from mtime(now) without wrapping before cmp (cmp < 2^64 - 1)
        return now + (self.cmp - self.mtime(now))

    def state(self) -> tuple[int, int]:
        return self.cmp, self.offset

    def load_state(self, state: tuple[int, int] | int) -> None:
        self.cmp, self.offset = (state, 0) if isinstance(state, int) else state


def attach_timer(dev: Device) -> None:
    """The timer block: mtime reads the tick count (plus the offset); writes to mtime or
    mtimecmp re-arm the interrupt."""

    def read_mtime(side: str, origin: Any) -> None:
        mtime = dev.timer.mtime(dev.sync())
        dev.regs.poke("timer.mtime_lo", mtime & MASK32)
        dev.regs.poke("timer.mtime_hi", (mtime >> 32) & MASK32)

    def write_mtime(value: int, side: str, origin: Any, hi: bool) -> None:
        dev.timer.set_mtime(dev.sync(), value, hi)
        rearm(dev)

    def write_cmp(value: int, side: str, origin: Any, hi: bool) -> None:
        (dev.timer.set_cmp_hi if hi else dev.timer.set_cmp_lo)(value)
        rearm(dev)

    dev.on_reg_read("timer.mtime_lo", read_mtime)
    dev.on_reg_read("timer.mtime_hi", read_mtime)
    dev.on_reg_write("timer.mtime_lo", lambda v, s, o: write_mtime(v, s, o, False))
    dev.on_reg_write("timer.mtime_hi", lambda v, s, o: write_mtime(v, s, o, True))
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
