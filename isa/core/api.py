"""`Core`: the control core's Python API over the C interpreter.

Registers, pc, CSRs and counters read and write the C state directly; memory goes
through `Memory`; `run()` enters the C loop, which calls back into Python only for
MMIO accesses and Xnpu instructions, and returns a `Stop`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from isa.core import callbacks  # noqa: F401 - registers the extern "Python" functions
from isa.core._core import ffi, lib
from isa.core.debug import Breakpoints, Watchpoints
from isa.core.memory import Memory
from isa.core.stop import ACCESS_KINDS, Stop, StopReason
from isa.core.trace import DEFAULT_CAPACITY, TraceRing
from isa.errors import NpuError
from isa.memmap import Region, memory_map
from isa.registers import register_table

UNLIMITED = (1 << 64) - 1
PERMS = {"r": lib.PERM_R, "w": lib.PERM_W, "x": lib.PERM_X}
KINDS = {"ram": lib.KIND_RAM, "lazy": lib.KIND_LAZY, "mmio": lib.KIND_MMIO}
IRQ_LINES = {"software": lib.MIP_MSIP, "timer": lib.MIP_MTIP, "external": lib.MIP_MEIP}
XnpuHandler = Callable[["Core", int, int], None]


class Registers:
    """x0..x31 by number or ABI name; x0 reads 0 and ignores writes."""

    def __init__(self, core_ptr: object) -> None:
        self._x = core_ptr.a.x

    @property
    def raw(self) -> object:
        """The C register array itself, indexed by number only (device callbacks read operands
        through it, one per Xnpu instruction). Writes must not touch x0 and must fit 32 bits."""
        return self._x

    @staticmethod
    def _index(key: int | str) -> int:
        if isinstance(key, str):
            n = register_table().gpr_number(key)
            if n is None:
                raise NpuError(f"no register named '{key}'")
            return n
        if not 0 <= key < 32:
            raise NpuError(f"no register x{key}")
        return key

    def __getitem__(self, key: int | str) -> int:
        return int(self._x[self._index(key)])

    def __setitem__(self, key: int | str, value: int) -> None:
        n = self._index(key)
        if n:
            self._x[n] = value & 0xFFFFFFFF

    def __len__(self) -> int:
        return 32

    def __iter__(self) -> Iterator[int]:
        return (int(self._x[i]) for i in range(32))


@dataclass(frozen=True)
class Snapshot:
    """Architectural state (C `arch_t` bytes) and memory contents."""

    arch: bytes
    memory: dict[str, object]


class Core:
    """One RV32IM + Zicsr + Xnpu control core with its memory map."""

    def __init__(self, config: str = "default", regions: Iterable[Region] | None = None) -> None:
        self.memory = Memory(memory_map(config) if regions is None else regions)
        self._c = ffi.gc(lib.core_new(), lib.core_free)
        if self._c == ffi.NULL:
            raise MemoryError("cannot allocate the core")
        for b in self.memory.buffers:
            r = b.region
            host = ffi.NULL if b.array is None else ffi.cast("uint8_t *", ffi.from_buffer(b.array))
            perms = sum(bit for letter, bit in PERMS.items() if letter in r.perms)
            if lib.core_add_region(self._c, r.base, r.size, host, perms, KINDS[r.kind]) < 0:
                raise NpuError(f"region {r.name}: too many regions or no host memory for it")
        self._handle = ffi.new_handle(self)
        self._c.cb.user = self._handle
        self.regs = Registers(self._c)
        self.breakpoints = Breakpoints(self._c)
        self.watchpoints = Watchpoints(self._c)
        self.trace = TraceRing(self._c)
        self._mmio: object | None = None
        self._xnpu: XnpuHandler | None = None
        self.catch_traps: set[int] = set()
        self._in_callback: str | None = None
        self._callback_error: BaseException | None = None
        self._stop_detail: object = None
        # Called after this API writes a CSR or drives an interrupt line (what decides whether
        # a sleeping core wakes): a device that knows "nothing can wake it before tick T"
        # forgets that, whoever made the change (a debugger writing mie, a test).
        self.wake_state_changed: Callable[[], None] | None = None

    # ------------------------------------------------------------ state
    @property
    def pc(self) -> int:
        return int(self._c.a.pc)

    @pc.setter
    def pc(self, value: int) -> None:
        self._c.a.pc = value & 0xFFFFFFFF

    @staticmethod
    def _csr_number(csr: int | str) -> int:
        if isinstance(csr, str):
            n = register_table().csr_number(csr)
            if n is None:
                raise NpuError(f"no CSR named '{csr}'")
            return n
        return csr

    def csr(self, csr: int | str) -> int:
        out = ffi.new("uint32_t *")
        n = self._csr_number(csr)
        if lib.core_csr_read(self._c, n, out):
            raise NpuError(f"CSR {csr!r} ({n:#x}) is not implemented")
        return int(out[0])

    def set_csr(self, csr: int | str, value: int) -> None:
        n = self._csr_number(csr)
        if lib.core_csr_write(self._c, n, value & 0xFFFFFFFF):
            raise NpuError(f"CSR {csr!r} ({n:#x}) is read-only or not implemented")
        if self.wake_state_changed is not None:
            self.wake_state_changed()

    @property
    def cycles(self) -> int:
        return int(self._c.a.cycles)

    @cycles.setter
    def cycles(self, value: int) -> None:
        self._c.a.cycles = value

    @property
    def instret(self) -> int:
        return int(self._c.a.instret)

    @instret.setter
    def instret(self, value: int) -> None:
        self._c.a.instret = value

    def add_stall(self, cycles: int) -> None:
        """Time the core spends blocked (a barrier, a wait): it counts in mcycle, not minstret."""
        if cycles < 0:
            raise NpuError(f"stall of {cycles} cycles: must not be negative")
        self._c.a.cycles += cycles

    def set_time_base(self, tick: int, cycle: int, ticks_per_cycle: int) -> None:
        """Trace records made at cycle n are stamped tick + (n - cycle) * ticks_per_cycle from now on
        (a device gives its virtual time for each slice it runs; a bare core stamps cycles)."""
        lib.core_set_time_base(self._c, tick, cycle, ticks_per_cycle)

    def set_interrupt(self, line: str, level: bool) -> None:
        """Drive an interrupt line: "software", "timer" or "external" (mip.MSIP/MTIP/MEIP)."""
        bit = IRQ_LINES.get(line)
        if bit is None:
            raise NpuError(f"unknown interrupt line '{line}' (software, timer or external)")
        self._c.a.mip = (self._c.a.mip | bit) if level else (self._c.a.mip & ~bit)
        if self.wake_state_changed is not None:
            self.wake_state_changed()

    @property
    def stop_on_ecall(self) -> bool:
        return bool(self._c.stop_on_ecall)

    @stop_on_ecall.setter
    def stop_on_ecall(self, on: bool) -> None:
        self._c.stop_on_ecall = int(on)

    @property
    def stop_on_ebreak(self) -> bool:
        return bool(self._c.stop_on_ebreak)

    @stop_on_ebreak.setter
    def stop_on_ebreak(self, on: bool) -> None:
        self._c.stop_on_ebreak = int(on)

    # ------------------------------------------------------------ memory
    @property
    def regions(self) -> tuple[Region, ...]:
        """The memory map this core was built with, in address order."""
        return tuple(b.region for b in self.memory.buffers)

    def read_mem(self, addr: int, length: int) -> bytes:
        """Debugger read: ignores permissions; MMIO goes through `core.mmio`."""
        return self.memory.read(addr, length, self.mmio)

    def write_mem(self, addr: int, data: bytes) -> None:
        """Debugger/loader write: ignores permissions and keeps predecoded code coherent."""
        b = self.memory.write(addr, data, self.mmio)
        if b.region.executable:
            lib.core_invalidate(self._c, addr, len(data))

    def view(self, region_name: str) -> np.ndarray:
        """A zero-copy uint8 view of a region's buffer (read-only for executable regions)."""
        return self.memory.view(region_name)

    def set_fence(self, addr: int, flag_address: int) -> None:
        """Make the core's loads and stores in the RAM region holding `addr` first wait until the C
        `int` at `flag_address` is 0 (another thread's writes into it in flight); 0 removes it."""
        if not lib.core_set_fence(self._c, addr, ffi.cast("void *", flag_address)):
            raise NpuError(f"set_fence: 0x{addr:08x} is not in a RAM region")

    # ------------------------------------------------------------ callbacks
    @property
    def mmio(self) -> object | None:
        return self._mmio

    @mmio.setter
    def mmio(self, handler: object | None) -> None:
        """handler.read(addr, size) -> int, handler.write(addr, size, value); without one MMIO faults."""
        self._mmio = handler
        self._c.cb.mmio_read = ffi.NULL if handler is None else lib.py_mmio_read
        self._c.cb.mmio_write = ffi.NULL if handler is None else lib.py_mmio_write

    @property
    def xnpu(self) -> XnpuHandler | None:
        return self._xnpu

    @xnpu.setter
    def xnpu(self, handler: XnpuHandler | None) -> None:
        """handler(core, word, pc), once per Xnpu instruction; without one they are illegal."""
        self._xnpu = handler
        self._c.cb.xnpu = ffi.NULL if handler is None else lib.py_xnpu

    def raise_trap(self, cause: int, tval: int = 0) -> None:
        """Inside an Xnpu or MMIO handler: the instruction traps. Outside: take the trap now."""
        if self._in_callback:
            self._c.cb_trap, self._c.cb_cause, self._c.cb_tval = 1, cause, tval & 0xFFFFFFFF
        else:
            lib.core_deliver_trap(self._c, cause, tval & 0xFFFFFFFF)

    def shorten_run(self, until_cycle: int) -> None:
        """Inside an Xnpu or MMIO handler: end the current run() (reason BUDGET) once mcycle
        reaches `until_cycle`, when that is sooner than the run was given. Cheaper than
        `stop_with` plus a new run() when the caller only wants the run to end earlier."""
        if not self._in_callback:
            raise NpuError("shorten_run() is only meaningful inside an Xnpu or MMIO handler")
        c = self._c
        if until_cycle < c.until_cycle:
            c.until_cycle = max(0, until_cycle)
            c.need_check = 1  # the loop re-reads the limit after this instruction

    def stop_with(self, detail: object = None) -> None:
        """Inside an Xnpu or MMIO handler: end run() after this instruction (XNPU / MMIO)."""
        if not self._in_callback:
            raise NpuError("stop_with() is only meaningful inside an Xnpu or MMIO handler")
        self._c.cb_stop = 1
        self._stop_detail = detail

    # ------------------------------------------------------------ running
    def run(self, max_insns: int | None = None, until_cycle: int | None = None) -> Stop:
        """Run until a stop; `max_insns` bounds the instructions, `until_cycle` mcycle."""
        c = self._c
        c.catch_mask, c.catch_irq_mask = _catch_masks(self.catch_traps)
        self._callback_error = None
        self._stop_detail = None
        budget = UNLIMITED if max_insns is None else min(max(0, max_insns), UNLIMITED)
        until = UNLIMITED if until_cycle is None else min(max(0, until_cycle), UNLIMITED)
        reason = lib.core_run(c, budget, until)
        if self._callback_error is not None:
            exc, self._callback_error = self._callback_error, None
            raise exc
        return self._make_stop(StopReason(reason))

    def run_slice(self, until_cycle: int) -> int:
        """`run(until_cycle=...)` for a loop that runs the core in slices of time: the raw stop
        reason (a `StopReason` value), with no Stop record made; `stop_record` makes it when
        the caller needs one. Most slices end at `until_cycle` or where the device cut them."""
        c = self._c
        traps = self.catch_traps
        c.catch_mask, c.catch_irq_mask = _catch_masks(traps) if traps else (0, 0)
        self._callback_error = None
        self._stop_detail = None
        reason = lib.core_run(c, UNLIMITED, min(max(0, until_cycle), UNLIMITED))
        if self._callback_error is not None:
            exc, self._callback_error = self._callback_error, None
            raise exc
        return reason

    def stop_record(self, reason: int) -> Stop:
        """The Stop record of the run that just returned `reason` (see `run_slice`)."""
        return self._make_stop(StopReason(reason))

    def step(self) -> Stop:
        """Run one instruction (stepping over a breakpoint at pc)."""
        stop = self.run(max_insns=1)
        if stop.reason == StopReason.BUDGET:
            return Stop(StopReason.STEP, stop.pc)
        return stop

    def request_stop(self) -> None:
        """Thread-safe: the current (or next) run() returns STOP_REQUESTED at a boundary."""
        lib.core_request_stop(self._c)

    def _make_stop(self, reason: StopReason) -> Stop:
        s = self._c.stop
        pc = int(self._c.a.pc)
        insn_pc = int(s.insn_pc) if reason in _INSN_PC_REASONS else None
        if reason == StopReason.BREAKPOINT:
            return Stop(reason, pc, breakpoint=self.breakpoints.first_at(pc))
        if reason == StopReason.WATCHPOINT:
            wp = self.watchpoints.by_slot(int(s.watch))
            return Stop(reason, pc, insn_pc, watchpoint=wp.id, addr=int(s.addr), size=int(s.size),
                        kind=ACCESS_KINDS[int(s.kind)], old=int(s.oldv) if s.old_valid else None,
                        new=int(s.newv))
        if reason in (StopReason.TRAP, StopReason.DOUBLE_FAULT):
            return Stop(reason, pc, insn_pc, cause=int(s.cause), tval=int(s.tval))
        if reason == StopReason.MMIO:
            return Stop(reason, pc, insn_pc, addr=int(s.addr), size=int(s.size),
                        kind=ACCESS_KINDS[int(s.kind)], new=int(s.newv), detail=self._stop_detail)
        if reason == StopReason.XNPU:
            return Stop(reason, pc, insn_pc, detail=self._stop_detail)
        return Stop(reason, pc, insn_pc)

    # ------------------------------------------------------------ debugging
    def add_breakpoint(self, addr: int) -> int:
        return self.breakpoints.add(addr)

    def remove_breakpoint(self, bp: int) -> None:
        self.breakpoints.remove(bp)

    def add_watchpoint(self, addr: int, size: int, kind: str) -> int:
        return self.watchpoints.add(addr, size, kind)

    def remove_watchpoint(self, wp: int) -> None:
        self.watchpoints.remove(wp)

    def trace_memory(self, on: bool, mode: str = "stop", capacity: int = DEFAULT_CAPACITY) -> None:
        self.trace.configure(on, self.trace.pcs, mode, capacity)

    def trace_pcs(self, on: bool, mode: str = "stop", capacity: int = DEFAULT_CAPACITY) -> None:
        self.trace.configure(self.trace.memory, on, mode, capacity)

    def drain_trace(self) -> np.ndarray:
        return self.trace.drain()

    @property
    def trace_dropped(self) -> int:
        return self.trace.dropped

    # ------------------------------------------------------------ snapshots
    def snapshot(self) -> Snapshot:
        return Snapshot(bytes(ffi.buffer(ffi.addressof(self._c, "a"))), self.memory.snapshot())

    def restore(self, snap: Snapshot) -> None:
        ffi.buffer(ffi.addressof(self._c, "a"))[:] = snap.arch
        self.memory.restore(snap.memory)
        for b in self.memory.buffers:
            if b.region.executable:
                lib.core_invalidate(self._c, b.region.base, b.region.size)
        lib.core_reset_caches(self._c)


_INSN_PC_REASONS = {StopReason.WATCHPOINT, StopReason.TRAP, StopReason.ECALL, StopReason.EBREAK,
                    StopReason.WFI, StopReason.XNPU, StopReason.MMIO, StopReason.DOUBLE_FAULT}


def _catch_masks(causes: Iterable[int]) -> tuple[int, int]:
    """Bit masks of caught exception codes and interrupt codes (mcause bit 31)."""
    exc = irq = 0
    for cause in causes:
        code = cause & 0x7FFFFFFF
        if code >= 32:
            raise NpuError(f"cannot catch mcause {cause:#x}: code {code} is out of range")
        if cause & 0x80000000:
            irq |= 1 << code
        else:
            exc |= 1 << code
    return exc, irq
