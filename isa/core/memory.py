"""The core's memory as Python sees it: region buffers, debugger reads and writes, views, snapshots.

RAM regions are numpy buffers the C loop indexes directly; lazy regions (HBM) are
anonymous private mappings, so untouched pages cost no RAM. Python owns every buffer
and hands the C core raw pointers, so a numpy view stays valid after its Core is gone.
"""

from __future__ import annotations

import mmap
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from isa.errors import NpuError
from isa.memmap import Region

MAX_EXEC_SIZE = 64 << 20  # predecoding costs 2 bytes of host memory per byte of code
SNAPSHOT_CHUNK = 64 << 10  # lazy regions are saved as their non-zero chunks of this size


class MemoryAccessError(NpuError):
    """A debugger or loader access outside the mapped memory."""


@dataclass
class Buffer:
    """One region and the host memory behind it (None for MMIO)."""

    region: Region
    array: np.ndarray | None
    mapping: mmap.mmap | None = None


def _allocate(r: Region) -> Buffer:
    if r.size % 4 or r.size == 0:
        raise NpuError(f"region {r.name}: size {r.size:#x} is not a positive multiple of 4")
    if r.executable and (r.kind != "ram" or r.size > MAX_EXEC_SIZE):
        raise NpuError(f"region {r.name}: executable regions must be RAM of at most "
                       f"{MAX_EXEC_SIZE >> 20} MiB")
    if r.kind == "mmio":
        return Buffer(r, None)
    if r.kind == "lazy":
        m = mmap.mmap(-1, r.size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        return Buffer(r, np.frombuffer(m, dtype=np.uint8), m)
    if r.kind == "ram":
        return Buffer(r, np.zeros(r.size, dtype=np.uint8))
    raise NpuError(f"region {r.name}: unknown kind '{r.kind}'")


class Memory:
    """The regions in address order with their buffers."""

    def __init__(self, regions: Iterable[Region]) -> None:
        self.buffers = [_allocate(r) for r in sorted(regions, key=lambda r: r.base)]
        for a, b in zip(self.buffers, self.buffers[1:], strict=False):
            if a.region.end > b.region.base:
                raise NpuError(f"region {b.region.name} overlaps {a.region.name}")
        self.by_name = {b.region.name: b for b in self.buffers}

    def find(self, addr: int, length: int) -> Buffer:
        """The region holding all of [addr, addr+length); MemoryAccessError names the address."""
        for b in self.buffers:
            if b.region.contains(addr):
                if not b.region.contains(addr, max(length, 1)):
                    raise MemoryAccessError(f"access of {length} bytes at {addr:#010x} runs past the end "
                                            f"of region {b.region.name} ({b.region.end:#010x})")
                return b
        raise MemoryAccessError(f"no memory at {addr:#010x}")

    def view(self, name: str) -> np.ndarray:
        b = self.by_name.get(name)
        if b is None:
            raise NpuError(f"no memory region named '{name}'")
        if b.array is None:
            raise NpuError(f"region {name} is MMIO: it has no buffer to view")
        v = b.array[:]
        if b.region.executable:
            v.flags.writeable = False  # code changes go through write_mem, which keeps predecoding coherent
        return v

    def read(self, addr: int, length: int, mmio: object) -> bytes:
        b = self.find(addr, length)
        off = addr - b.region.base
        if b.array is not None:
            return b.array[off:off + length].tobytes()
        return bytes(_mmio_bytes(mmio, addr, length, b.region.name))

    def write(self, addr: int, data: bytes, mmio: object) -> Buffer:
        b = self.find(addr, len(data))
        off = addr - b.region.base
        if b.array is not None:
            b.array[off:off + len(data)] = np.frombuffer(bytes(data), dtype=np.uint8)
        else:
            _mmio_write(mmio, addr, bytes(data), b.region.name)
        return b

    def snapshot(self) -> dict[str, object]:
        saved: dict[str, object] = {}
        for b in self.buffers:
            if b.array is None:
                continue
            if b.mapping is None:
                saved[b.region.name] = b.array.tobytes()
            else:
                chunks = b.array.reshape(-1, SNAPSHOT_CHUNK) if b.array.size % SNAPSHOT_CHUNK == 0 \
                    else b.array.reshape(1, -1)
                touched = _touched_chunks(b.array, len(chunks))
                nonzero = [int(i) for i in touched if chunks[i].any()]
                saved[b.region.name] = {i: chunks[i].tobytes() for i in nonzero}
        return saved

    def restore(self, saved: dict[str, object]) -> None:
        for b in self.buffers:
            data = saved.get(b.region.name)
            if b.array is None or data is None:
                continue
            if isinstance(data, bytes):
                b.array[:] = np.frombuffer(data, dtype=np.uint8)
                continue
            assert b.mapping is not None and isinstance(data, dict)
            b.mapping.madvise(mmap.MADV_DONTNEED)  # back to untouched zero pages
            size = SNAPSHOT_CHUNK if b.array.size % SNAPSHOT_CHUNK == 0 else b.array.size
            for i, chunk in data.items():
                b.array[i * size:(i + 1) * size] = np.frombuffer(chunk, dtype=np.uint8)


def _touched_chunks(array: np.ndarray, n_chunks: int) -> np.ndarray:
    """Indices of the chunks of a lazy region that have a resident page (all when unknown)."""
    from isa.core._core import ffi, lib

    pages = -(-array.size // mmap.PAGESIZE)
    vec = np.zeros(pages, dtype=np.uint8)
    if lib.core_resident_pages(ffi.cast("uint8_t *", ffi.from_buffer(array)), array.size,
                               ffi.cast("uint8_t *", ffi.from_buffer(vec))) != 0:
        return np.arange(n_chunks)
    per_chunk = -(-pages // n_chunks)
    padded = np.zeros(per_chunk * n_chunks, dtype=np.uint8)
    padded[:pages] = vec & 1
    return np.flatnonzero(padded.reshape(n_chunks, per_chunk).any(axis=1))


def _pieces(addr: int, length: int) -> Iterable[tuple[int, int]]:
    """Naturally aligned accesses of at most 4 bytes covering [addr, addr+length)."""
    end = addr + length
    while addr < end:
        size = 4
        while addr % size or addr + size > end:
            size //= 2
        yield addr, size
        addr += size


def _handler(mmio: object, name: str, what: str) -> Callable[..., int]:
    fn = getattr(mmio, what, None)
    if fn is None:
        raise MemoryAccessError(f"region {name} is MMIO and no MMIO handler is attached")
    return fn


def _mmio_bytes(mmio: object, addr: int, length: int, name: str) -> bytearray:
    read = _handler(mmio, name, "read")
    out = bytearray()
    for a, size in _pieces(addr, length):
        out += (int(read(a, size)) & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
    return out


def _mmio_write(mmio: object, addr: int, data: bytes, name: str) -> None:
    write = _handler(mmio, name, "write")
    for a, size in _pieces(addr, len(data)):
        write(a, size, int.from_bytes(data[a - addr:a - addr + size], "little"))
