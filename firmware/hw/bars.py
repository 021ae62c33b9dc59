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
site); firmware accesses carry the pc. A 32-bit BAR0 access to a register the register
file lists in its host access plan (`host_reads`/`host_writes`: plain storage, no hook,
no observer) reads or stores the value directly; every other access, and every access
while something observes the register file, takes the register file's full path. Either
way the access then costs its latency: when it ends before the device's idle horizon
(`clock.horizon`) that is one add, inline; otherwise `Device.host_latency`. The device runs
during an access's latency; a debugger stop of the core in that time ends the latency
early (the device's `on_stop` hooks see it, and the next access or `advance` continues).
This module also serves the host-side effects of the `ctrl` block (soft reset, run/halt)
and the firmware load window (`fw_load`).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, NamedTuple

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


class HostTransfer(NamedTuple):
    """The host's side of a race: one BAR2 transfer (what `Race.second` describes)."""

    kind: str  # "read" or "write"
    offset: int  # in BAR2
    n: int
    issue: int  # tick
    pipe: str = "host"
    pc: int = 0  # (the host has none; error reports take the address instead)

    def describe(self) -> str:
        return f"host BAR2 {self.kind} of {self.n} bytes at BAR2+0x{self.offset:x}"


class Bars:
    """BAR0 and BAR2 as the host sees them."""

    def __init__(self, dev: Device) -> None:
        self.dev = dev
        self.mmio = dev.config.mmio
        self._span = self.mmio.size
        self._latency = dev.config.bar0_latency_ticks
        self._plain_reads = dev.regs.host_reads  # the register file keeps these up to date
        self._plain_writes = dev.regs.host_writes
        self.hbm = dev.config.hbm
        self._load_ranges = [(r.base, r.end) for r in (dev.config.region("itcm"), dev.config.region("dtcm"))]
        dev.on_reg_write("ctrl.soft_reset", self._soft_reset)
        dev.on_reg_write("ctrl.run", self._run_written)
        dev.on_reg_write("fw_load.data", self._load_write)
        dev.on_reg_read("fw_load.data", self._load_read)
        self.bar0_read, self.bar0_write = self._host_accesses()  # type: ignore[method-assign]

    # ------------------------------------------------------------ BAR0

    def _host_accesses(self) -> tuple[Any, Any]:
        """`bar0_read` and `bar0_write` as closures over what they use (no attribute lookups on
        the hot path): a plain register while the device idles costs a lookup, a store and an add."""
        dev, clock, latency = self.dev, self.dev.clock, max(0, self._latency)  # (as `advance` takes it)
        horizon = clock.horizon  # (one object for the device's life: `Clock.load_state` keeps it)
        plain_read, plain_write = self._plain_reads.get, self._plain_writes.get
        general_read, general_write = self._read, self._write

        def bar0_read(offset: int, width: int = 4, origin: Any = None) -> int:
            slot = plain_read(offset)
            if slot is not None and width == 4:
                value = slot.value
                t = clock.now + latency
                if t < horizon.until:
                    clock.now = t
                    return value
            else:
                value = general_read(offset, width, origin)
            dev.host_latency(latency)
            return value

        def bar0_write(offset: int, width: int, value: int, origin: Any = None) -> None:
            slot = plain_write(offset)
            if slot is not None and width == 4:
                slot.value = value & slot.mask
                t = clock.now + latency
                if t < horizon.until:
                    clock.now = t
                    return
            else:
                general_write(offset, width, value, origin)
            dev.host_latency(latency)

        return bar0_read, bar0_write

    def _read(self, offset: int, width: int, origin: Any) -> int:
        """The general path: the register file's read with its effects, hooks and observers."""
        _check(offset, width, self._span, "BAR0 read")
        try:
            return self.dev.regs.read(offset, "host", origin, width)
        except UnmappedError:
            return 0  # unmapped MMIO reads 0, as on the bus of most SoCs

    def _write(self, offset: int, width: int, value: int, origin: Any) -> None:
        _check(offset, width, self._span, "BAR0 write")
        # (contextlib.suppress would cost more than the write itself)
        try:  # noqa: SIM105
            self.dev.regs.write(offset, value & ((1 << 8 * width) - 1), "host", origin, width=width)
        except UnmappedError:
            pass  # unmapped MMIO ignores writes

    # ------------------------------------------------------------ BAR2

    def _hbm_range(self, offset: int, n: int, what: str) -> int:
        if offset < 0 or n < 0 or offset + n > self.hbm.size:
            raise BusError(f"{what}: 0x{offset:x}+0x{n:x} outside BAR2 (HBM, 0x{self.hbm.size:x} bytes)")
        return self.hbm.base + offset

    def _bulk_cost(self, n: int) -> None:
        c = self.dev.config
        self.dev.advance(c.bar2_latency_ticks + -(-n // c.bar2_bytes_per_tick))

    def bar2_read(self, offset: int, n: int) -> bytes:
        addr = self._hbm_range(offset, n, "BAR2 read")
        self._races("read", offset, addr, n)
        data = self.dev.core.read_mem(addr, n)
        self._bulk_cost(n)
        return data

    def bar2_write(self, offset: int, data: bytes) -> None:
        addr = self._hbm_range(offset, len(data), "BAR2 write")
        self._races("write", offset, addr, len(data))
        self.dev.core.write_mem(addr, bytes(data))
        self._bulk_cost(len(data))

    def _races(self, kind: str, offset: int, addr: int, n: int) -> None:
        """Report the in-flight DMA (or unit) work this transfer overlaps, as the pipes' races are:
        a host write into what it still reads or writes, a host read of what it still writes."""
        dev = self.dev
        if not dev.hazards.inflight or n <= 0:
            return
        dev.pipes.advance(dev.sync())  # work that ended by now is not in flight
        touched, untouched = ((addr, n),), ()
        reads, writes = (touched, untouched) if kind == "read" else (untouched, touched)
        races = dev.hazards.overlapping(HostTransfer(kind, offset, n, dev.now), reads, writes)
        if races:
            dev.front.report_races(races)  # the one place races are kept, hooked and (strict) made errors

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
    """An 8/16/32-bit read at `key` (a BAR0 offset or an MMIO address); unmapped reads 0."""
    try:
        return dev.regs.read(key, side, origin, width)
    except UnmappedError:
        return 0  # unmapped MMIO reads 0, as on the bus of most SoCs


def sub_write(dev: Device, key: int, width: int, value: int, side: str, origin: Any) -> None:
    """An 8/16/32-bit write: only the written byte lanes of the register change."""
    with contextlib.suppress(UnmappedError):  # unmapped MMIO ignores writes
        dev.regs.write(key, value & ((1 << 8 * width) - 1), side, origin, width=width)


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
