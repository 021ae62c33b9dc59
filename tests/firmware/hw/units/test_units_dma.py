"""The MTE unit: descriptor copies and transforms through device memory, routes, faults, ranges, cost."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware.hw.units import costs, dma, layout
from firmware.hw.units.descriptor import encode
from firmware.hw.units.faults import DeviceFault

DESC_AT = 0x00100040  # where the firmware would keep the descriptor (DTCM)


def run(mem, pipe, **fields):
    p = dma.plan(encode(**fields), pipe, mem.memory, {}, desc_addr=DESC_AT)
    p.execute()
    return p


@given(rows=st.integers(1, 20), row_bytes=st.integers(1, 100), s_extra=st.integers(0, 50),
       d_extra=st.integers(0, 50), seed=st.integers(0, 1000))
def test_strided_copy_matches_numpy_and_touches_nothing_else(new_mem, rows, row_bytes, s_extra, d_extra,
                                                               seed):
    mem = new_mem("hbm", "l1")
    rng = np.random.default_rng(seed)
    hbm, l1 = mem.base["hbm"] + 8, mem.base["l1"] + 3
    mem.arrays["hbm"][:8192] = rng.integers(0, 256, 8192, dtype=np.uint8)
    sp, dp = row_bytes + s_extra, row_bytes + d_extra
    p = run(mem, "mte2", src=hbm, dst=l1, row_bytes=row_bytes, rows=rows,
            src_stride=s_extra and sp, dst_stride=d_extra and dp)
    want = np.zeros(mem.arrays["l1"].size, np.uint8)
    for r in range(rows):
        want[3 + r * dp:3 + r * dp + row_bytes] = mem.arrays["hbm"][8 + r * sp:8 + r * sp + row_bytes]
    assert np.array_equal(mem.arrays["l1"], want)
    assert p.cycles == costs.dma_cycles(("hbm", "l1"), rows * row_bytes)
    if rows > 1 and d_extra:
        assert p.writes == [(l1 + r * dp, row_bytes) for r in range(rows)]
    else:
        assert p.writes == [(l1, rows * row_bytes)]


def test_data_moves_at_execute_not_at_plan(mem):
    ub, hbm = mem.base["ub"], mem.base["hbm"]
    mem.put(ub, np.full(64, 1, np.uint8))
    p = dma.plan(encode(ub, hbm, 64), 5, mem.memory)
    assert p.reads == [(ub, 64)] and p.writes == [(hbm, 64)]
    assert "mte3 ub->hbm none 64 B" in p.what
    mem.put(ub, np.full(64, 2, np.uint8))
    assert mem.get(hbm, np.uint8, (64,)).max() == 0
    p.execute()
    assert mem.get(hbm, np.uint8, (64,)).tolist() == [2] * 64


def test_nchw_nhwc_round_trip_through_memory(mem):
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    hbm, l1 = mem.base["hbm"], mem.base["l1"]
    mem.put(hbm, x)
    image = 3 * 4 * 5 * 4
    run(mem, "mte2", src=hbm, dst=l1, row_bytes=image, rows=2, xform="nchw_to_nhwc", esize=4, chan=3)
    assert np.array_equal(mem.get(l1, np.float32, (2, 4, 5, 3)), x.transpose(0, 2, 3, 1))
    run(mem, "mte2", src=l1, dst=l1 + 4096, row_bytes=image, rows=2, xform="nhwc_to_nchw", esize=4, chan=3,
        dst_stride=image + 64)
    back = mem.memory.rows(l1 + 4096, 2, image, image + 64).copy().view(np.float32).reshape(2, 3, 4, 5)
    assert np.array_equal(back, x)


def test_fractal_round_trip_through_memory(mem):
    m = (np.arange(20 * 37, dtype=np.uint16).reshape(20, 37) + 1).view(np.float16)
    hbm, l0b, l1 = mem.base["hbm"], mem.base["l0b"], mem.base["l1"]
    mem.put(hbm, m)
    p = run(mem, "mte2", src=hbm, dst=l0b, row_bytes=74, rows=20, xform="nd_to_fractal", esize=2)
    assert p.writes == [(l0b, 2 * 3 * 256 * 2)]
    assert np.array_equal(mem.get(l0b, np.float16, (2, 3, 16, 16)).view(np.uint16),
                          layout.nd_to_fractal(m.view(np.uint16)))
    mem.put(l1, mem.get(l0b, np.uint8, (2 * 3 * 256 * 2,)))
    run(mem, "mte2", src=l1, dst=l1 + 8192, row_bytes=74, rows=20, xform="fractal_to_nd", esize=2,
        dst_stride=80)
    back = mem.memory.rows(l1 + 8192, 20, 74, 80).copy().view(np.float16)
    assert np.array_equal(back.view(np.uint16), m.view(np.uint16))


def test_im2col_feeds_a_patch_matrix_to_l0a(mem):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 7, 6)).astype(np.float16)
    l1, l0a = mem.base["l1"], mem.base["l0a"]
    mem.put(l1, x)
    p = run(mem, "mte2", src=l1, dst=l0a, row_bytes=12, rows=7, xform="im2col", esize=2,
            chan=3, kh=3, kw=2, stride=2, pad=1)
    a = layout.im2col(x, 3, 2, 2, 1)
    assert a.shape == (4 * 4, 18)
    assert np.array_equal(mem.get(l0a, np.uint16, a.shape), a.view(np.uint16))
    assert p.reads == [(l1, 3 * 7 * 12)] and p.writes == [(l0a, a.nbytes)]


def test_overlapping_l1_copy_reads_before_it_writes(mem):
    l1 = mem.base["l1"]
    mem.put(l1, np.arange(64, dtype=np.uint8))
    run(mem, "mte2", src=l1, dst=l1 + 8, row_bytes=48)
    assert mem.get(l1, np.uint8, (64,)).tolist() == [*range(8), *range(48), *range(56, 64)]
    x = np.arange(2 * 4 * 3, dtype=np.uint16).reshape(2, 4, 3)  # N=2, C=4, HW=3, transformed in place
    mem.put(l1, x)
    run(mem, "mte2", src=l1, dst=l1, row_bytes=24, rows=2, xform="nchw_to_nhwc", esize=2, chan=4)
    assert np.array_equal(mem.get(l1, np.uint16, (2, 3, 4)), x.transpose(0, 2, 1))


ALLOWED = {
    "mte2": {("hbm", "l1"), ("hbm", "l0a"), ("hbm", "l0b"), ("hbm", "ub"),
             ("l1", "l1"), ("l1", "l0a"), ("l1", "l0b"), ("l1", "ub")},
    "mte1": {("l1", "l0a"), ("l1", "l0b")},
    "mte3": {("l0c", "ub"), ("ub", "hbm"), ("ub", "l1")},
}
REGIONS = ("itcm", "dtcm", "l1", "l0a", "l0b", "l0c", "ub", "hbm")


@pytest.mark.parametrize("pipe", ["mte1", "mte2", "mte3", "m", "v", "s"])
def test_routes_per_pipe(mem, pipe):
    for src in REGIONS:
        for dst in REGIONS:
            desc = encode(mem.base[src], mem.base[dst] + 256, 64)
            if (src, dst) in ALLOWED.get(pipe, ()):
                dma.plan(desc, pipe, mem.memory).execute()
                continue
            with pytest.raises(DeviceFault) as info:
                dma.plan(desc, pipe, mem.memory, desc_addr=DESC_AT)
            assert info.value.cause == "dma_bad_route" and info.value.addr == DESC_AT
            assert pipe in info.value.detail


def test_pipe_ids_come_from_the_table(mem):
    desc = encode(mem.base["hbm"], mem.base["l1"], 16)
    assert dma.plan(desc, 2, mem.memory).what.startswith("dma mte2 ")
    with pytest.raises(DeviceFault, match="pipe mte1 cannot move hbm -> l1"):
        dma.plan(desc, 1, mem.memory)


def test_transforms_only_on_mte2_and_im2col_only_l1_to_l0a(mem):
    with pytest.raises(DeviceFault, match="pipe mte1 does no layout transforms") as info:
        dma.plan(encode(mem.base["l1"], mem.base["l0a"], 64, 2, "nd_to_fractal", 2), "mte1", mem.memory)
    assert info.value.cause == "dma_bad_layout"
    with pytest.raises(DeviceFault, match="only l1 -> l0a, not hbm -> l0a"):
        dma.plan(encode(mem.base["hbm"], mem.base["l0a"], 12, 7, "im2col", 2, chan=1, kh=3, kw=3, stride=1),
                 "mte2", mem.memory)


def test_out_of_range_names_the_offending_address(mem):
    l0a_end = mem.base["l0a"] + mem.arrays["l0a"].size
    before = mem.snapshot()
    with pytest.raises(DeviceFault) as info:
        dma.plan(encode(mem.base["l1"], l0a_end - 100, 64, 2, dst_stride=64), "mte1", mem.memory)
    assert info.value.cause == "dma_out_of_range" and info.value.addr == l0a_end - 100
    assert "destination" in info.value.detail and "leaves l0a" in info.value.detail
    with pytest.raises(DeviceFault, match="source 0x30000000 is not in device memory") as info:
        dma.plan(encode(0x30000000, mem.base["l1"], 64), "mte2", mem.memory)
    assert info.value.addr == 0x30000000
    l1_end = mem.base["l1"] + mem.arrays["l1"].size
    with pytest.raises(DeviceFault, match=r"source .* leaves l1"):
        dma.plan(encode(l1_end - 4096, mem.base["l0a"], 64, 3, src_stride=4096), "mte1", mem.memory)
    assert all(np.array_equal(before[k], mem.arrays[k]) for k in before)


def test_reissued_descriptors_share_a_validated_plan_but_not_its_lists(mem):
    raw = encode(mem.base["hbm"], mem.base["l1"], 16, 4, src_stride=64)
    first, second = dma.plan(raw, "mte2", mem.memory), dma.plan(raw, "mte2", mem.memory)
    assert first.execute is second.execute and first.reads == second.reads
    first.reads.clear()
    assert dma.plan(raw, "mte2", mem.memory).reads == second.reads != []
    huge = encode(mem.base["hbm"], mem.base["l1"], 1, dma.MEMO_MAX_RANGES + 1, src_stride=2)
    assert dma.plan(huge, "mte2", mem.memory).execute is not dma.plan(huge, "mte2", mem.memory).execute
