"""The cube unit: `npu.mmad`, C(L0C) += A(L0A) x B(L0B) as one BLAS call per instruction.

Operands in L0 are plain row-major matrices (the DMA's fractal transform is for data
that arrives blocked): A is mm_m x mm_k at the rs1 address in L0A, B is mm_k x mm_n at
rs2 in L0B, C is mm_m x mm_n at rd in L0C, each contiguous and aligned to its element.
- mm_dtype 0: fp16 A and B, fp32 C. Inputs are widened exactly (fp16 -> fp32 in C, see
  convert.py) and multiplied by float32 BLAS, so results match numpy's float32
  reference up to fp32 rounding order.
- mm_dtype 1: int8 A and B, int32 C; mm_dtype 2: int4 (two per byte, low nibble first,
  along rows: mm_k and mm_n must be even), int32 C. Exact: float32 BLAS over chunks of
  K whose partial sums stay below 2^24 (integers there are exact in any order), each
  chunk converted to int32 and summed with int32 wrap-around, as numpy's int32 does.
- mm_flags bit 0 set: C is overwritten instead of accumulated (C is then not read).

BLAS runs single-threaded for tiles up to `SINGLE_THREAD_MAX_MKN` multiply-adds: an
L0-sized GEMM is too small to share between threads, and OpenBLAS's second thread on a
busy two-core host makes a 128^3 tile take tens of milliseconds instead of a tenth of one.
The thread count is restored after each instruction, so the host's own numpy is unaffected.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache

import numpy as np

from firmware.hw.units import convert, costs
from firmware.hw.units.faults import DeviceFault
from firmware.hw.units.memory import DeviceMemory
from firmware.hw.units.plan import Plan

DTYPES = {0: "fp16", 1: "int8", 2: "int4"}
FLAG_OVERWRITE = 1 << 0
_IN_BYTES = {"fp16": 2.0, "int8": 1.0, "int4": 0.5}
_ACC = {"fp16": np.float32, "int8": np.int32, "int4": np.int32}
# the longest K whose partial sums stay exact in float32: |a*b| max is 2^14 (int8), 2^6 (int4)
EXACT_K = {"int8": 1 << 10, "int4": 1 << 18}


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

SINGLE_THREAD_MAX_MKN = 1 << 27  # 512 x 512 x 512


@cache
def _blas_controllers() -> tuple:
    """numpy's BLAS libraries whose thread count can be set (threadpoolctl finds them once)."""
    from threadpoolctl import ThreadpoolController

    return tuple(lc for lc in ThreadpoolController().lib_controllers if lc.user_api == "blas")


@contextmanager
def blas_threads_for(m: int, k: int, n: int) -> Iterator[None]:
    """One BLAS thread for an m x k x n GEMM up to SINGLE_THREAD_MAX_MKN; the count is restored after."""
    if m * k * n > SINGLE_THREAD_MAX_MKN:
        yield
        return
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
           cfg["mm_flags"] & FLAG_OVERWRITE)
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
    c = memory.as_array(c_addr, _ACC[dtype], (m, n), "cube_bad_operand", "l0c", "C")
    a_range, b_range, c_range = (a_addr, a.nbytes), (b_addr, b.nbytes), (c_addr, c.nbytes)
    if dtype == "fp16":
        def run() -> None:
            with blas_threads_for(m, k, n):
                _mmad_float(a, b, c, m, k, n, overwrite)
    else:
        def run() -> None:
            with blas_threads_for(m, k, n):
                _mmad_int(a, b, c, m, k, n, overwrite, dtype)
    reads = [a_range, b_range] + ([] if overwrite else [c_range])
    return Plan(reads, [c_range], costs.cube_cycles(m, k, n, dtype), run,
                what=f"mmad {dtype} {m}x{k}x{n}{' overwrite' if overwrite else ''}")


def _mmad_float(a16: np.ndarray, b16: np.ndarray, c: np.ndarray, m: int, k: int, n: int,
                overwrite: bool) -> None:
    a = convert.f16_to_f32(a16, out=_scratch.get("a", (m, k)))
    b = convert.f16_to_f32(b16, out=_scratch.get("b", (k, n)))
    if overwrite:
        np.matmul(a, b, out=c)
    else:
        t = _scratch.get("c", (m, n))
        np.matmul(a, b, out=t)
        np.add(c, t, out=c)


def _mmad_int(a_in: np.ndarray, b_in: np.ndarray, c: np.ndarray, m: int, k: int, n: int,
              overwrite: bool, dtype: str) -> None:
    widen = convert.i8_to_f32 if dtype == "int8" else convert.i4_to_f32
    a = widen(a_in, out=_scratch.get("a", (m, k)))
    b = widen(b_in, out=_scratch.get("b", (k, n)))
    t = _scratch.get("c", (m, n))
    part = _scratch.get("c_int", (m, n), np.int32)
    chunk = EXACT_K[dtype]
    for k0 in range(0, k, chunk):
        np.matmul(a[:, k0:k0 + chunk], b[k0:k0 + chunk], out=t)
        np.copyto(part, t, casting="unsafe")  # exact: every partial sum is an integer below 2^24
        if overwrite and k0 == 0:
            np.copyto(c, part)
        else:
            np.add(c, part, out=c)
