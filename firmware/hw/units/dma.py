"""The MTE (DMA) unit: plans and performs `npu.dma` descriptor copies between device buffers.

Routes per pipe (the [pipes] table's descriptions, as data here):
- mte2: HBM/L1 -> L1/L0A/L0B/UB, with every layout transform; im2col only L1 -> L0A.
- mte1: L1 -> L0A/L0B, plain copies.
- mte3: L0C -> UB, UB -> HBM/L1, plain copies.
Anything else is dma_bad_route; a range leaving its region is dma_out_of_range. Views
are taken at issue and read/written only by `execute()`, so the data moved is the data
in memory when the pipe model retires the copy. In a device (memory `allow_deferred`) a
plain copy between two regions is queued for the units' worker instead (see blas.py), in
order with the cube's mmads, and done by the time anything else looks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from firmware.hw.units import blas, costs, layout
from firmware.hw.units.descriptor import Descriptor, decode, fetch
from firmware.hw.units.faults import DeviceFault
from firmware.hw.units.memory import DeviceMemory
from firmware.hw.units.plan import Plan, Ranges, row_ranges

ROUTES: dict[str, frozenset[tuple[str, str]]] = {
    "mte2": frozenset({("hbm", "l1"), ("hbm", "l0a"), ("hbm", "l0b"), ("hbm", "ub"),
                       ("l1", "l1"), ("l1", "l0a"), ("l1", "l0b"), ("l1", "ub")}),
    "mte1": frozenset({("l1", "l0a"), ("l1", "l0b")}),
    "mte3": frozenset({("l0c", "ub"), ("ub", "hbm"), ("ub", "l1")}),
}
TRANSFORM_PIPES = frozenset({"mte2"})  # pipes that do layout transforms
IM2COL_ROUTES = frozenset({("l1", "l0a")})
MEMO_MAX_RANGES = 1024
_DTYPES = {1: np.uint8, 2: np.uint16, 4: np.uint32}  # transforms move bits, never values


def pipe_name(pipe: int | str) -> str:
    """A pipe id or name -> its name, from the instruction table's [pipes] section."""
    if isinstance(pipe, str):
        return pipe.lower()
    from isa.spec import instruction_set

    known = instruction_set().pipes.get(pipe)
    return known.name if known is not None else f"#{pipe}"


def plan(desc_bytes: bytes, pipe: int | str, memory: DeviceMemory, cfg: Mapping[str, int] | None = None,
         desc_addr: int | None = None) -> Plan:
    """Validate a descriptor for `pipe` and return the copy's plan (cfg is not used by the DMA).

    A plan depends only on the descriptor, the pipe and the memory layout, so firmware that
    re-issues a descriptor (a loop over tiles) gets the validated plan from the memory's memo.
    """
    raw = desc_bytes if type(desc_bytes) is bytes else bytes(desc_bytes)
    name = pipe.lower() if type(pipe) is str else pipe_name(pipe)
    key = ("dma", raw, name, memory.allow_deferred)
    built = memory.memo(key, lambda: _plan(raw, name, memory, desc_addr), _small)
    return built.copy()


def _small(p: Plan) -> bool:
    """Memoise plans with short range lists only, so the memo's size stays bounded."""
    return len(p.reads) + len(p.writes) <= MEMO_MAX_RANGES


def _plan(raw: bytes, name: str, memory: DeviceMemory, desc_addr: int | None) -> Plan:
    d = decode(raw, desc_addr)
    if name not in ROUTES:
        raise DeviceFault("dma_bad_route", desc_addr, f"pipe {name} is not a DMA pipe (mte1, mte2, mte3)")
    src_region = memory.region_name(d.src)
    dst_region = memory.region_name(d.dst)
    if src_region is None:
        raise DeviceFault("dma_out_of_range", d.src, f"source 0x{d.src:08x} is not in device memory")
    if dst_region is None:
        raise DeviceFault("dma_out_of_range", d.dst, f"destination 0x{d.dst:08x} is not in device memory")
    route = (src_region, dst_region)
    if route not in ROUTES[name]:
        raise DeviceFault("dma_bad_route", desc_addr, f"pipe {name} cannot move {src_region} -> {dst_region}")
    xform = d.xform_name
    if xform != "none" and name not in TRANSFORM_PIPES:
        raise DeviceFault("dma_bad_layout", desc_addr, f"descriptor field xform = {xform}: pipe {name} "
                                                       "does no layout transforms")
    if xform == "im2col" and route not in IM2COL_ROUTES:
        raise DeviceFault("dma_bad_layout", desc_addr, f"descriptor field xform = im2col: only l1 -> l0a, "
                                                       f"not {src_region} -> {dst_region}")
    deferred = memory.allow_deferred and xform == "none" and src_region != dst_region  # (never overlapping)
    reads, writes, run = _deferred_copy(d, memory) if deferred else _BUILDERS[xform](d, memory)
    moved = sum(n for _, n in writes)
    return Plan(reads, writes, costs.dma_cycles(route, moved), run,
                what=f"dma {name} {src_region}->{dst_region} {xform} {moved} B", deferred=deferred)


def _src_rows(d: Descriptor, memory: DeviceMemory, rows: int | None = None) -> np.ndarray:
    return memory.rows(d.src, rows or d.rows, d.row_bytes, d.src_pitch, what="source")


