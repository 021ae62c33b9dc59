"""The in-process transport, and the one overridable place `driver.open()` takes its transport from.

`InProcess` drives a `firmware.hw.device.Device` in this process: BAR0/BAR2 accesses
are the device's host methods, an IRQ wait runs the device until its host line is
up. A debugger that owns a device installs its own provider with `use(...)` (a
context manager) or `set_provider(...)`; an unmodified program's `driver.open()`
then attaches to that device. A provider may return a `Bus` (with the debugger's
tracer and catchpoints already attached) instead of a bare transport, so bring-up is
observed too. The provider is module state, not a context variable,
so that a program running on its own thread sees it too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from driver.bus import Bus, Transport

if TYPE_CHECKING:
    from firmware.hw.device import Device

Provider = Callable[[], "Transport | Bus"]


class InProcess:
    """A transport straight onto a device object in this process."""

    direct_bar0 = True  # the device's bar0_read/bar0_write take the bus's arguments (see `Transport`)

    def __init__(self, device: Device | None = None, config: str = "default", **overrides: Any) -> None:
        if device is None:
            from firmware.hw.device import Device

            device = Device(config, **overrides)
        self.device = device
        # Bound once: these are the hot paths of every register access.
        self.bar0_read = device.bar0_read
        self.bar0_write = device.bar0_write
        self.bar2_read = device.bar2_read
        self.bar2_write = device.bar2_write
        self.irq_pending = device.host_irq_pending
        now = getattr(type(device), "now", None)
        if isinstance(now, property) and now.fget is not None:
            # The device's tick as one bound call, not two (a traced bus asks it on every access).
            self.now = now.fget.__get__(device)  # type: ignore[method-assign]

    def wait_irq(self, timeout_ticks: int) -> bool:
        """Run until the host line is up or the timeout; debugger stops of the core are run through."""
        dev = self.device
        deadline = dev.now + max(0, timeout_ticks)
        while True:
            if dev.host_irq_pending():
                return True
            left = deadline - dev.now
            if left <= 0:
                return False
            stop = dev.run_until(dev.host_irq_pending, left)
            if stop.reason in ("predicate", "time"):
                return dev.host_irq_pending()

    def advance(self, ticks: int) -> None:
        dev = self.device
        target = dev.now + max(0, ticks)
        while dev.now < target:
            dev.advance(target - dev.now)

    def now(self) -> int:
        return self.device.now

    def describe(self) -> dict[str, Any]:
        """What the driver sizes itself by: HBM size, and the transport's kind."""
        cfg = self.device.config
        return {"kind": "in-process", "config": cfg.name, "hbm_base": cfg.hbm.base, "hbm_size": cfg.hbm.size}


_lock = threading.Lock()
_provider: Provider | None = None
# What `driver.open()` loads when its caller names nothing: set by whoever owns the device
# (a debugger running an unmodified program that was started with --firmware/--driver).
_defaults: dict[str, str | None] = {}


def default_provider() -> Transport:
    """A fresh device of the default configuration, in this process."""
    return InProcess()


def set_provider(provider: Provider | None) -> Provider | None:
    """Make `provider` what `driver.open()` calls for a transport (None: the default); returns the old one."""
    global _provider
    with _lock:
        old, _provider = _provider, provider
    return old


def set_defaults(firmware: str | None = None, release: str | None = None) -> dict[str, str | None]:
    """The firmware and driver release `driver.open()` uses when given none; returns the old ones."""
    global _defaults
    with _lock:
        old, _defaults = _defaults, {"firmware": firmware, "release": release}
    return old


def restore_defaults(old: dict[str, str | None]) -> None:
    global _defaults
    with _lock:
        _defaults = old


def defaults() -> dict[str, str | None]:
    return dict(_defaults)


def current() -> Provider:
    """The provider `driver.open()` uses now."""
    return _provider or default_provider


@contextmanager
def use(provider: Provider | Transport | Bus) -> Iterator[None]:
    """Within the block, `driver.open()` uses `provider` (a callable, or one transport or bus for all)."""
    fixed = isinstance(provider, Bus) or hasattr(provider, "bar0_read")
    fn: Provider = (lambda: provider) if fixed else provider  # type: ignore
    old = set_provider(fn)
    try:
        yield
    finally:
        set_provider(old)


def open_transport() -> Transport | Bus:
    return current()()
