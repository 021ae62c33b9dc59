"""Running a generated program on the two engines and reading back comparable state.

Both engines get the device's ITCM and DTCM at their memory-map addresses, the
program at the ITCM base, the same registers and data region, and the same
instruction budget; both stop at the program's end address (unicorn with
`until`, our core with a breakpoint there). Each engine object is reused across
programs, as a fuzzing loop would, so stale code or caches would show up.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from rvgen import CODE_BASE, DATA_BASE, DATA_SIZE, MAX_INSNS, Program

from isa.memmap import region


@dataclass(frozen=True)
class State:
    """What must match after a run: x0..x31, pc and the data region."""

    regs: tuple[int, ...]
    pc: int
    data: bytes

    def digest(self) -> str:
        """A short fingerprint, for comparing runs made in another process."""
        raw = b"".join(r.to_bytes(4, "little") for r in self.regs) + self.pc.to_bytes(4, "little")
        return hashlib.sha256(raw + self.data).hexdigest()[:16]

    def diff(self, other: State) -> str:
        """A readable list of differences (empty when equal)."""
        if self == other:
            return ""
        lines = [f"x{i}: {a:#010x} != {b:#010x}"
                 for i, (a, b) in enumerate(zip(self.regs, other.regs, strict=True)) if a != b]
        if self.pc != other.pc:
            lines.append(f"pc: {self.pc:#010x} != {other.pc:#010x}")
        for i, (a, b) in enumerate(zip(self.data, other.data, strict=True)):
            if a != b:
                lines.append(f"data[{DATA_BASE + i:#x}]: {a:#04x} != {b:#04x}")
        return "\n".join(lines)


class UnicornEngine:
    """The reference: unicorn (QEMU's RISC-V translator) in RV32 mode."""

    def __init__(self) -> None:
        from unicorn import UC_ARCH_RISCV, UC_MODE_RISCV32, Uc
        from unicorn import riscv_const as rc

        self.uc = Uc(UC_ARCH_RISCV, UC_MODE_RISCV32)
        for name in ("itcm", "dtcm"):
            r = region(name)
            self.uc.mem_map(r.base, r.size)
        self.x = [rc.UC_RISCV_REG_X0 + i for i in range(32)]
        self.pc = rc.UC_RISCV_REG_PC

    def run(self, program: Program) -> State:
        uc = self.uc
        uc.mem_write(CODE_BASE, program.code())
        uc.ctl_flush_tb()  # translated blocks bake in the previous `until` address
        uc.mem_write(DATA_BASE, program.data)
        uc.reg_write_batch(list(zip(self.x[1:], program.regs[1:], strict=True)))
        uc.emu_start(CODE_BASE, program.end, count=MAX_INSNS)
        *regs, pc = uc.reg_read_batch([*self.x, self.pc])
        return State(tuple(r & 0xFFFFFFFF for r in regs), pc & 0xFFFFFFFF,
                     bytes(uc.mem_read(DATA_BASE, DATA_SIZE)))


class CoreEngine:
    """Our interpreter (isa.core), stopped by a breakpoint at the program's end."""

    def __init__(self) -> None:
        from isa.core import Core

        self.core = Core(config="default")

    def run(self, program: Program) -> State:
        core = self.core
        core.write_mem(CODE_BASE, program.code())
        core.write_mem(DATA_BASE, program.data)
        for i in range(1, 32):
            core.regs[i] = program.regs[i]
        core.pc = CODE_BASE
        bp = core.add_breakpoint(program.end)
        try:
            core.run(max_insns=MAX_INSNS)
        finally:
            core.remove_breakpoint(bp)
        regs = tuple(core.regs[i] & 0xFFFFFFFF for i in range(32))
        return State(regs, core.pc & 0xFFFFFFFF, bytes(core.read_mem(DATA_BASE, DATA_SIZE)))


def mismatch(program: Program, ours: CoreEngine, ref: UnicornEngine) -> str:
    """Differences between the engines on `program` (empty when they agree)."""
    return ours.run(program).diff(ref.run(program))


def shrink(program: Program, ours: CoreEngine, ref: UnicornEngine) -> Program:
    """Drop items one at a time while the engines still disagree."""
    i = 0
    while i < len(program.items):
        smaller = program.without(i)
        if smaller.items and mismatch(smaller, ours, ref):
            program = smaller
        else:
            i += 1
    return program
