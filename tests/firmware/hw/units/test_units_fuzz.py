"""Random descriptors and operands: a DeviceFault, or a plan that writes only what it declares."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware.hw.units import cube, descriptor, dma, vector
from firmware.hw.units.faults import DeviceFault, causes
from firmware.hw.units.memory import DeviceMemory
from firmware.hw.units.plan import reset_cfg
from isa.memmap import memory_map

SMALL = 4096  # every region shrunk, so faults at the edges are common
BASES = {r.name: r.base for r in memory_map("default") if r.kind != "mmio"}


def small_memory(seed: int) -> tuple[DeviceMemory, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    arrays = {name: rng.integers(0, 256, SMALL, dtype=np.uint8) for name in BASES}
    return DeviceMemory((name, BASES[name], a) for name, a in arrays.items()), arrays


def addresses() -> st.SearchStrategy[int]:
    return st.builds(lambda name, off: max(0, BASES[name] + off), st.sampled_from(sorted(BASES)),
                     st.integers(-8, SMALL + 8)) | st.integers(0, 2**32 - 1)


random_descriptors = st.builds(
    descriptor.encode, src=addresses(), dst=addresses(), row_bytes=st.integers(0, 600),
    rows=st.integers(0, 20), xform=st.integers(0, 6), esize=st.sampled_from([0, 1, 2, 3, 4]),
    src_stride=st.integers(0, 700), dst_stride=st.integers(0, 700), chan=st.integers(0, 4),
    kh=st.integers(0, 4), kw=st.integers(0, 4), stride=st.integers(0, 3), pad=st.integers(0, 2),
    flags=st.sampled_from([1, 1, 1, 0, 3]))


@st.composite
def plausible(draw: st.DrawFn) -> tuple[bytes, str]:
    """A descriptor for a route its pipe has, mostly in range: most of these execute."""
    pipe = draw(st.sampled_from(sorted(dma.ROUTES)))
    src, dst = draw(st.sampled_from(sorted(dma.ROUTES[pipe])))
    names = ["none"] if pipe != "mte2" else ["none", "nchw_to_nhwc", "nhwc_to_nchw", "nd_to_fractal",
                                             "fractal_to_nd"] + (["im2col"] * ((src, dst) == ("l1", "l0a")))
    xform = draw(st.sampled_from(names))
    esize = draw(st.sampled_from([1, 2, 4]))
    elems = draw(st.integers(1, 40))
    fields = {"xform": xform, "esize": esize, "rows": draw(st.integers(1, 8)), "row_bytes": elems * esize}
    if xform in ("nchw_to_nhwc", "nhwc_to_nchw"):
        fields["chan"] = draw(st.sampled_from([c for c in range(1, elems + 1) if elems % c == 0]))
    if xform == "im2col":
        fields.update(chan=draw(st.integers(1, 3)), kh=draw(st.integers(1, 3)), kw=draw(st.integers(1, 3)),
                      stride=draw(st.integers(1, 2)), pad=draw(st.integers(0, 1)))
        fields["rows"] = draw(st.integers(fields["kh"], 8))
        fields["row_bytes"] = max(elems, fields["kw"]) * esize
    if xform not in ("nd_to_fractal", "im2col"):
        fields["dst_stride"] = draw(st.sampled_from([0, fields["row_bytes"] + 4 * draw(st.integers(0, 8))]))
    if xform != "fractal_to_nd":
        fields["src_stride"] = draw(st.sampled_from([0, fields["row_bytes"] + 4 * draw(st.integers(0, 8))]))
    offset = st.integers(0, SMALL // 2).map(lambda x: x & ~3) | st.integers(SMALL - 256, SMALL + 8)
    raw = descriptor.encode(src=BASES[src] + draw(offset), dst=BASES[dst] + draw(offset), **fields)
    return raw, pipe


def check_writes_only_declared(memory: DeviceMemory, arrays: dict[str, np.ndarray], plan) -> None:
    before = {name: a.copy() for name, a in arrays.items()}
    allowed = {name: np.zeros(SMALL, bool) for name in arrays}
    for addr, nbytes in plan.writes:
        region = memory.region_at(addr)
        assert region is not None and addr + nbytes <= region.end
        allowed[region.name][addr - region.base:addr - region.base + nbytes] = True
    plan.execute()
    for name, a in arrays.items():
        changed = a != before[name]
        assert not np.any(changed & ~allowed[name]), f"wrote {name} outside the declared ranges"


def fuzz_dma(raw: bytes, pipe: str, seed: int) -> None:
    memory, arrays = small_memory(seed)
    try:
        plan = dma.plan(raw, pipe, memory, desc_addr=BASES["dtcm"])
    except DeviceFault as fault:
        assert fault.cause in causes() and fault.cause.startswith("dma_")
        assert "\n" not in str(fault)
        return
    check_writes_only_declared(memory, arrays, plan)


def fuzz_cube(m: int, k: int, n: int, dtype: int, flags: int, a: int, b: int, c: int, seed: int) -> None:
    memory, arrays = small_memory(seed)
    cfg = {**reset_cfg(), "mm_m": m, "mm_k": k, "mm_n": n, "mm_dtype": dtype, "mm_flags": flags}
    try:
        plan = cube.plan(c, a, b, cfg, memory)
    except DeviceFault as fault:
        assert fault.cause.startswith("cube_")
        return
    with np.errstate(all="ignore"):
        check_writes_only_declared(memory, arrays, plan)


def fuzz_vector(op: str, n: int, dtype: int, chan: int, rd: int, rs1: int, rs2: int, seed: int) -> None:
    memory, arrays = small_memory(seed)
    cfg = {**reset_cfg(), "v_len": n, "v_dtype": dtype, "v_chan": chan, "v_scale": 0x3F000000, "v_zero": 3}
    try:
        plan = vector.plan(op, rd, rs1, rs2, cfg, memory)
    except DeviceFault as fault:
        assert fault.cause.startswith("vec_")
        return
    with np.errstate(all="ignore"):
        check_writes_only_declared(memory, arrays, plan)


PIPES = st.sampled_from(["mte1", "mte2", "mte3", "m"])
descriptors = st.tuples(random_descriptors, PIPES) | plausible() | plausible() | plausible()


def operand(name: str) -> st.SearchStrategy[int]:
    """Mostly aligned addresses well inside the region, sometimes anywhere near it."""
    inside = st.integers(0, SMALL // 4).map(lambda off: off & ~3)
    return (inside | inside | inside | st.integers(-16, SMALL + 16)).map(lambda off: BASES[name] + off)


cube_args = dict(m=st.integers(-1, 24), k=st.integers(0, 24), n=st.integers(0, 24),
                 dtype=st.sampled_from([0, 0, 1, 1, 2, 2, 3]), flags=st.integers(0, 1),
                 a=operand("l0a"), b=operand("l0b"), c=operand("l0c"), seed=st.integers(0, 99))
vector_args = dict(op=st.sampled_from(vector.OPS), n=st.integers(0, 300), dtype=st.sampled_from([0, 1, 2, 3]),
                   chan=st.integers(0, 5), rd=operand("ub"), rs1=operand("ub"), rs2=operand("ub"),
                   seed=st.integers(0, 99))
quick = settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
long = settings(max_examples=5000, suppress_health_check=[HealthCheck.too_slow])


@quick
@given(desc=descriptors, seed=st.integers(0, 99))
def test_random_descriptors(desc, seed):
    fuzz_dma(*desc, seed)


@quick
@given(**cube_args)
def test_random_cube_operands(**kw):
    fuzz_cube(**kw)


@quick
@given(**vector_args)
def test_random_vector_operands(**kw):
    fuzz_vector(**kw)


@pytest.mark.long
@long
@given(desc=st.tuples(st.binary(min_size=32, max_size=32), PIPES) | descriptors, seed=st.integers(0, 99))
def test_random_descriptors_long(desc, seed):
    fuzz_dma(*desc, seed)


@pytest.mark.long
@long
@given(**cube_args)
def test_random_cube_operands_long(**kw):
    fuzz_cube(**kw)


@pytest.mark.long
@long
@given(**vector_args)
def test_random_vector_operands_long(**kw):
    fuzz_vector(**kw)