def _dst_rows(d: Descriptor, memory: DeviceMemory, rows: int | None = None, row_bytes: int | None = None,
              pitch: int | None = None) -> np.ndarray:
    return memory.rows(d.dst, rows or d.rows, row_bytes or d.row_bytes, pitch or d.dst_pitch,
                       what="destination")


Built = tuple[Ranges, Ranges, Callable[[], None]]


def _copy(d: Descriptor, memory: DeviceMemory) -> Built:
    src, dst = _src_rows(d, memory), _dst_rows(d, memory)

    def run() -> None:
        np.copyto(dst, src)

    return (row_ranges(d.src, d.rows, d.row_bytes, d.src_pitch),
            row_ranges(d.dst, d.rows, d.row_bytes, d.dst_pitch), run)


def _deferred_copy(d: Descriptor, memory: DeviceMemory) -> Built:
    """`_copy`, queued for the units' worker when it can take it (copied now when it cannot)."""
    reads, writes, copy_now = _copy(d, memory)
    src_region, src_off = memory.locate(d.src, 1)
    dst_region, dst_off = memory.locate(d.dst, 1)
    ends: list = []  # C pointers to the first source and destination byte, made on first use

    def run() -> None:
        if not ends:
            ends.extend((blas.pointer(dst_region.data, dst_off), blas.pointer(src_region.data, src_off)))
        if ends[0] is None or not blas.submit_copy(ends[0], ends[1], d.rows, d.row_bytes, d.src_pitch,
                                                   d.dst_pitch):
            blas.settle()  # (what is queued goes first)
            copy_now()

    return reads, writes, run


def _channels(d: Descriptor, memory: DeviceMemory) -> Built:
    dt = _DTYPES[d.esize]
    src = _src_rows(d, memory).view(dt)
    dst = _dst_rows(d, memory).view(dt)
    inner = d.row_bytes // d.esize // d.chan
    if d.xform_name == "nchw_to_nhwc":
        s_shape, d_shape, fn = (d.rows, d.chan, inner), (d.rows, inner, d.chan), layout.nchw_to_nhwc
    else:
        s_shape, d_shape, fn = (d.rows, inner, d.chan), (d.rows, d.chan, inner), layout.nhwc_to_nchw
    s3, d3 = layout.view_as(src, s_shape), layout.view_as(dst, d_shape)

    def run() -> None:
        fn(s3, out=d3)

    return (row_ranges(d.src, d.rows, d.row_bytes, d.src_pitch),
            row_ranges(d.dst, d.rows, d.row_bytes, d.dst_pitch), run)


def _to_fractal(d: Descriptor, memory: DeviceMemory) -> Built:
    dt = _DTYPES[d.esize]
    cols = d.row_bytes // d.esize
    shape = layout.fractal_shape(d.rows, cols)
    src = _src_rows(d, memory).view(dt)
    nbytes = math.prod(shape) * d.esize
    dst = layout.view_as(memory.span(d.dst, nbytes, what="destination").view(dt), shape)

    def run() -> None:
        layout.nd_to_fractal(src, out=dst)

    return row_ranges(d.src, d.rows, d.row_bytes, d.src_pitch), [(d.dst, nbytes)], run


def _from_fractal(d: Descriptor, memory: DeviceMemory) -> Built:
    dt = _DTYPES[d.esize]
    cols = d.row_bytes // d.esize
    shape = layout.fractal_shape(d.rows, cols)
    nbytes = math.prod(shape) * d.esize
    src = layout.view_as(memory.span(d.src, nbytes, what="source").view(dt), shape)
    dst = _dst_rows(d, memory).view(dt)

    def run() -> None:
        layout.fractal_to_nd(src, d.rows, cols, out=dst)

    return [(d.src, nbytes)], row_ranges(d.dst, d.rows, d.row_bytes, d.dst_pitch), run


def _im2col(d: Descriptor, memory: DeviceMemory) -> Built:
    dt = _DTYPES[d.esize]
    h, w = d.rows, d.row_bytes // d.esize
    ho, wo = d.out_hw
    k_bytes = d.chan * d.kh * d.kw * d.esize
    src = memory.rows(d.src, d.chan * h, d.row_bytes, d.src_pitch, what="source").view(dt)
    fmap = layout.view_as(src, (d.chan, h, w))
    dst = memory.rows(d.dst, ho * wo, k_bytes, d.dst_stride or k_bytes, what="destination").view(dt)

    def run() -> None:
        layout.im2col(fmap, d.kh, d.kw, d.stride, d.pads, out=dst)

    return (row_ranges(d.src, d.chan * h, d.row_bytes, d.src_pitch),
            row_ranges(d.dst, ho * wo, k_bytes, d.dst_stride or k_bytes), run)


_BUILDERS: dict[str, Callable[[Descriptor, DeviceMemory], Built]] = {
    "none": _copy,
    "nchw_to_nhwc": _channels,
    "nhwc_to_nchw": _channels,
    "nd_to_fractal": _to_fractal,
    "fractal_to_nd": _from_fractal,
    "im2col": _im2col,
}


def plan_at(desc_addr: int, pipe: int | str, memory: DeviceMemory,
            cfg: Mapping[str, int] | None = None) -> Plan:
    """`npu.dma rs1, rs2` as issued: fetch the descriptor at rs1 (it must be in DTCM) and plan it."""
    return plan(fetch(memory, desc_addr), pipe, memory, cfg, desc_addr=desc_addr)
