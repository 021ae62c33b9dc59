"""The cube unit: `npu.mmad`, C(L0C) += A(L0A) x B(L0B) with float32 BLAS.

Operands in L0 are plain row-major matrices (the DMA's fractal transform is for data
that arrives blocked): A is mm_m x mm_k at the rs1 address in L0A, B is mm_k x mm_n at
rs2 in L0B, C is mm_m x mm_n at rd in L0C, each contiguous and aligned to its element.
- mm_dtype 0: fp16 A and B, fp32 C. Inputs are widened exactly (fp16 -> fp32, see
  convert.py) and multiplied by float32 BLAS, accumulating into C one K chunk of
  K_CHUNK at a time, so results match numpy's float32 reference up to fp32 rounding order.
- mm_dtype 1: int8 A and B, int32 C; mm_dtype 2: int4 (two per byte, low nibble first,
  along rows: mm_k and mm_n must be even), int32 C. Exact: float32 BLAS over chunks of
  K whose partial sums stay below 2^24 (integers there are exact in any order), each
  chunk converted to int32 and summed with int32 wrap-around, as numpy's int32 does.
- mm_flags bit 0 set: C is overwritten instead of accumulated (C is then not read).

Two paths do the same arithmetic to the bit: the C kernel (mmad.c through blas.py:
numpy's OpenBLAS called straight into L0C, no temporary, large tiles cut in two row parts)
and numpy (the fallback, and the reference the tests compare it with). Every BLAS call is
single-threaded and the cuts depend on the shape alone: OpenBLAS rounds differently with
two threads or other row blocks, and a result must never depend on the host's thread
count. A numpy-path mmad sets numpy's BLAS to one thread and restores the count after, so
the host's own numpy is unaffected.

In a device (its memory `allow_deferred`), the C kernel queues each mmad on the units'
worker thread when the mmad completes, in order with the DMA's queued copies, and the device
model goes on; `blas.settle()` (which the device calls before anything else touches device
memory) waits for it. Anywhere else an mmad is done when `execute` returns.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache

import numpy as np

from firmware.hw.units import blas, convert, costs
from firmware.hw.units.faults import DeviceFault
from firmware.hw.units.memory import DeviceMemory
from firmware.hw.units.plan import Plan

DTYPES = {0: "fp16", 1: "int8", 2: "int4"}
C_REGION = "l0c"  # where C lives
FLAG_OVERWRITE = 1 << 0
_IN_BYTES = {"fp16": 2.0, "int8": 1.0, "int4": 0.5}
_ACC = {"fp16": np.float32, "int8": np.int32, "int4": np.int32}
# the longest K whose partial sums stay exact in float32: |a*b| max is 2^14 (int8), 2^6 (int4)
EXACT_K = {"int8": 1 << 10, "int4": 1 << 18}
# K per accumulation into C: within one OpenBLAS K block (256 and more on x86 and Arm),
# so accumulating with beta = 1 rounds exactly as a product followed by an add
K_CHUNK = {"fp16": 256, **EXACT_K}
# tiles from this many multiply-adds up are cut in two row parts (128x256x128 is 1 << 22);
# a cut costs a BLAS call: ~10% of a 128^3 tile, a few % from here up
PARALLEL_MIN_MKN = 1 << 22


class _Scratch:
    """Reusable work buffers, so a cube instruction allocates nothing."""

    def __init__(self) -> None:
        self._bufs: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: type = np.float32) -> np.ndarray:
        count = math.prod(shape)
        buf = self._bufs.get(name)
        if buf is None or buf.size < count:
            buf = self._bufs[name] = np.empty(max(count, 1 << 16), dtype)
        return buf[:count].reshape(shape)


_scratch = _Scratch()


@cache
def _blas_controllers() -> tuple:
    """numpy's BLAS libraries whose thread count can be set (threadpoolctl finds them once)."""
    from threadpoolctl import ThreadpoolController

    return tuple(lc for lc in ThreadpoolController().lib_controllers if lc.user_api == "blas")


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """numpy's BLAS on one thread for the numpy path's GEMMs; the count is restored after."""
    changed = []
    for lc in _blas_controllers():
        threads = lc.num_threads
        if threads != 1:
            lc.set_num_threads(1)
            changed.append((lc, threads))
    try:
        yield
    finally:
        for lc, threads in changed:
            lc.set_num_threads(threads)


def plan(c_addr: int, a_addr: int, b_addr: int, cfg: Mapping[str, int], memory: DeviceMemory) -> Plan:
    """Validate an mmad against the sampled cfg registers and return its plan (memoised per operands)."""
    key = ("mmad", c_addr, a_addr, b_addr, cfg["mm_m"], cfg["mm_k"], cfg["mm_n"], cfg["mm_dtype"],
           cfg["mm_flags"] & FLAG_OVERWRITE, memory.allow_deferred)
    return memory.memo(key, lambda: _plan(c_addr, a_addr, b_addr, cfg, memory)).copy()


