"""Interrupt lines and device errors: host IRQ, the core's external interrupt, the error log.

- Host IRQ line = host_irq.status & host_irq.mask. Causes are latched into status (and
  raw) when the device or the firmware (host_irq.raise) raises them; the host clears
  them with W1C. An injected `lost_irq` drops the next one.
- The core's external interrupt = core_irq.pending & core_irq.enable. A host doorbell
  write sets its queue's pending bit, a host write of version.abi_selected sets
  `handshake`; firmware clears them with W1C.
- A device error (unit fault, deadlock, strict race, watchdog, firmware report) appends
  an error-log entry (cause, address, pc, tick), fills the dma error registers for DMA
  causes, and raises a host IRQ cause (dma_error, watchdog, or fw_fatal).
- A firmware write of fw_err.log only appends an error-log entry (cause and status from
  fw_err.cause, fw_err.addr, the writer's pc, tick): a command the firmware rejected is
  the host's business through its completion, not a fault, so no IRQ and no device error.
- A firmware write of a queue's cq_tail is a *completion write*: the `completion`
  event, the `corrupt_completion` injection point, and perf.cmd_done.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from firmware.hw.units import blas
from isa.errors import NpuError

if TYPE_CHECKING:
    from firmware.hw.device import Device

ERRLOG_ENTRIES = 8
QUEUES = ("queue0", "queue1")
MASK32 = 0xFFFFFFFF


@dataclass(frozen=True)
class DeviceError:
    """One reported device error."""

    cause: str  # a name of the register map's device_error_e
    addr: int | None
    pc: int | None
    tick: int
    detail: str

    def __str__(self) -> str:
        pc = f" (pc 0x{self.pc:08x})" if self.pc is not None else ""
        return f"device error {self.cause} at tick {self.tick}{pc}: {self.detail}"


def host_cause_for(cause: str) -> str:
    """The host_irq bit a device error raises."""
    if cause.startswith("dma_") or cause == "injected":
        return "dma_error"
    if cause == "watchdog":
        return "watchdog"
    return "fw_fatal"


class Interrupts:
    """Host and core interrupt lines, and the error log, on the device's register file."""

    def __init__(self, dev: Device) -> None:
        self.dev = dev
        self.status = dev.regs.map.register("host_irq.status")
        self._status_slot = dev.regs.slot("host_irq.status")  # never replaced (see RegisterFile.slot)
        self._mask_slot = dev.regs.slot("host_irq.mask")
        self.bits = {f.name: f.mask for f in self.status.fields}
        core_irq = dev.regs.map.register("core_irq.pending")
        self.core_bits = {f.name: f.mask for f in core_irq.fields}
        dev.on_reg_write("host_irq.raise", self._fw_raise)
        dev.on_reg_write("host_irq.status", self._status_written)
        dev.on_reg_write("host_irq.mask", lambda *_: self._host_changed())
        dev.on_reg_write("core_irq.pending", lambda *_: self.update_core())
        dev.on_reg_write("core_irq.enable", lambda *_: self.update_core())
        dev.on_reg_write("version.abi_selected", self._abi_selected)
        dev.on_reg_write("fw_err.report", self._fw_report)
        dev.on_reg_write("fw_err.log", self._fw_log)
        for i, q in enumerate(QUEUES):
            dev.on_reg_write(f"{q}.sq_doorbell", lambda v, side, origin, i=i: self._doorbell(i, v, side))
            dev.on_reg_write(f"{q}.cq_tail", lambda v, side, origin, q=q: self._cq_tail(q, v, side))
        self.reset()

    def reset(self) -> None:
        self.line = False
        self._cq_tails = dict.fromkeys(QUEUES, 0)

    # ------------------------------------------------------------ host line

    def host_line(self) -> bool:
        # The stored values, read from the registers' slots (asked once per round of the run loop).
        return bool(self._status_slot.value & self._mask_slot.value)

    def raise_host(self, cause: str) -> None:
        """Latch a host interrupt cause (a field name of host_irq.status)."""
        dev = self.dev
        dev.event("irq")
        if dev.injector.take("lost_irq", dev.now):
            return
        bit = self.bits[cause]
        dev.reg_set("host_irq.status", dev.regs.peek("host_irq.status") | bit)
        dev.reg_set("host_irq.raw", dev.regs.peek("host_irq.raw") | bit)
        self._host_changed()

    def _fw_raise(self, value: int, side: str, origin: Any) -> None:
        for name, bit in self.bits.items():
            if value & bit:
                self.raise_host(name)

    def _status_written(self, value: int, side: str, origin: Any) -> None:
        regs = self.dev.regs
        self.dev.reg_set("host_irq.raw", regs.peek("host_irq.raw") & regs.peek("host_irq.status"))
        self._host_changed()

    def _host_changed(self) -> None:
        line = self.host_line()
        if line and not self.line:
            self.dev.cut_slice()  # let a waiting host see it at once
        self.line = line

    # ------------------------------------------------------------ core line

    def update_core(self) -> None:
        regs = self.dev.regs
        level = bool(regs.peek("core_irq.pending") & regs.peek("core_irq.enable"))
        self.dev.core.set_interrupt("external", level)
        if level:
            self.dev.cut_slice()

    def _set_core_pending(self, name: str) -> None:
        self.dev.reg_set("core_irq.pending", self.dev.regs.peek("core_irq.pending") | self.core_bits[name])
        self.update_core()

    def _doorbell(self, queue: int, value: int, side: str) -> None:
        if side == "host" and value & 1:
            self.dev.event("doorbell")
            self._set_core_pending(f"sq{queue}")

    def _abi_selected(self, value: int, side: str, origin: Any) -> None:
        if side == "host":
            self._set_core_pending("handshake")

    # ------------------------------------------------------------ completions

    def _cq_tail(self, queue: str, value: int, side: str) -> None:
        dev = self.dev
        old, self._cq_tails[queue] = self._cq_tails[queue], value
        if side != "firmware":
            return
        dev.event("completion")
        size = dev.regs.peek(f"{queue}.cq_size")
        dev.reg_set("perf.cmd_done", (dev.regs.peek("perf.cmd_done") + ((value - old) % size if size else 1))
                    & MASK32)
        if dev.injector.take("corrupt_completion", dev.now):
            self._corrupt(queue, value, size)

    def _corrupt(self, queue: str, tail: int, size: int) -> None:
        """Invert the first word of the entry just published (the one before the new tail)."""
        dev = self.dev
        entry_bytes = dev.regs.map.decode(f"{queue}.entry_size", dev.regs.peek(f"{queue}.entry_size"))
        cq = next((f.value for f in entry_bytes if f.field == "cq"), 0) or dev.config.cq_entry_bytes
        index = (tail - 1) % size if size else 0
        addr = dev.regs.peek(f"{queue}.cq_base") + index * cq
        try:
            word = int.from_bytes(dev.core.read_mem(addr, 4), "little")
            dev.core.write_mem(addr, (word ^ MASK32).to_bytes(4, "little"))
        except NpuError as exc:  # a cq_base outside memory is the firmware's problem, not the host's
            dev.irq.device_error("injected", addr, None, f"corrupt completion: {exc}")

    # ------------------------------------------------------------ device errors

    def device_error(self, cause: str, addr: int | None, pc: int | None, detail: str,
                     cause_bit: str | None = None) -> DeviceError:
        """Log a device error, fill the error registers and interrupt the host."""
        dev = self.dev
        err = DeviceError(cause, addr, pc, dev.now, detail)
        if len(dev.errors) < dev.config.max_reports:
            dev.errors.append(err)
        else:
            dev.errors_dropped += 1  # the error log registers still see every one
        code = dev.cause_value(cause)
        self._errlog(code, addr or 0, pc or 0, dev.now)
        if host_cause_for(cause) == "dma_error":
            dev.reg_set("dma.err_cause", code)
            dev.reg_set("dma.err_addr", (addr or 0) & MASK32)
            dev.reg_set("dma.err_pc", (pc or 0) & MASK32)
        self.raise_host(cause_bit or host_cause_for(cause))
        if dev.on_error:
            blas.settle()  # (a hook may look at device memory: it sees what the model says)
            for hook in dev.on_error:
                hook(error=err)
        return err

    def _errlog(self, code: int, addr: int, pc: int, tick: int) -> None:
        dev, regs = self.dev, self.dev.regs
        i = regs.peek("errlog.write_idx")
        count = regs.peek("errlog.count")
        if count >= ERRLOG_ENTRIES:
            dev.reg_set("errlog.lost", (regs.peek("errlog.lost") + 1) & MASK32)
        dev.reg_set(f"errlog.entry[{i}].cause", code)
        dev.reg_set(f"errlog.entry[{i}].addr", addr & MASK32)
        dev.reg_set(f"errlog.entry[{i}].pc", pc & MASK32)
        dev.reg_set(f"errlog.entry[{i}].tick", tick & MASK32)
        dev.reg_set("errlog.write_idx", (i + 1) % ERRLOG_ENTRIES)
        dev.reg_set("errlog.count", (count + 1) & MASK32)

    def _fw_log(self, value: int, side: str, origin: Any) -> None:
        if side != "firmware" or not value & 1:
            return
        regs = self.dev.regs
        pc = origin if isinstance(origin, int) else 0
        self._errlog(regs.peek("fw_err.cause"), regs.peek("fw_err.addr"), pc, self.dev.now)

    def _fw_report(self, value: int, side: str, origin: Any) -> None:
        if side != "firmware" or not value & 1:
            return
        regs = self.dev.regs
        cause = regs.map.decode("fw_err.cause", regs.peek("fw_err.cause"))[0].enum or "fw_reported"
        self.device_error(cause, regs.peek("fw_err.addr"), origin if isinstance(origin, int) else None,
                          "reported by the firmware", cause_bit="fw_fatal")

    # ------------------------------------------------------------ snapshot

    def state(self) -> tuple[bool, dict[str, int]]:
        return self.line, dict(self._cq_tails)

    def load_state(self, state: tuple[bool, dict[str, int]]) -> None:
        self.line, tails = state
        self._cq_tails = dict(tails)
