"""Register and memory access from outside the core: the host's BAR0/BAR2 and the core's MMIO port.

The host interface, as the driver's in-process bus calls it (all on `Device`):

- `bar0_read(offset, width, origin=None) -> int`, `bar0_write(offset, width, value, origin=None)`:
  one register access, 8/16/32 bits at offset N of BAR0 = firmware MMIO 0x1000_0000 + N.
  Firmware-only registers read 0 and ignore writes (the register file's rule). Each access
  happens at the current tick and then costs `bar0_latency_ticks` of device time.
- `bar2_read(offset, n) -> bytes`, `bar2_write(offset, data)`: bulk access to HBM at
  offset N = device address hbm.base + N; costs a fixed latency plus n / bandwidth.
- `host_irq_pending() -> bool`, `advance(ticks)`, `run_until(predicate, timeout_ticks)`.

`origin` is whatever the caller wants observers to see as the access's origin (a call
site); firmware accesses carry the pc. The device runs during an access's latency; a
debugger stop of the core in that time ends the latency early (the device's `on_stop`
hooks see it, and the next access or `advance` continues). This module also serves the host-side effects of
the `ctrl` block (soft reset, run/halt) and the firmware load window (`fw_load`).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from firmware.hw.regfile import UnmappedError
from isa.errors import NpuError

if TYPE_CHECKING:
    from firmware.hw.device import Device

MASK32 = 0xFFFFFFFF
WIDTHS = (1, 2, 4)


class BusError(NpuError):
    """A host access the device cannot serve (bad width, alignment or range)."""


def _check(offset: int, width: int, span: int, what: str) -> None:
    if width not in WIDTHS:
        raise BusError(f"{what}: width {width} at offset 0x{offset:x} (use 1, 2 or 4 bytes)")
    if offset % width:
        raise BusError(f"{what}: offset 0x{offset:x} is not aligned to {width} bytes")
    if not 0 <= offset < span:
        raise BusError(f"{what}: offset 0x{offset:x} outside BAR0 (0x{span:x} bytes)")


class Bars:
    """BAR0 and BAR2 as the host sees them."""

    def __init__(self, dev: Device) -> None:
        self.dev = dev
        self.mmio = dev.config.mmio
        self._span = self.mmio.size
        self._latency = dev.config.bar0_latency_ticks
        self.hbm = dev.config.hbm
        self._load_ranges = [(r.base, r.end) for r in (dev.config.region("itcm"), dev.config.region("dtcm"))]
        dev.on_reg_write("ctrl.soft_reset", self._soft_reset)
        dev.on_reg_write("ctrl.run", self._run_written)
        dev.on_reg_write("fw_load.data", self._load_write)
        dev.on_reg_read("fw_load.data", self._load_read)

    # ------------------------------------------------------------ BAR0

    def bar0_read(self, offset: int, width: int = 4, origin: Any = None) -> int:
        dev = self.dev
        if width == 4 and not offset & 3 and 0 <= offset < self._span:  # a whole register
            try:
                value = dev.regs.read(offset, "host", origin)
            except UnmappedError:
                value = 0
        else:
            _check(offset, width, self._span, "BAR0 read")
            value = sub_read(dev, offset, width, "host", origin)
        dev.host_latency(self._latency)
        return value

    def bar0_write(self, offset: int, width: int, value: int, origin: Any = None) -> None:
        dev = self.dev
        if width == 4 and not offset & 3 and 0 <= offset < self._span:  # a whole register
            # (contextlib.suppress would cost more than the write itself)
            try:  # noqa: SIM105
                dev.regs.write(offset, value, "host", origin)
            except UnmappedError:
                pass  # unmapped MMIO ignores writes
        else:
            _check(offset, width, self._span, "BAR0 write")
            sub_write(dev, offset, width, value, "host", origin)
        dev.host_latency(self._latency)

    # ------------------------------------------------------------ BAR2

    def _hbm_range(self, offset: int, n: int, what: str) -> int:
        if offset < 0 or n < 0 or offset + n > self.hbm.size:
            raise BusError(f"{what}: 0x{offset:x}+0x{n:x} outside BAR2 (HBM, 0x{self.hbm.size:x} bytes)")
        return self.hbm.base + offset

    def _bulk_cost(self, n: int) -> None:
        c = self.dev.config
        self.dev.advance(c.bar2_latency_ticks + -(-n // c.bar2_bytes_per_tick))

    def bar2_read(self, offset: int, n: int) -> bytes:
        data = self.dev.core.read_mem(self._hbm_range(offset, n, "BAR2 read"), n)
        self._bulk_cost(n)
        return data

    def bar2_write(self, offset: int, data: bytes) -> None:
        self.dev.core.write_mem(self._hbm_range(offset, len(data), "BAR2 write"), bytes(data))
        self._bulk_cost(len(data))

    # ------------------------------------------------------------ ctrl and load window

    def _soft_reset(self, value: int, side: str, origin: Any) -> None:
        if value & 1:
            self.dev.request_reset()

    def _run_written(self, value: int, side: str, origin: Any) -> None:
        dev = self.dev
        if value & 1 and dev.halted is not None and dev.halted in ("off", "host"):
            if dev.halted == "off":
                dev.boot()
            else:
                dev.resume()
        elif not value & 1 and dev.halted is None:
            dev.halt("host")

    def _load_target(self) -> int | None:
        addr = self.dev.regs.peek("fw_load.addr")
        for base, end in self._load_ranges:
            if base <= addr and addr + 4 <= end:
                return addr
        status = self.dev.regs.peek("fw_load.status")
        self.dev.reg_set("fw_load.status", status | 1)
        return None

    def _load_step(self, addr: int) -> None:
        dev = self.dev
        dev.reg_set("fw_load.addr", (addr + 4) & MASK32)

    def _load_write(self, value: int, side: str, origin: Any) -> None:
        addr = self._load_target()
        if addr is None:
            return
        self.dev.core.write_mem(addr, (value & MASK32).to_bytes(4, "little"))
        status = self.dev.regs.peek("fw_load.status")
        words = ((status >> 16) + 1) & 0xFFFF
        self.dev.reg_set("fw_load.status", (status & 0xFFFF) | (words << 16))
        self._load_step(addr)

    def _load_read(self, side: str, origin: Any) -> None:
        addr = self._load_target()
        if addr is None:
            self.dev.regs.poke("fw_load.data", 0)
            return
        self.dev.regs.poke("fw_load.data", int.from_bytes(self.dev.core.read_mem(addr, 4), "little"))
        self._load_step(addr)


# ---------------------------------------------------------------- sub-word access


def sub_read(dev: Device, key: int, width: int, side: str, origin: Any) -> int:
    """An 8/16/32-bit read at `key` (a BAR0 offset or an MMIO address): the register is read and sliced."""
    base = key & ~3
    try:
        value = dev.regs.read(base, side, origin)
    except UnmappedError:
        return 0  # unmapped MMIO reads 0, as on the bus of most SoCs
    shift = (key - base) * 8
    return (value >> shift) & ((1 << (8 * width)) - 1)


def sub_write(dev: Device, key: int, width: int, value: int, side: str, origin: Any) -> None:
    """An 8/16/32-bit write: only the written byte lanes of the register change."""
    base = key & ~3
    shift = (key - base) * 8
    lanes = ((1 << (8 * width)) - 1) << shift
    with contextlib.suppress(UnmappedError):  # unmapped MMIO ignores writes
        dev.regs.write(base, (value << shift) & lanes, side, origin, lanes=-1 if width == 4 else lanes)


class MmioPort:
    """The core's MMIO handler: firmware accesses with side "firmware" and origin = pc."""

    def __init__(self, dev: Device) -> None:
        self.dev = dev

    def read(self, addr: int, size: int) -> int:
        dev = self.dev
        dev.sync()
        if size == 4 and not addr & 3:  # a whole register
            try:
                return dev.regs.read(addr, "firmware", dev.core.pc)
            except UnmappedError:
                return 0
        return sub_read(dev, addr, size, "firmware", dev.core.pc)

    def write(self, addr: int, size: int, value: int) -> None:
        dev = self.dev
        dev.sync()
        sub_write(dev, addr, size, value, "firmware", dev.core.pc)
        dev.after_callback(register_write=True)
