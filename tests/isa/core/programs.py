"""Loading hand-written test programs into a Core with the project's assembler."""

from __future__ import annotations

from isa.asm import assemble
from isa.core import Core, Stop, StopReason
from isa.memmap import region

DTCM = region("dtcm").base
STACK_TOP = region("dtcm").end


def load(core: Core, source: str) -> dict[str, int]:
    """Assemble `source`, write its sections, set pc to its entry; returns its symbols."""
    image = assemble(source)
    for s in image.sections:
        if s.data:
            core.write_mem(s.addr, bytes(s.data))
    core.pc = image.entry
    return {s.name: s.value for s in image.symbols}


def run_to(core: Core, symbols: dict[str, int], label: str = "done", max_insns: int = 1_000_000) -> Stop:
    """Run until the breakpoint at `label` (the test fails on any other stop)."""
    bp = core.add_breakpoint(symbols[label])
    try:
        stop = core.run(max_insns=max_insns)
    finally:
        core.remove_breakpoint(bp)
    assert stop.reason == StopReason.BREAKPOINT and stop.pc == symbols[label], stop
    return stop


def word(core: Core, addr: int) -> int:
    return int.from_bytes(core.read_mem(addr, 4), "little")


def words(core: Core, addr: int, n: int) -> list[int]:
    data = core.read_mem(addr, 4 * n)
    return [int.from_bytes(data[i:i + 4], "little") for i in range(0, 4 * n, 4)]


def signed(v: int) -> int:
    return v - (1 << 32) if v & 0x80000000 else v
