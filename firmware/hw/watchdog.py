"""The watchdog's countdown: petted by firmware, paused while the core sleeps in wfi.

The count is kept as a deadline tick while the core runs and as remaining ticks while
it sleeps, so an idle device has nothing to count. The device schedules the deadline
as a clock event and halts the core when it fires.
"""

from __future__ import annotations

from dataclasses import dataclass


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
