"""`Plan`: one validated unit instruction, split from its execution.

A unit's `plan(...)` checks everything at issue (raising DeviceFault there), records the
byte ranges the instruction will read and write (for hazard checking) and its cost in
unit cycles; `execute()` does the numpy work when the pipe model retires it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

Ranges = list[tuple[int, int]]  # (guest address, byte count)


@dataclass
class Plan:
    """What an issued instruction touches and costs, and the callable that performs it."""

    reads: Ranges
    writes: Ranges
    cycles: int
    execute: Callable[[], None] = field(repr=False)
    what: str = ""  # one line for timelines and race reports, e.g. "dma hbm->l0a 65536 B"
    deferred: bool = False  # `execute` queues the work for the units' worker thread (see units.blas)

    def copy(self) -> Plan:
        """A plan of its own for one issue (units hand out copies of memoised plans)."""
        return Plan(list(self.reads), list(self.writes), self.cycles, self.execute, self.what,
                    self.deferred)


def row_ranges(addr: int, rows: int, row_bytes: int, stride: int) -> Ranges:
    """The exact byte ranges of a strided block: one range when rows are packed, else one per row."""
    if rows <= 1 or stride == row_bytes:
        return [(addr, rows * row_bytes)] if rows > 0 else []
    starts = range(addr, addr + rows * stride, stride)
    return list(zip(starts, itertools.repeat(row_bytes, rows), strict=True))


def reset_cfg() -> dict[str, int]:
    """The npu.cfg registers at their reset values, by name (from the instruction table's [cfg])."""
    from isa.spec import instruction_set

    return {reg.name: reg.reset for reg in instruction_set().cfg.values()}


def signed32(value: int) -> int:
    """A 32-bit register value read as two's complement."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value
