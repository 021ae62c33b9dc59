"""The bare-metal runner: one RV32IM ELF on the core alone, with the device's memory map but no device.

This module owns the runner's conventions, the ones riscv-tests and bare-metal
GCC programs expect:
- the ELF's loadable segments are written into the memory map; execution starts
  at the entry point with `sp` at the top of DTCM;
- `ecall` with `a7 = 93` exits with the code in `a0`; any other ecall is reported
  as unsupported;
- a store to the ELF's `tohost` symbol (HTIF convention of Spike and riscv-tests)
  ends the run: 1 is a pass, `(n << 1) | 1` is failure n (a store of 0, such
  as start-up code clearing it, does not);
- an exception taken while `mtvec` is 0 (the program installed no trap handler)
  stops the run and is reported with its cause; once a program sets `mtvec`, its
  handler takes exceptions as the core delivers them;
- `wfi` stops the run: with no device, no interrupt can ever wake the core.

`run_program` returns a `RunResult`; `python -m isa.run` (isa/run/__main__.py)
prints it. Nothing here prints or exits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from isa.elfread import Program, load_elf
from isa.errors import NpuError
from isa.memmap import region
from isa.registers import register_table

DEFAULT_MAX_INSNS = 100_000_000
EXIT_SYSCALL = 93
TOHOST_SYMBOL = "tohost"
SYSCALL_REG = 17  # a7
RESULT_REG = 10  # a0
STACK_REG = 2  # sp
# RISC-V privileged spec, mcause values of synchronous exceptions (interrupts have bit 31 set).
# Exception causes by mcause, from the register table (the one list of causes).
CAUSES = {c.code: c.desc for c in register_table().exceptions()}
ILLEGAL_INSTRUCTION = 2


class RunError(NpuError):
    """The program cannot be run: not a loadable image for this memory map."""


@dataclass
class RunResult:
    """How a run ended, with the state a caller checks afterwards.

    status is "exit" (ecall 93), "pass" / "fail" (tohost), "budget" (max_insns
    reached), "fault" (a guest error the program did not handle) or
    "interrupted" (`core.request_stop()`, e.g. on Ctrl-C).
    """

    status: str
    code: int  # the program's exit code or fail number; -1 for budget, fault and interrupted
    instret: int
    pc: int  # the instruction that ended the run (ecall, store, fault); the next one for "budget"
    regs: list[int]
    message: str  # one line describing the stop (the fault line for faults)
    trace: list[int] = field(default_factory=list)  # executed pcs, when asked for

    @property
    def ok(self) -> bool:
        return self.status in ("exit", "pass") and self.code == 0


def load(source: bytes | str | Path | Program) -> Program:
    return source if isinstance(source, Program) else load_elf(source)


class Runner:
    """A core loaded with one program; `run` drives it to a stop the runner understands."""

    def __init__(self, program: Program, config: str = "default") -> None:
        from isa.core import Core

        self.program = program
        self.core = Core(config=config)
        for seg in program.segments:
            self._load_segment(seg.addr, seg.memsz, seg.data, config)
        self.core.pc = program.entry
        self.core.regs[STACK_REG] = region("dtcm", config).end
        self.core.stop_on_ecall = True
        self.core.catch_traps = set(CAUSES) - {8, 11}
        self.tohost = program.address_of(TOHOST_SYMBOL)
        if self.tohost is not None:
            self.core.add_watchpoint(self.tohost, 4, "write")

    def _load_segment(self, addr: int, memsz: int, data: bytes, config: str) -> None:
        ram = _ram_regions(config)
        if not any(r.contains(addr, max(memsz, 1)) for r in ram):
            names = ", ".join(r.name.upper() for r in ram)
            raise RunError(f"segment at 0x{addr:08x} ({memsz} bytes) is outside the device's memory "
                           f"(it must lie within one of {names})")
        self.core.write_mem(addr, data)
        if memsz > len(data):
            self.core.write_mem(addr + len(data), bytes(memsz - len(data)))

    def symbol(self, addr: int) -> str | None:
        """`main` or `main+0x8` for an address inside one of the ELF's sections, else None."""
        if self.program.section_at(addr) is None:
            return None
        found = self.program.symbol_at(addr)
        if found is None:
            return None
        sym, offset = found
        return sym.name if offset == 0 else f"{sym.name}+0x{offset:x}"

    def where(self, pc: int) -> str:
        """`0x00000010 <main+0x8>`: an address as the messages show it."""
        name = self.symbol(pc)
        return f"0x{pc:08x}" + (f" <{name}>" if name else "")

    def run(self, max_insns: int, on_trace: Callable[[Sequence[int]], None] | None = None) -> RunResult:
        from isa.core import KIND_EXEC
        from isa.run.stops import classify

        core = self.core
        if on_trace is not None:
            core.trace_pcs(True)
        start = core.instret
        while True:
            left = max_insns - (core.instret - start)
            stop = core.run(max_insns=max(left, 0))
            if on_trace is not None:
                entries = core.drain_trace()
                on_trace(entries["pc"][entries["kind"] == KIND_EXEC])
            outcome = classify(self, stop, max_insns)
            if outcome is not None:
                status, code, pc, message = outcome
                return RunResult(status, code, core.instret - start, pc,
                                 [core.regs[i] & 0xFFFFFFFF for i in range(32)], message)


def _ram_regions(config: str) -> list:
    from isa.memmap import memory_map

    return [r for r in memory_map(config) if r.kind in ("ram", "lazy")]


def run_program(source: bytes | str | Path | Program, *, max_insns: int = DEFAULT_MAX_INSNS,
                config: str = "default", trace: bool = False) -> RunResult:
    """Load and run one program; raises RunError (or ElfError) when it cannot be loaded."""
    runner = Runner(load(source), config)
    pcs: list[int] = []
    result = runner.run(max_insns, (lambda chunk: pcs.extend(int(p) for p in chunk)) if trace else None)
    result.trace = pcs
    return result


__all__ = ["DEFAULT_MAX_INSNS", "RunError", "RunResult", "Runner", "run_program"]
