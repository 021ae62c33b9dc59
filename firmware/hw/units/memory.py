"""Device memory as the units see it: named regions, zero-copy numpy views, bounds checks.

`DeviceMemory` is built from (name, base, uint8 view) triples: the device passes the
core's zero-copy views of its buffers, tests pass plain arrays. Every view a unit takes
goes through `span`/`rows`/`as_array`, which check that the whole range lies inside one
region (and, when asked, inside a named one) before slicing, so a unit can never read or
write outside the buffers it was given.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field

import numpy as np

from firmware.hw.units.faults import DeviceFault

Regions = str | tuple[str, ...] | None


@dataclass(frozen=True)
class MemRegion:
    """One buffer of device memory at its guest base address."""

    name: str
    base: int
    data: np.ndarray = field(repr=False)  # 1-D uint8, zero-copy over the device's buffer
    size: int = 0  # filled in from `data`
    end: int = 0  # one past the last address

    def __post_init__(self) -> None:
        object.__setattr__(self, "size", int(self.data.shape[0]))
        object.__setattr__(self, "end", self.base + self.size)


def _names(regions: Regions) -> tuple[str, ...]:
    if regions is None:
        return ()
    return (regions,) if isinstance(regions, str) else tuple(regions)


class DeviceMemory:
    """The regions units may touch, looked up by guest address."""

    def __init__(self, regions: Iterable[tuple[str, int, np.ndarray]]) -> None:
        built = []
        for name, base, data in regions:
            if data.dtype != np.uint8 or data.ndim != 1 or not data.flags.c_contiguous:
                raise ValueError(f"region {name}: expected a contiguous 1-D uint8 array")
            built.append(MemRegion(name, int(base), data))
        built.sort(key=lambda r: r.base)
        for a, b in itertools.pairwise(built):
            if a.end > b.base:
                raise ValueError(f"regions {a.name} and {b.name} overlap")
        self.regions: tuple[MemRegion, ...] = tuple(built)
        self._bases = [r.base for r in built]
        self.by_name = {r.name: r for r in built}
        self._memo: OrderedDict[Hashable, object] = OrderedDict()
        # Units may leave work on this memory to a worker thread (the cube's mmads, the DMA's
        # plain copies): only where the owner settles that work before anything else touches it.
        self.allow_deferred = False

    MEMO_SIZE = 1024

    def memo(self, key: Hashable, build: Callable[[], object],
             keep: Callable[[object], bool] | None = None) -> object:
        """`build()` once per key (least recently used entries dropped; values `keep` refuses are
        not stored): units cache what depends only on their operands and this memory's layout,
        such as validated plans."""
        try:
            self._memo.move_to_end(key)
            return self._memo[key]
        except KeyError:
            value = build()
            if keep is None or keep(value):
                self._memo[key] = value
                if len(self._memo) > self.MEMO_SIZE:
                    self._memo.popitem(last=False)
            return value

    def region_at(self, addr: int) -> MemRegion | None:
        """The region holding `addr`, or None."""
        i = bisect.bisect_right(self._bases, addr) - 1
        if i >= 0 and addr < self.regions[i].end:
            return self.regions[i]
        return None

    def region_name(self, addr: int) -> str | None:
        r = self.region_at(addr)
        return r.name if r is not None else None

    def locate(self, addr: int, nbytes: int, cause: str = "dma_out_of_range",
               region: Regions = None, what: str = "range") -> tuple[MemRegion, int]:
        """Check that [addr, addr + nbytes) lies in one region (one of `region`); return it and the offset."""
        allowed = _names(region)
        r = self.region_at(addr)
        if r is None:
            raise DeviceFault(cause, addr, f"{what} 0x{addr:08x} is not in device memory")
        if allowed and r.name not in allowed:
            raise DeviceFault(cause, addr, f"{what} 0x{addr:08x} is in {r.name}, not {'/'.join(allowed)}")
        if nbytes <= 0:
            raise DeviceFault(cause, addr, f"{what} at 0x{addr:08x} is empty ({nbytes} bytes)")
        if addr + nbytes > r.end:
            raise DeviceFault(cause, addr, f"{what} 0x{addr:08x}+{nbytes:#x} leaves {r.name} "
                                           f"(0x{r.base:08x}..0x{r.end:08x})")
        return r, addr - r.base

    def span(self, addr: int, nbytes: int, cause: str = "dma_out_of_range",
             region: Regions = None, what: str = "range") -> np.ndarray:
        """A zero-copy uint8 view of [addr, addr + nbytes)."""
        r, off = self.locate(addr, nbytes, cause, region, what)
        return r.data[off:off + nbytes]

    def rows(self, addr: int, rows: int, row_bytes: int, stride: int, cause: str = "dma_out_of_range",
             region: Regions = None, what: str = "range") -> np.ndarray:
        """A zero-copy (rows, row_bytes) uint8 view whose rows start `stride` bytes apart."""
        extent = (rows - 1) * stride + row_bytes if rows > 0 else 0
        r, off = self.locate(addr, extent, cause, region, what)
        return np.ndarray((rows, row_bytes), np.uint8, buffer=r.data, offset=off, strides=(stride, 1))

    def as_array(self, addr: int, dtype: np.typing.DTypeLike, shape: tuple[int, ...],
                 cause: str = "dma_out_of_range", region: Regions = None,
                 what: str = "operand") -> np.ndarray:
        """A zero-copy C-contiguous typed view at `addr` (which must be aligned to the element size)."""
        dt = np.dtype(dtype)
        if addr % dt.itemsize:
            raise DeviceFault(cause, addr, f"{what} 0x{addr:08x} is not aligned to {dt.itemsize} bytes")
        r, off = self.locate(addr, math.prod(shape) * dt.itemsize, cause, region, what)
        return np.ndarray(shape, dt, buffer=r.data, offset=off)
