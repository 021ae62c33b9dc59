"""The machine timer: mtime counts reference ticks, mtimecmp raises the core's timer interrupt.

mtime is the device's tick counter itself (1 GHz), so it costs nothing to keep; the
interrupt is level-triggered (pending while mtime >= mtimecmp), as the privileged
spec describes, and the device schedules a clock event at mtimecmp.
"""

from __future__ import annotations

from dataclasses import dataclass

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
