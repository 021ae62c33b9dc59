"""The watchdog's countdown: petted by firmware, paused while the core sleeps in wfi.

The count is kept as a deadline tick while the core runs and as remaining ticks while
it sleeps, so an idle device has nothing to count. The device schedules the deadline
as a clock event and halts the core when it fires.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from firmware.hw.device import Device


@dataclass
class Watchdog:
    """Enable, timeout and the running countdown."""

    enabled: bool = False
    timeout: int = 0  # ticks
    remaining: int = 0  # ticks left while paused
    deadline: int | None = None  # tick of expiry while counting
    expired: bool = False

    def configure(self, enabled: bool, timeout: int, now: int, sleeping: bool) -> None:
        """Enable or re-time the watchdog; (re)starting it counts a full timeout."""
        restart = enabled and (not self.enabled or timeout != self.timeout)
        self.enabled, self.timeout = enabled, timeout
        if not enabled:
            self.deadline = None
        elif restart:
            self.pet(now, sleeping)

    def pet(self, now: int, sleeping: bool) -> None:
        if not self.enabled or self.expired:
            return
        self.remaining = self.timeout
        self.deadline = None if sleeping else now + self.timeout

    def sleep(self, now: int) -> None:
        """The core entered wfi: stop counting."""
        if self.deadline is not None:
            self.remaining = max(0, self.deadline - now)
            self.deadline = None

    def wake(self, now: int) -> None:
        """The core runs again: count the rest."""
        if self.enabled and not self.expired and self.deadline is None:
            self.deadline = now + self.remaining

    def expire(self) -> None:
        self.expired, self.deadline, self.remaining = True, None, 0

    def clear(self) -> None:
        """The expired flag was cleared (by the host or a reset)."""
        self.expired = False

    def state(self) -> tuple[bool, int, int, int | None, bool]:
        return self.enabled, self.timeout, self.remaining, self.deadline, self.expired

    def load_state(self, state: tuple[bool, int, int, int | None, bool]) -> None:
        self.enabled, self.timeout, self.remaining, self.deadline, self.expired = state


def attach_watchdog(dev: Device) -> None:
    """The wdog block: enable/timeout configure, pet restarts, expired W1C clears, remaining reads live."""

    def sleeping() -> bool:
        return dev.asleep or dev.halted is not None

    def configure(value: int, side: str, origin: Any) -> None:
        now = dev.sync()
        dev.watchdog.configure(bool(dev.regs.peek("wdog.enable") & 1), dev.regs.peek("wdog.timeout"),
                               now, sleeping())
        dev.schedule_watchdog()

    def pet(value: int, side: str, origin: Any) -> None:
        if value & 1 and not dev.hung:
            dev.watchdog.pet(dev.sync(), sleeping())
            dev.schedule_watchdog()

    def expired(value: int, side: str, origin: Any) -> None:
        if not dev.regs.peek("wdog.expired") & 1:
            dev.watchdog.clear()

    def remaining(side: str, origin: Any) -> None:
        w, now = dev.watchdog, dev.sync()
        left = w.remaining if w.deadline is None else max(0, w.deadline - now)
        dev.regs.poke("wdog.remaining", left & 0xFFFFFFFF)

    dev.on_reg_write("wdog.enable", configure)
    dev.on_reg_write("wdog.timeout", configure)
    dev.on_reg_write("wdog.pet", pet)
    dev.on_reg_write("wdog.expired", expired)
    dev.on_reg_read("wdog.remaining", remaining)
