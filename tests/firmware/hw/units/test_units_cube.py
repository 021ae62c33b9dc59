"""The cube: fp16 within fp32 rounding of numpy, int8/int4 exactly numpy's int32, faults, ranges, cost."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware.hw.units import convert, costs, cube
from firmware.hw.units.faults import DeviceFault
from firmware.hw.units.plan import reset_cfg


def load(mem, a, b, c0, dtype, m, k, n, flags=0):
    cfg = reset_cfg()
    cfg.update(mm_m=m, mm_k=k, mm_n=n, mm_dtype=dtype, mm_flags=flags)
    addr = mem.base["l0a"] + 64, mem.base["l0b"] + 32, mem.base["l0c"] + 128
    mem.put(addr[0], a)
    mem.put(addr[1], b)
    mem.put(addr[2], c0)
    return cube.plan(addr[2], addr[0], addr[1], cfg, mem.memory), addr


@given(m=st.integers(1, 40), k=st.integers(1, 70), n=st.integers(1, 40), overwrite=st.booleans(),
       seed=st.integers(0, 2**16))
def test_fp16_within_fp32_rounding(new_mem, m, k, n, overwrite, seed):
    mem = new_mem("l0a", "l0b", "l0c")
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, k)).astype(np.float16)
    b = (rng.standard_normal((k, n)) * 4).astype(np.float16)
    c0 = rng.standard_normal((m, n)).astype(np.float32)
    p, (a_at, b_at, c_at) = load(mem, a, b, c0, 0, m, k, n, flags=int(overwrite))
    p.execute()
    got = mem.get(c_at, np.float32, (m, n)).astype(np.float64)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    start = 0 if overwrite else c0.astype(np.float64)
    exact = start + a64 @ b64
    bound = (k + 2) * 2.0**-24 * (np.abs(start) + np.abs(a64) @ np.abs(b64))
    assert np.all(np.abs(got - exact) <= bound)
    assert p.reads == [(a_at, a.nbytes), (b_at, b.nbytes)] + ([] if overwrite else [(c_at, c0.nbytes)])
    assert p.writes == [(c_at, c0.nbytes)]


def test_fp16_small_integers_are_exact_like_numpy(mem):
    rng = np.random.default_rng(1)
    a = rng.integers(-8, 9, (48, 96)).astype(np.float16)
    b = rng.integers(-8, 9, (96, 33)).astype(np.float16)
    c0 = np.ones((48, 33), np.float32)
    p, (_, _, c_at) = load(mem, a, b, c0, 0, 48, 96, 33)
    p.execute()
    want = c0 + a.astype(np.float32) @ b.astype(np.float32)
    assert np.array_equal(mem.get(c_at, np.float32, (48, 33)), want)


def _wrap32(x: np.ndarray) -> np.ndarray:
    return ((x + 2**31) % 2**32 - 2**31).astype(np.int32)


@given(m=st.integers(1, 12), k=st.integers(1, 2100), n=st.integers(1, 12), overwrite=st.booleans(),
       seed=st.integers(0, 2**16))
def test_int8_is_exactly_numpy_int32(new_mem, m, k, n, overwrite, seed):
    mem = new_mem("l0a", "l0b", "l0c")
    rng = np.random.default_rng(seed)
    a = rng.choice(np.array([-128, 127, -1, 0, 5], np.int8), (m, k))
    b = rng.integers(-128, 128, (k, n), dtype=np.int8)
    c0 = rng.integers(-2**31, 2**31, (m, n), dtype=np.int64).astype(np.int32)
    p, (_, _, c_at) = load(mem, a, b, c0, 1, m, k, n, flags=int(overwrite))
    p.execute()
    product = a.astype(np.int64) @ b.astype(np.int64)
    want = _wrap32(product if overwrite else product + c0)
    assert np.array_equal(mem.get(c_at, np.int32, (m, n)), want)


def test_int8_extremes_over_long_k_wrap_like_int32(mem):
    k = 8192 // 4
    a = np.full((4, k), -128, np.int8)
    b = np.full((k, 4), -128, np.int8)
    c0 = np.full((4, 4), 2**31 - 1, np.int32)
    p, (_, _, c_at) = load(mem, a, b, c0, 1, 4, k, 4)
    p.execute()
    assert np.array_equal(mem.get(c_at, np.int32, (4, 4)), _wrap32(np.full((4, 4), 2**31 - 1 + k * 16384)))


def test_int4_is_exact(mem):
    rng = np.random.default_rng(5)
    a_packed = rng.integers(0, 256, (20, 18), dtype=np.uint8)  # 20 x 36 int4
    b_packed = rng.integers(0, 256, (36, 7), dtype=np.uint8)  # 36 x 14 int4
    c0 = np.zeros((20, 14), np.int32)
    p, (_, _, c_at) = load(mem, a_packed, b_packed, c0, 2, 20, 36, 14, flags=1)
    p.execute()
    want = convert.unpack_i4(a_packed).astype(np.int32) @ convert.unpack_i4(b_packed).astype(np.int32)
    assert np.array_equal(mem.get(c_at, np.int32, (20, 14)), want)
    assert p.cycles == costs.cube_cycles(20, 36, 14, "int4") == 16 + 2


def test_cost_counts_fractals(cfg, mem):
    cfg.update(mm_m=256, mm_k=128, mm_n=256)
    p = cube.plan(mem.base["l0c"], mem.base["l0a"], mem.base["l0b"], cfg, mem.memory)
    assert p.cycles == 16 + 16 * 8 * 16
    cfg.update(mm_dtype=1, mm_k=256)
    p = cube.plan(mem.base["l0c"], mem.base["l0a"], mem.base["l0b"], cfg, mem.memory)
    assert p.cycles == 16 + 16 * 16 * 16 // 2


BAD = [
    ({"mm_dtype": 3}, None, "cube_bad_dtype", "mm_dtype 3"),
    ({"mm_m": 0}, None, "cube_bad_shape", "mm_m = 0"),
    ({"mm_n": -1}, None, "cube_bad_shape", "mm_n = -1"),
    ({"mm_m": 256, "mm_k": 129}, None, "cube_bad_shape", "A of 256x129x16 fp16 needs 66048 bytes"),
    ({"mm_m": 1, "mm_k": 4097}, None, "cube_bad_shape", "B of 1x4097x16 fp16 needs 131104 bytes, l0b holds"),
    ({"mm_m": 300, "mm_n": 300, "mm_k": 2}, None, "cube_bad_shape", "C of 300x2x300"),
    ({"mm_dtype": 2, "mm_k": 15}, None, "cube_bad_shape", "even mm_k"),
    ({}, ("a", "l0b", 0), "cube_bad_operand", "A 0x21100000 is in l0b, not l0a"),
    ({}, ("a", "l0a", 65536 - 256), "cube_bad_operand", "leaves l0a"),
    ({}, ("b", "l0b", 1), "cube_bad_operand", "B 0x21100001 is not aligned to 2 bytes"),
    ({}, ("c", "l0c", 2), "cube_bad_operand", "C 0x21200002 is not aligned to 4 bytes"),
    ({}, ("c", "ub", 0), "cube_bad_operand", "is in ub, not l0c"),
]


@pytest.mark.parametrize(("change", "operand", "cause", "text"), BAD)
def test_bad_operands(mem, cfg, change, operand, cause, text):
    cfg.update(change)
    addr = {"a": mem.base["l0a"], "b": mem.base["l0b"], "c": mem.base["l0c"]}
    if operand:
        addr[operand[0]] = mem.base[operand[1]] + operand[2]
    with pytest.raises(DeviceFault) as info:
        cube.plan(addr["c"], addr["a"], addr["b"], cfg, mem.memory)
    assert info.value.cause == cause and text in info.value.detail
    assert info.value.addr == (addr[operand[0]] if operand else None)
