"""Loading hand-written test programs into a Core with the project's assembler."""

from __future__ import annotations

from isa.asm import assemble
from isa.core import Core, StopReason


def load(core: Core, source: str) -> dict[str, int]:
    """Assemble `source`, write its sections, set pc to its entry; returns its symbols."""
    image = assemble(source)
    for s in image.sections:
        if s.data:
            core.write_mem(s.addr, bytes(s.data))
    core.pc = image.entry
    return {s.name: s.value for s in image.symbols}


def run_to_ecall(core: Core, max_insns: int = 1_000_000) -> int:
    """Run with ecall as the end of the program; returns the instruction count."""
    core.stop_on_ecall = True
    before = core.instret
    stop = core.run(max_insns=max_insns)
    assert stop.reason == StopReason.ECALL, stop
    return core.instret - before
