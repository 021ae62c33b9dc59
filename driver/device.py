"""The opened device: bring-up on construction, the verdict and versions, ops, contexts, close().

`Device` owns one bus (and through it one transport), the register view, device
memory and its contexts, the queue engine in the negotiated ABI generation, and
recovery. Runtime ops come from `driver.ops.Ops` and run in the device's default
context; `dev.context(name)` gives another context with the same ops, whose
buffers the default context cannot touch.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from driver import bringup
from driver.bus import Bus, Transport
from driver.errors import DriverError
from driver.loader import FirmwareImage, image_for
from driver.memory import Context, DeviceMemory
from driver.ops import Ops
from driver.policy import Policy, Verdict
from driver.queues import DEFAULT_TIMEOUT_TICKS, Engine
from driver.recovery import Recovery, RecoveryReport
from driver.registers import Registers
from driver.releases import DriverRelease, driver_line
from firmware.abi import abi

WATCHDOG_TICKS = 100_000_000  # 100 ms of virtual time without a pet


class CompatibilityWarning(UserWarning):
    """The pair runs, but not cleanly: at the edge of the policy, degraded, or forced."""


class DeviceClosed(DriverError):
    """The device was closed."""


class Device(Ops):
    """An NPU opened by the driver (use `driver.open()`); a context manager."""

    def __init__(self, transport: Transport | Bus, firmware: str | Path | bytes | FirmwareImage | None = None,
                 release: str | DriverRelease | None = None, *, policy: Policy | None = None,
                 force: bool = False, irq: bool = True, timeout_ticks: int = DEFAULT_TIMEOUT_TICKS,
                 ready_budget_ticks: int = bringup.READY_BUDGET_TICKS,
                 watchdog_ticks: int | None = WATCHDOG_TICKS) -> None:
        # A Bus given instead of a transport keeps its observers: a debugger traces bring-up too.
        self.bus = transport if isinstance(transport, Bus) else Bus(transport)
        self.transport = self.bus.transport
        self.regs = Registers(self.bus)
        info = self.transport.describe()
        self.memory = DeviceMemory(self.bus, info["hbm_base"], info["hbm_size"], abi().constant("ADDR_ALIGN"))
        self._driver_ctx = self.memory.context("driver")
        self.ctx: Context = self.memory.context("default")
        self.release = release if isinstance(release, DriverRelease) else driver_line().release(release)
        self.image = firmware if isinstance(firmware, FirmwareImage) else image_for(firmware)
        self.policy, self.force = policy, force
        self.ready_budget_ticks = ready_budget_ticks
        self.watchdog_ticks = watchdog_ticks
        self.recoveries: list[RecoveryReport] = []
        self.closed = False
        self.live = bringup.boot(self.regs, self.image, ready_budget_ticks)
        verdict = bringup.negotiate(self.image, self.live, self.release, policy, force)
        assert verdict.abi is not None
        self.abi = verdict.abi
        self.engine = Engine(self.regs, self._driver_ctx, self.abi, irq=irq, timeout_ticks=timeout_ticks)
        self.engine.program()
        self.handshake = bringup.handshake(self.regs, self.release, self.abi)
        self.verdict: Verdict = bringup.confirm(self.image, self.live, self.release, self.handshake, policy,
                                                force)
        if self.verdict.status != "compatible" or self.verdict.forced:
            warnings.warn(CompatibilityWarning(str(self.verdict)), stacklevel=3)
        self._arm_watchdog()
        self.recovery = Recovery(self)
        self.engine.fault_handler = self.recovery.handle
        self._ops_ctx, self._ops_engine, self._ops_device = self.ctx, self.engine, self

    # ------------------------------------------------------------ lifecycle

    def restart(self) -> None:
        """Reset, reload, boot and handshake again in the same ABI; reprogram the rings (recovery's core)."""
        self.live = bringup.boot(self.regs, self.image, self.ready_budget_ticks)
        self.engine.program()
        self.handshake = bringup.handshake(self.regs, self.release, self.abi)
        self.verdict = bringup.confirm(self.image, self.live, self.release, self.handshake, self.policy,
                                       self.force)
        self._arm_watchdog()

    def _arm_watchdog(self) -> None:
        """The driver arms the watchdog once the firmware serves (the firmware pets it)."""
        if self.watchdog_ticks is None:
            return
        self.regs.write("wdog.timeout", self.watchdog_ticks)
        self.regs.write_fields("wdog.enable", en=1)

    def close(self) -> None:
        """Wait for outstanding commands, free every buffer, halt the core. Idempotent."""
        if self.closed:
            return
        try:
            if self.engine.pending:
                self.engine.drain()
        finally:
            for ctx in list(self.memory.contexts):
                if not ctx.closed:
                    ctx.close()
            self.regs.write_fields("ctrl.run", run=0)
            self.closed = True

    def __enter__(self) -> Device:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"<driver.Device driver {self.release.version} firmware {self.image.version} ABI {self.abi}: "
                f"{self.verdict.status}>")

    # ------------------------------------------------------------ what is running

    @property
    def versions(self) -> dict[str, Any]:
        return {"driver": str(self.release.version), "firmware": self.image.version, "abi": self.abi,
                "features": list(self.live.describe(self.image).features),
                "handshake": self.handshake}

    def context(self, name: str | None = None) -> ContextOps:
        """A new owner of buffers with the device's ops; its buffers are its own."""
        self._check_open()
        return ContextOps(self, self.memory.context(name))

    def _check_open(self) -> None:
        if self.closed:
            raise DeviceClosed("the device is closed")


class ContextOps(Ops):
    """The device's ops in one context (buffers allocated here belong to it)."""

    def __init__(self, device: Device, ctx: Context) -> None:
        self.device = device
        self.ctx = ctx
        self._ops_ctx, self._ops_engine, self._ops_device = ctx, device.engine, device

    def close(self) -> None:
        self.ctx.close()

    def __enter__(self) -> ContextOps:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
