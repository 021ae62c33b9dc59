"""The trace ring: memory accesses and executed pcs recorded by the C loop, drained in bulk.

One ring of C `trace_entry_t` records, allocated here as a numpy structured array.
In mode "stop" the core stops with TRACE_FULL before an entry would be lost; in
mode "keep_newest" the oldest entries are overwritten and counted in `dropped`.
"""

from __future__ import annotations

import numpy as np

from isa.core._core import ffi, lib
from isa.errors import NpuError

# The C record is 24 bytes; drained arrays show its fields in this order. `tick`: the time of
# the instruction that made the record (the core's cycle count when no device sets a time base).
RECORD = np.dtype({
    "names": ["tick", "pc", "addr", "size", "value", "kind"],
    "formats": ["<u8", "<u4", "<u4", "u1", "<u4", "u1"],
    "offsets": [0, 8, 12, 20, 16, 21],
    "itemsize": 24,
})
KIND_READ, KIND_WRITE, KIND_EXEC = lib.ACC_READ, lib.ACC_WRITE, lib.ACC_EXEC
MODES = ("stop", "keep_newest")
DEFAULT_CAPACITY = 1 << 16


class TraceRing:
    """The ring and what is recorded into it (memory accesses, executed pcs)."""

    def __init__(self, core_ptr: object) -> None:
        self._c = core_ptr
        self._ring: np.ndarray | None = None
        self.mode = "stop"
        self.memory = False
        self.pcs = False

    def configure(self, memory: bool, pcs: bool, mode: str, capacity: int) -> None:
        """Change what is recorded; a new mode or capacity starts an empty ring."""
        if mode not in MODES:
            raise NpuError(f"unknown trace mode '{mode}' (one of {', '.join(MODES)})")
        if capacity < 2:
            raise NpuError(f"trace capacity {capacity} is too small (at least 2)")
        self.memory, self.pcs = memory, pcs
        fresh = self._ring is None or len(self._ring) != capacity or mode != self.mode
        self.mode = mode
        if not (memory or pcs):
            lib.core_set_trace(self._c, ffi.NULL, 0, 0, 0, 0)
            self._ring = None
            return
        if fresh:  # raw records: drained by memcpy, viewed as RECORD afterwards
            self._ring = np.zeros(capacity, dtype=np.dtype((np.void, RECORD.itemsize)))
            lib.core_set_trace(self._c, ffi.cast("trace_entry_t *", ffi.from_buffer(self._ring)),
                               capacity, int(memory), int(pcs), int(mode == "keep_newest"))
        else:
            c = self._c
            head, count, dropped = c.ring_head, c.ring_count, c.ring_dropped
            lib.core_set_trace(c, ffi.cast("trace_entry_t *", ffi.from_buffer(self._ring)),
                               capacity, int(memory), int(pcs), int(mode == "keep_newest"))
            c.ring_head, c.ring_count, c.ring_dropped = head, count, dropped

    @property
    def dropped(self) -> int:
        return int(self._c.ring_dropped) if self._ring is not None else 0

    def drain(self) -> np.ndarray:
        """The recorded entries, oldest first; the ring is then empty."""
        if self._ring is None:
            return np.zeros(0, dtype=RECORD)
        c = self._c
        head, count, cap = c.ring_head, c.ring_count, len(self._ring)
        first = self._ring[head:min(cap, head + count)]
        out = np.concatenate([first, self._ring[:count - len(first)]])
        c.ring_head, c.ring_count = 0, 0
        return out.view(RECORD)
