"""Memory and instruction traces from the core's trace ring.

The C loop appends every load, store and (with `trace insn on`) executed pc to one
ring; nothing crosses into Python per instruction. When the ring fills, the core
stops with TRACE_FULL, the session's run loop hands that stop here, and the ring is
drained in bulk: numpy keeps the accesses that touch a traced range and the
executed pcs, and the run goes on. The ring is also drained at every stop and before
anything is shown or saved, so a trace is complete whenever someone looks at it,
even after a run that ended in an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from debugger.errors import DebuggerError
from isa.core import KIND_EXEC, KIND_READ, KIND_WRITE
from isa.core.trace import RECORD

if TYPE_CHECKING:
    from isa.core import Core

RING_CAPACITY = 1 << 18  # records per drain (24 bytes each)
INSN_LIMIT = 1_000_000  # executed pcs kept (the oldest are dropped and counted)
MEM_LIMIT = 4_000_000  # memory accesses kept
KIND_NAMES = {KIND_READ: "read", KIND_WRITE: "write", KIND_EXEC: "exec"}


@dataclass(frozen=True)
class MemRange:
    lo: int
    hi: int  # exclusive

    def __str__(self) -> str:
        return f"0x{self.lo:08x}..0x{self.hi:08x} ({self.hi - self.lo} bytes)"


class _Kept:
    """Chunks of drained records, the newest `limit` of them, with a count of the dropped."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.chunks: list[np.ndarray] = []
        self.count = 0
        self.dropped = 0

    def add(self, rows: np.ndarray) -> None:
        if not len(rows):
            return
        self.chunks.append(rows.copy())
        self.count += len(rows)
        while self.count - len(self.chunks[0]) >= self.limit:
            old = self.chunks.pop(0)
            self.count -= len(old)
            self.dropped += len(old)

    def rows(self) -> np.ndarray:
        if not self.chunks:
            return np.zeros(0, dtype=RECORD)
        if len(self.chunks) > 1:
            self.chunks = [np.concatenate(self.chunks)]
        rows = self.chunks[0]
        if len(rows) > self.limit:
            self.dropped += len(rows) - self.limit
            rows = self.chunks[0] = rows[-self.limit:]
            self.count = len(rows)
        return rows

    def clear(self) -> None:
        self.chunks.clear()
        self.count = self.dropped = 0


class CoreTrace:
    """The traced memory ranges, the instruction trace switch, and what was drained."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.ranges: list[MemRange] = []
        self.insn = False
        self.mem = _Kept(MEM_LIMIT)
        self.pcs = _Kept(INSN_LIMIT)
        self.ring_dropped = 0

    @property
    def active(self) -> bool:
        return bool(self.ranges) or self.insn

    def add_range(self, lo: int, hi: int) -> MemRange:
        if not 0 <= lo < hi <= 1 << 32:
            raise DebuggerError(f"trace mem: 0x{lo:x}..0x{hi:x} is not a range of the 32-bit address space")
        rng = MemRange(lo, hi)
        if rng not in self.ranges:
            self.drain()
            self.ranges.append(rng)
            self._configure()
        return rng

    def clear_ranges(self) -> None:
        self.drain()
        self.ranges.clear()
        self._configure()

    def set_insn(self, on: bool) -> None:
        self.drain()
        self.insn = on
        self._configure()

    def _configure(self) -> None:
        self.core.trace.configure(bool(self.ranges), self.insn, "stop", RING_CAPACITY)

    def drain(self) -> int:
        """Move the ring's records into the traces; returns how many the ring held."""
        ring = self.core.trace
        if ring._ring is None:
            return 0
        if self.insn:  # every executed pc is kept: take the whole ring
            rows = self.core.drain_trace()
            self.pcs.add(rows[rows["kind"] == KIND_EXEC])
            if self.ranges:
                self.mem.add(self._in_ranges(rows))
            return len(rows)
        # Memory ranges only: filter the ring where it lies (one pass over the records, no copy
        # of the whole ring), then empty it as `TraceRing.drain` does.
        c = ring._c
        head, count, cap = int(c.ring_head), int(c.ring_count), len(ring._ring)
        if not count:
            return 0
        records = ring._ring.view(RECORD)
        tail = head + count
        for part in (records[head:min(cap, tail)], records[:max(0, tail - cap)]):
            if len(part):
                self.mem.add(self._in_ranges(part))
        c.ring_head, c.ring_count = 0, 0
        return count

    def _in_ranges(self, rows: np.ndarray) -> np.ndarray:
        """The loads and stores of `rows` that touch a traced range (a new array).

        One unsigned compare per record finds the candidates (an access starts at most 3
        bytes before a range it touches); the exact test runs on those few only.
        """
        addr = rows["addr"]
        cand = np.zeros(len(rows), dtype=bool)
        for r in self.ranges:
            lo = max(r.lo - 3, 0)
            cand |= (addr - np.uint32(lo)) < np.uint32(r.hi - lo)
        picked = rows[cand]
        if not len(picked):
            return picked
        a = picked["addr"].astype(np.int64)
        end = a + picked["size"]
        hit = np.zeros(len(picked), dtype=bool)
        for r in self.ranges:
            hit |= (a < r.hi) & (end > r.lo)
        return picked[hit & (picked["kind"] != KIND_EXEC)]

    def clear(self) -> None:
        self.drain()
        self.mem.clear()
        self.pcs.clear()

    def stop(self) -> None:
        """Trace nothing more (what was recorded stays)."""
        self.drain()
        self.ranges.clear()
        self.insn = False
        self.core.trace.configure(False, False, "stop", RING_CAPACITY)
