"""Recovery from a dead or wedged device: collect the evidence, reset, reload, resubmit, report.

Triggered by the queue engine (`driver.queues.Fault`): a command over its budget, a
`fw_fatal` or `watchdog` interrupt, or a completion for an id nobody submitted. The
steps: read the error log and the DMA error registers (before the reset clears
them), take whatever completions were already published, soft-reset, load the same
verified image again, boot, handshake in the same ABI generation, reprogram the
rings, and resubmit every accepted command that had not completed, oldest first.
Each recovery is a `RecoveryReport` on `Device.recoveries` and a warning on the
`driver` logger; a recovery that itself fails raises `DeviceLost`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from driver.errors import DriverError
from driver.registers import Registers

if TYPE_CHECKING:
    from driver.device import Device
    from driver.queues import Fault

log = logging.getLogger("driver")
ERRLOG_SLOTS = 8  # npu.rdl errlog.entry[8]


class DeviceLost(DriverError):
    """Recovery could not bring the device back."""


@dataclass(frozen=True)
class ErrlogEntry:
    """One error-log entry; `status` is the ABI status name of a rejected command (cmd_rejected)."""

    cause: str
    addr: int
    pc: int
    tick: int
    status: str | None = None

    @property
    def fatal(self) -> bool:
        """False for a rejected command: the firmware logged it and went on serving."""
        return self.cause != "cmd_rejected"

    def __str__(self) -> str:
        if self.status is not None:
            return (f"{self.cause} {self.status} at tick {self.tick} (pc 0x{self.pc:08x}, "
                    f"detail 0x{self.addr:08x})")
        return f"{self.cause} at tick {self.tick} (pc 0x{self.pc:08x}, addr 0x{self.addr:08x})"


def _status_name(code: int) -> str:
    from driver.abi import Status

    try:
        return Status(code).name
    except ValueError:
        return f"status {code}"


@dataclass(frozen=True)
class RecoveryReport:
    """What one recovery saw and did."""

    fault: str  # Fault.kind
    detail: str
    tick: int  # when the fault was noticed
    errlog: tuple[ErrlogEntry, ...]
    dma_error: str | None  # dma.err_cause when set
    completed_before_reset: tuple[int, ...]  # ids taken off the rings while collecting evidence
    resubmitted: tuple[int, ...]
    failed: tuple[int, ...]  # ids given up on (each raises CommandLost from wait())
    ready_tick: int
    reset: bool = True  # False: the firmware was fine, only the failed command ran again

    def __str__(self) -> str:
        parts = [f"recovered from {self.fault} at tick {self.tick}: {self.detail}"]
        if self.errlog:
            parts.append("error log: " + "; ".join(map(str, self.errlog)))
        if self.dma_error:
            parts.append(f"DMA error: {self.dma_error}")
        parts.append(f"resubmitted {len(self.resubmitted)} command(s)"
                     + (f" {list(self.resubmitted)}" if self.resubmitted else ""))
        if self.failed:
            parts.append(f"gave up on {list(self.failed)}")
        parts.append(f"ready again at tick {self.ready_tick}" if self.reset else "no reset needed")
        return "; ".join(parts)


def read_errlog(regs: Registers, since: int = 0) -> list[ErrlogEntry]:
    """The error log's entries logged after the first `since`, oldest first (at most the ring's slots)."""
    count = regs.read("errlog.count")
    if count <= since:
        return []
    nxt = regs.field("errlog.write_idx.idx")
    n = min(count - since, ERRLOG_SLOTS)
    out = []
    for k in range(n):
        i = (nxt - n + k) % ERRLOG_SLOTS
        cause = regs.enum(f"errlog.entry[{i}].cause.cause") or "?"
        entry = f"errlog.entry[{i}]"
        status = _status_name(regs.field(f"{entry}.cause.status")) if cause == "cmd_rejected" else None
        out.append(ErrlogEntry(cause, regs.read(f"{entry}.addr"), regs.read(f"{entry}.pc"),
                               regs.read(f"{entry}.tick"), status))
    return out


class Recovery:
    """The engine's fault handler for one opened device."""

    def __init__(self, device: Device) -> None:
        self.device = device
        self.active = False
        self.errlog_seen = 0  # errlog.count already reported (the log survives a retry, not a reset)

    def handle(self, fault: Fault) -> None:
        dev = self.device
        if self.active:  # a fault while recovering: the outer recovery sees the device fail
            raise DeviceLost(f"device fault during recovery: {fault.kind}: {fault.detail}")
        self.active = True
        try:
            report = self._recover(fault)
        except DriverError as exc:
            lost = DeviceLost(f"recovery from {fault.kind} failed: {exc}")
            for cmd in dev.engine.pending.values():  # each waiter learns it, none is dropped silently
                cmd.error = lost
            dev.engine.pending.clear()
            log.error("%s", lost)
            raise lost from exc
        finally:
            self.active = False
        dev.recoveries.append(report)
        log.warning("%s", report)

    def _recover(self, fault: Fault) -> RecoveryReport:
        dev, engine, regs = self.device, self.device.engine, self.device.regs
        errlog = tuple(read_errlog(regs, self.errlog_seen))
        self.errlog_seen = regs.read("errlog.count")
        dma = regs.enum("dma.err_cause.cause")
        before = set(engine.pending)
        if fault.kind == "device_error" and fault.command is not None:
            engine.regs.write("dma.err_cause", 0)  # any write clears it
            engine.retry(fault.command)
            return RecoveryReport(fault.kind, fault.detail, fault.tick, errlog,
                                  dma if dma not in (None, "none") else None, (), (fault.command,), (),
                                  dev.bus.now(), reset=False)
        if fault.kind == "timeout":
            engine.reap()  # published but unseen completions still count
        completed = tuple(sorted(before - set(engine.pending)))
        dev.restart()
        self.errlog_seen = 0
        pending_before = set(engine.pending)
        resubmitted = tuple(engine.resubmit())
        failed = tuple(sorted(pending_before - set(resubmitted)))
        return RecoveryReport(fault.kind, fault.detail, fault.tick, errlog,
                              dma if dma not in (None, "none") else None, completed, resubmitted, failed,
                              dev.live.ready_tick if dev.live else dev.bus.now())