def _plan(c_addr: int, a_addr: int, b_addr: int, cfg: Mapping[str, int], memory: DeviceMemory) -> Plan:
    code = cfg["mm_dtype"]
    if code not in DTYPES:
        raise DeviceFault("cube_bad_dtype", None, f"mm_dtype {code} is not one of {sorted(DTYPES)}")
    dtype = DTYPES[code]
    m, k, n = cfg["mm_m"], cfg["mm_k"], cfg["mm_n"]
    overwrite = bool(cfg["mm_flags"] & FLAG_OVERWRITE)
    for name, value in (("mm_m", m), ("mm_k", k), ("mm_n", n)):
        if value <= 0:
            raise DeviceFault("cube_bad_shape", None, f"{name} = {value}: must be at least 1")
    if dtype == "int4" and (k % 2 or n % 2):
        raise DeviceFault("cube_bad_shape", None, f"int4 needs even mm_k and mm_n (got {k} and {n})")
    in_bytes = _IN_BYTES[dtype]
    sizes = {"A": (m * k * in_bytes, "l0a"), "B": (k * n * in_bytes, "l0b"), "C": (m * n * 4, "l0c")}
    for what, (nbytes, region) in sizes.items():
        capacity = memory.by_name[region].size if region in memory.by_name else 0
        if nbytes > capacity:
            raise DeviceFault("cube_bad_shape", None, f"{what} of {m}x{k}x{n} {dtype} needs "
                                                      f"{int(nbytes)} bytes, {region} holds {capacity}")
    if dtype == "fp16":
        a = memory.as_array(a_addr, np.uint16, (m, k), "cube_bad_operand", "l0a", "A")
        b = memory.as_array(b_addr, np.uint16, (k, n), "cube_bad_operand", "l0b", "B")
    elif dtype == "int8":
        a = memory.as_array(a_addr, np.int8, (m, k), "cube_bad_operand", "l0a", "A")
        b = memory.as_array(b_addr, np.int8, (k, n), "cube_bad_operand", "l0b", "B")
    else:
        a = memory.as_array(a_addr, np.uint8, (m, k // 2), "cube_bad_operand", "l0a", "A")
        b = memory.as_array(b_addr, np.uint8, (k, n // 2), "cube_bad_operand", "l0b", "B")
    c = memory.as_array(c_addr, _ACC[dtype], (m, n), "cube_bad_operand", C_REGION, "C")
    a_range, b_range, c_range = (a_addr, a.nbytes), (b_addr, b.nbytes), (c_addr, c.nbytes)
    split = row_split(m, k, n)
    kchunk = K_CHUNK[dtype]
    ptrs: list = []  # the C kernel's views of A, B and C, made on first use
    deferred = memory.allow_deferred

    def run() -> None:
        kern = blas.kernel()
        if kern is not None and m > 1 and n > 1:
            if not ptrs:
                fb = kern.ffi.from_buffer
                ptrs.extend((fb(a), fb(b), fb(c, require_writable=True)))
            if deferred and blas.submit(kern, code, ptrs, m, k, n, overwrite, kchunk, split):
                return
            if kern.lib.mmad_run(code, *ptrs, m, k, n, int(overwrite), kchunk, split) == 0:
                return
        blas.settle()  # (queued mmads first: C accumulates in order)
        with one_blas_thread():
            _mmad_numpy(a, b, c, m, k, n, overwrite, dtype, split)

    reads = [a_range, b_range] + ([] if overwrite else [c_range])
    return Plan(reads, [c_range], costs.cube_cycles(m, k, n, dtype), run,
                what=f"mmad {dtype} {m}x{k}x{n}{' overwrite' if overwrite else ''}",
                deferred=deferred)


def row_split(m: int, k: int, n: int) -> int:
    """Where a tile's rows are cut into two parts (0: one part), by shape alone.

    Each part is its own BLAS call, so the cut decides the rounding and the number of host
    threads never does. (A second thread once shared large tiles at the cut; the cut stays,
    so that results keep their bits.)
    """
    if m * k * n < PARALLEL_MIN_MKN or m < 32:
        return 0
    return (m + 31) // 32 * 16  # the half, rounded up to the BLAS kernels' 16 rows


def _mmad_numpy(a_in: np.ndarray, b_in: np.ndarray, c: np.ndarray, m: int, k: int, n: int,
                overwrite: bool, dtype: str, split: int) -> None:
    """The numpy path: the C kernel's arithmetic step for step (same parts, same K chunks)."""
    widen = {"fp16": convert.f16_to_f32, "int8": convert.i8_to_f32, "int4": convert.i4_to_f32}[dtype]
    a = widen(a_in, out=_scratch.get("a", (m, k)))
    b = widen(b_in, out=_scratch.get("b", (k, n)))
    chunk = K_CHUNK[dtype]
    for r0, r1 in ((0, split), (split, m)) if split else ((0, m),):
        t = _scratch.get("c", (r1 - r0, n))
        part = _scratch.get("c_int", (r1 - r0, n), np.int32)
        for k0 in range(0, k, chunk):
            first = overwrite and k0 == 0
            np.matmul(a[r0:r1, k0:k0 + chunk], b[k0:k0 + chunk], out=t)
            if dtype == "fp16":
                if first:
                    np.copyto(c[r0:r1], t)
                else:
                    np.add(c[r0:r1], t, out=c[r0:r1])
                continue
            np.copyto(part, t, casting="unsafe")  # exact: every partial sum is an integer below 2^24
            if first:
                np.copyto(c[r0:r1], part)
            else:
                np.add(c[r0:r1], part, out=c[r0:r1])
