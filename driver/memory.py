"""Device memory: an allocator over HBM, per-context ownership, and `Buffer` objects.

The allocator keeps the free space as a sorted list of non-adjacent holes; an
allocation takes the smallest hole that fits (best fit, which keeps large holes
whole), a free merges the block with its neighbours, so fragmentation never
outlives the allocations that caused it. Every block belongs to one `Context`: a
context cannot free another's buffer nor pass it to an op (`Context.check`), a
second free and any use of a freed buffer raise errors naming the buffer.

Buffers move data over BAR2 only: `write(array)` sends the array's own bytes
(no copy when it is contiguous), `read()` returns a read-only numpy view of the
bytes the transfer produced (no copy beyond the transfer itself).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np

from driver.bus import Bus
from driver.errors import DriverError


class DeviceMemoryError(DriverError):
    """Misuse of device memory: out of memory, double free, use after free, foreign buffer."""


class OutOfDeviceMemory(DeviceMemoryError):
    pass


class DoubleFree(DeviceMemoryError):
    pass


class UseAfterFree(DeviceMemoryError):
    pass


class NotOwner(DeviceMemoryError):
    pass


def _round_up(n: int, align: int) -> int:
    return -(-n // align) * align


class Allocator:
    """Best-fit allocation of byte ranges [0, size) with coalescing frees. Offsets are HBM offsets."""

    def __init__(self, size: int, align: int = 32) -> None:
        if align <= 0 or align & (align - 1):
            raise DeviceMemoryError(f"allocator alignment must be a power of two, not {align}")
        self.size = size
        self.align = align
        self._starts: list[int] = [0]  # hole starts, ascending
        self._holes: dict[int, int] = {0: size}  # start -> length
        self.used: dict[int, int] = {}  # start -> length of live blocks

    @property
    def free_bytes(self) -> int:
        return sum(self._holes.values())

    def holes(self) -> list[tuple[int, int]]:
        return [(s, self._holes[s]) for s in self._starts]

    def alloc(self, nbytes: int, align: int | None = None) -> int:
        """Start offset of a new block of at least `nbytes` (rounded up to the alignment)."""
        align = max(align or self.align, self.align)
        if align & (align - 1):
            raise DeviceMemoryError(f"alignment must be a power of two, not {align}")
        if nbytes <= 0:
            raise DeviceMemoryError(f"cannot allocate {nbytes} bytes (at least 1)")
        need = _round_up(nbytes, self.align)
        best: tuple[int, int, int] | None = None  # (hole length, hole start, aligned start)
        for start in self._starts:
            length = self._holes[start]
            at = _round_up(start, align)
            if at + need <= start + length and (best is None or length < best[0]):
                best = (length, start, at)
        if best is None:
            raise OutOfDeviceMemory(
                f"out of device memory: {need} bytes requested (alignment {align}); {self.free_bytes} "
                f"free in {len(self._starts)} hole(s), the largest {max(self._holes.values(), default=0)}")
        length, start, at = best
        self._remove_hole(start)
        if at > start:
            self._add_hole(start, at - start)
        if at + need < start + length:
            self._add_hole(at + need, start + length - at - need)
        self.used[at] = need
        return at

    def free(self, start: int) -> None:
        length = self.used.pop(start)
        end = start + length
        if end in self._holes:  # merge with the next hole
            length += self._holes[end]
            self._remove_hole(end)
        i = bisect.bisect_left(self._starts, start)
        if i > 0:
            prev = self._starts[i - 1]
            if prev + self._holes[prev] == start:  # merge with the previous hole
                self._holes[prev] += length
                return
        self._add_hole(start, length)

    def _add_hole(self, start: int, length: int) -> None:
        bisect.insort(self._starts, start)
        self._holes[start] = length

    def _remove_hole(self, start: int) -> None:
        self._starts.pop(bisect.bisect_left(self._starts, start))
        del self._holes[start]

    def check(self) -> None:
        """Assert the invariants: blocks and holes tile [0, size) exactly, holes never adjacent."""
        spans = sorted([(s, n, "used") for s, n in self.used.items()]
                       + [(s, n, "hole") for s, n in self._holes.items()])
        at, last = 0, None
        for s, n, kind in spans:
            if s != at or n <= 0:
                raise AssertionError(f"allocator: span {kind} at {s:#x}+{n:#x}, expected start {at:#x}")
            if kind == "hole" and last == "hole":
                raise AssertionError(f"allocator: adjacent holes at {s:#x}")
            at, last = s + n, kind
        if at != self.size or self._starts != sorted(self._holes):
            raise AssertionError("allocator: spans do not cover the arena")


class Buffer:
    """A block of device memory owned by one context."""

    _ids = itertools.count(1)

    def __init__(self, memory: DeviceMemory, owner: Context, offset: int, nbytes: int,
                 dtype: Any = np.uint8, shape: tuple[int, ...] | None = None) -> None:
        self.memory = memory
        self.owner = owner
        self.offset = offset  # BAR2 / HBM offset
        self.nbytes = nbytes
        self.dtype = np.dtype(dtype)
        self.shape = shape if shape is not None else (nbytes // self.dtype.itemsize,)
        self.id = next(self._ids)
        self.freed = False

    @property
    def addr(self) -> int:
        """The device address the firmware sees (HBM base + offset)."""
        return self.memory.hbm_base + self.offset

    def __repr__(self) -> str:
        state = " freed" if self.freed else ""
        return f"<Buffer {self.id} of {self.owner.name} at 0x{self.addr:08x} {self.nbytes} bytes{state}>"

    def _live(self) -> None:
        if self.freed:
            raise UseAfterFree(f"buffer {self.id} (0x{self.addr:08x}, {self.nbytes} bytes) of context "
                               f"{self.owner.name} used after it was freed")

    def write(self, array: np.ndarray | bytes, offset: int = 0) -> None:
        """Copy host data into the buffer at byte `offset`."""
        self._live()
        data = memoryview(np.ascontiguousarray(array)).cast("B") if isinstance(array, np.ndarray) \
            else memoryview(array)
        if offset < 0 or offset + data.nbytes > self.nbytes:
            raise DeviceMemoryError(f"buffer {self.id}: writing {data.nbytes} bytes at offset {offset} "
                                    f"overruns its {self.nbytes} bytes")
        self.memory.bus.bar2_write(self.offset + offset, data)

    def read_bytes(self, nbytes: int | None = None, offset: int = 0) -> bytes:
        self._live()
        n = self.nbytes - offset if nbytes is None else nbytes
        if offset < 0 or n < 0 or offset + n > self.nbytes:
            raise DeviceMemoryError(f"buffer {self.id}: reading {n} bytes at offset {offset} "
                                    f"overruns its {self.nbytes} bytes")
        return self.memory.bus.bar2_read(self.offset + offset, n)

    def read(self, dtype: Any = None, shape: tuple[int, ...] | None = None) -> np.ndarray:
        """The contents as a read-only array (default: the dtype and shape the buffer was made for)."""
        dt = np.dtype(dtype) if dtype is not None else self.dtype
        shp = shape if shape is not None else (self.shape if dtype is None else None)
        count = int(np.prod(shp)) if shp is not None else self.nbytes // dt.itemsize
        out = np.frombuffer(self.read_bytes(count * dt.itemsize), dt)
        return out.reshape(shp) if shp is not None else out

    def to_numpy(self) -> np.ndarray:
        return self.read()

    def free(self) -> None:
        self.owner.free(self)


class Context:
    """An owner of device buffers (an application, a stream, a test). Closing it frees its buffers."""

    def __init__(self, memory: DeviceMemory, name: str) -> None:
        self.memory = memory
        self.name = name
        self.buffers: dict[int, Buffer] = {}
        self.closed = False

    def __repr__(self) -> str:
        return f"<Context {self.name}: {len(self.buffers)} buffers>"

    def alloc(self, nbytes: int, align: int | None = None, dtype: Any = np.uint8,
              shape: tuple[int, ...] | None = None) -> Buffer:
        if self.closed:
            raise DeviceMemoryError(f"context {self.name} is closed")
        start = self.memory.allocator.alloc(nbytes, align)
        buf = Buffer(self.memory, self, start, nbytes, dtype, shape)
        self.buffers[buf.id] = buf
        return buf

    def upload(self, array: np.ndarray) -> Buffer:
        """A buffer holding `array` (same dtype and shape)."""
        array = np.ascontiguousarray(array)
        buf = self.alloc(max(array.nbytes, 1), dtype=array.dtype, shape=array.shape)
        if array.nbytes:
            buf.write(array)
        return buf

    def empty(self, shape: tuple[int, ...], dtype: Any) -> Buffer:
        dt = np.dtype(dtype)
        return self.alloc(max(int(np.prod(shape)) * dt.itemsize, 1), dtype=dt, shape=tuple(shape))

    def check(self, buf: Buffer) -> Buffer:
        """`buf` is live and this context's own; raises otherwise (before anything is submitted)."""
        if buf.owner is not self:
            raise NotOwner(f"buffer {buf.id} belongs to context {buf.owner.name}, not {self.name}")
        buf._live()
        return buf

    def free(self, buf: Buffer) -> None:
        if buf.owner is not self:
            raise NotOwner(f"context {self.name} cannot free buffer {buf.id}: it belongs to "
                           f"context {buf.owner.name}")
        if buf.freed:
            raise DoubleFree(f"buffer {buf.id} (0x{buf.addr:08x}, {buf.nbytes} bytes) of context "
                             f"{self.name} freed twice")
        buf.freed = True
        del self.buffers[buf.id]
        self.memory.allocator.free(buf.offset)

    def close(self) -> None:
        for buf in list(self.buffers.values()):
            self.free(buf)
        self.closed = True


class DeviceMemory:
    """HBM as the driver manages it: the allocator, the bus to move data, and the contexts."""

    def __init__(self, bus: Bus, hbm_base: int, hbm_size: int, align: int = 32) -> None:
        self.bus = bus
        self.hbm_base = hbm_base
        self.allocator = Allocator(hbm_size, align)
        self.contexts: list[Context] = []

    def context(self, name: str | None = None) -> Context:
        ctx = Context(self, name or f"ctx{len(self.contexts)}")
        self.contexts.append(ctx)
        return ctx

    def live_buffers(self) -> Iterator[Buffer]:
        for ctx in self.contexts:
            yield from ctx.buffers.values()
