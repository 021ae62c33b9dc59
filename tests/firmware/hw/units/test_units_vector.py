"""The vector unit against numpy: elementwise ops per dtype, casts, quantize edge cases, faults."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.hw.units import costs, vector
from firmware.hw.units.faults import DeviceFault
from firmware.hw.units.plan import reset_cfg
from isa.spec import instruction_set

X, Y, OUT = 0x22000000, 0x22010000, 0x22020000  # three UB areas (the UB base is checked below)


def f32_bits(value: float) -> int:
    return struct.unpack("<I", struct.pack("<f", value))[0]


def vrun(mem, op, x, y=None, out_dtype=None, rd=OUT, **cfg_values):
    cfg = reset_cfg()
    cfg.update(v_len=x.size, **cfg_values)
    mem.put(X, x)
    if y is not None:
        mem.put(Y, y)
    p = vector.plan(op, rd, X, Y, cfg, mem.memory)
    p.execute()
    return mem.get(rd, out_dtype or x.dtype, x.shape), p


def test_ub_base_matches_the_memory_map(mem):
    assert mem.base["ub"] == X


def test_every_vector_row_has_an_op():
    table = {row.key for row in instruction_set().xnpu() if row.mnemonic.startswith("npu.v")}
    assert table == set(vector.OPS)
    names = {reg.name for reg in instruction_set().cfg.values()}
    assert {"v_len", "v_chan", "v_scale", "v_zero", "v_dtype"} <= names


FLOATS = st.floats(width=32, allow_nan=True, allow_infinity=True)
SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, 65504.0, 70000.0, -3.5], np.float32)


def _values(draw_list: list[float], dtype: type, rng: np.random.Generator) -> np.ndarray:
    if dtype == np.int32:
        return rng.integers(-2**31, 2**31, len(draw_list), dtype=np.int64).astype(np.int32)
    with np.errstate(over="ignore"):  # (fp32 values beyond fp16 become infinities, as wanted)
        return np.array(draw_list, np.float32).astype(dtype)


@pytest.mark.parametrize("op", ["npu.vadd", "npu.vsub", "npu.vmul", "npu.vmax", "npu.vmin", "npu.vrelu"])
@pytest.mark.parametrize(("code", "dtype"), [(0, np.float32), (1, np.float16), (2, np.int32)])
@settings(max_examples=30)
@given(xs=st.lists(FLOATS, min_size=1, max_size=64), seed=st.integers(0, 1000))
def test_elementwise_matches_numpy(new_mem, op, code, dtype, xs, seed):
    rng = np.random.default_rng(seed)
    with np.errstate(over="ignore", invalid="ignore"):  # (the specials include inf and NaN: casts as wanted)
        x = np.concatenate([_values(xs, dtype, rng), SPECIAL.astype(dtype)])
    y = np.roll(x, 3)[::-1].copy()
    reference = {"npu.vadd": np.add, "npu.vsub": np.subtract, "npu.vmul": np.multiply,
                 "npu.vmax": np.maximum, "npu.vmin": np.minimum}
    with np.errstate(all="ignore"):
        want = np.maximum(x, dtype(0)) if op == "npu.vrelu" else reference[op](x, y)
        got, p = vrun(new_mem("ub"), op, x, y, v_dtype=code)
    nan = np.isnan(want) if dtype != np.int32 else np.zeros(x.size, bool)
    assert np.array_equal(np.isnan(got[nan]), nan[nan])  # a NaN result's sign and payload are unspecified
    assert np.array_equal(got[~nan].view(f"u{x.itemsize}"), want[~nan].view(f"u{x.itemsize}"))
    assert p.cycles == costs.vector_cycles(x.size, x.itemsize)


def test_in_place_and_overlapping_operands(mem):
    x = np.arange(16, dtype=np.float32)
    got, _ = vrun(mem, "npu.vadd", x, x, rd=X, v_dtype=0)
    assert got.tolist() == (2 * x).tolist()
    mem.put(X, x)
    cfg = reset_cfg()
    cfg.update(v_len=15)
    vector.plan("npu_vmul", X + 4, X, X, cfg, mem.memory).execute()  # output shifted by one element
    assert mem.get(X, np.float32, (16,)).tolist() == [0.0, *(x[:15] * x[:15]).tolist()]


@given(chan=st.integers(1, 8), inner=st.integers(1, 20), seed=st.integers(0, 1000))
def test_scalebias_per_channel(new_mem, chan, inner, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(chan * inner).astype(np.float32)
    params = rng.standard_normal(2 * chan).astype(np.float32)
    got, p = vrun(new_mem("ub"), "npu.vscalebias", x, params, v_chan=chan)
    want = x.reshape(chan, inner) * params[:chan, None] + params[chan:, None]
    assert np.array_equal(got, want.reshape(-1))
    assert p.reads == [(X, x.nbytes), (Y, params.nbytes)]


def test_casts_match_numpy(mem):
    f = np.concatenate([SPECIAL, np.float32([1 + 2**-11, 1 + 3 * 2**-11, 6e-8, 3e-8, -1e-5])])
    got, _ = vrun(mem, "npu.vcvt.f16.f32", f, out_dtype=np.float16)
    with np.errstate(over="ignore"):
        assert np.array_equal(got.view(np.uint16), f.astype(np.float16).view(np.uint16))
    h = np.arange(0, 65536, 97, dtype=np.uint16).view(np.float16)
    got, _ = vrun(mem, "npu.vcvt.f32.f16", h, out_dtype=np.float32)
    assert np.array_equal(got.view(np.uint32), h.astype(np.float32).view(np.uint32))
    i = np.array([0, 1, -1, 2**24 + 1, 2**24 + 3, 2**31 - 1, -2**31, 123456789], np.int32)
    got, _ = vrun(mem, "npu.vcvt.f32.i32", i, out_dtype=np.float32)
    assert np.array_equal(got, i.astype(np.float32))
    assert got[3] == 2**24 and got[4] == 2**24 + 4  # ties to even


def quant_reference(x: np.ndarray, scale: float, zero: int) -> np.ndarray:
    with np.errstate(all="ignore"):
        t = np.rint(x / np.float32(scale))
    t = np.where(np.isnan(t), 0, t)
    return np.clip(t + zero, -128, 127).astype(np.int8)


def test_quantize_ties_bounds_and_non_finite(mem):
    x = np.float32([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 126.5, 127.5, 128.0, -128.5, -129.0,
                    np.inf, -np.inf, np.nan])
    got, _ = vrun(mem, "npu.vquant", x, out_dtype=np.int8, v_scale=f32_bits(1.0), v_zero=0)
    assert got.tolist() == [0, 2, 2, 0, -2, -2, 126, 127, 127, -128, -128, 127, -128, 0]
    got, _ = vrun(mem, "npu.vquant", x, out_dtype=np.int8, v_scale=f32_bits(0.5), v_zero=(-3) & 0xFFFFFFFF)
    assert got.tolist() == [-2, 0, 2, -4, -6, -8, 127, 127, 127, -128, -128, 127, -128, -3]


@given(xs=st.lists(st.floats(-300, 300, width=32), min_size=1, max_size=50),
       scale=st.floats(2.0**-10, 10, width=32), zero=st.integers(-128, 127))
def test_quantize_dequantize_match_numpy(new_mem, xs, scale, zero):
    mem = new_mem("ub")
    x = np.array(xs, np.float32)
    q, p = vrun(mem, "npu.vquant", x, out_dtype=np.int8, v_scale=f32_bits(scale), v_zero=zero & 0xFFFFFFFF)
    assert np.array_equal(q, quant_reference(x, scale, zero))
    assert p.cycles == costs.vector_cycles(x.size, 4)
    back, _ = vrun(mem, "npu.vdequant", q, out_dtype=np.float32, v_scale=f32_bits(scale),
                   v_zero=zero & 0xFFFFFFFF)
    assert np.array_equal(back, (q.astype(np.int32) - zero).astype(np.float32) * np.float32(scale))


BAD = [
    ("npu.vadd", {"v_len": 0}, {}, "vec_bad_length", None, "v_len = 0"),
    ("npu.vadd", {"v_dtype": 3}, {}, "vec_bad_dtype", None, "v_dtype 3"),
    ("npu.vadd", {"v_len": (1 << 16) + 1}, {}, "vec_bad_length", None, "262148 bytes do not fit in ub"),
    ("npu.vcvt.f32.f16", {"v_len": 0xFFFFFFFF}, {}, "vec_bad_length", None, "v_len = 4294967295"),
    ("npu.vadd", {}, {"rs1": 0x20000000}, "vec_bad_operand", 0x20000000, "rs1 0x20000000 is in l1, not ub"),
    ("npu.vadd", {}, {"rs2": 0x22000002}, "vec_bad_operand", 0x22000002, "not aligned to 4 bytes"),
    ("npu.vadd", {"v_len": 1 << 16}, {}, "vec_bad_operand", 0x22010000, "rs1 0x22010000+0x40000 leaves ub"),
    ("npu.vrelu", {}, {"rd": 0x80000000}, "vec_bad_operand", 0x80000000, "rd 0x80000000 is in hbm, not ub"),
    ("npu.vscalebias", {"v_chan": 3}, {}, "vec_bad_length", None, "v_len 16 is not a whole number"),
    ("npu.vscalebias", {"v_chan": 0}, {}, "vec_bad_length", None, "v_chan 0"),
    ("npu.vquant", {"v_scale": 0}, {}, "vec_bad_operand", None, "v_scale 0x00000000"),
    ("npu.vquant", {"v_scale": 0x7FC00000}, {}, "vec_bad_operand", None, "not a positive finite fp32"),
    ("npu.vdequant", {"v_scale": 0xBF800000}, {}, "vec_bad_operand", None, "v_scale 0xbf800000"),
    ("npu.vdequant", {"v_scale": 0x3F800000, "v_zero": 128}, {}, "vec_bad_operand", None, "v_zero 128"),
]


@pytest.mark.parametrize(("op", "cfg_change", "regs", "cause", "addr", "text"), BAD)
def test_bad_operands(mem, op, cfg_change, regs, cause, addr, text):
    cfg = {**reset_cfg(), "v_len": 16, **cfg_change}
    operands = {"rd": OUT, "rs1": Y, "rs2": X, **regs}
    with pytest.raises(DeviceFault) as info:
        vector.plan(op, operands["rd"], operands["rs1"], operands["rs2"], cfg, mem.memory)
    assert info.value.cause == cause and info.value.addr == addr and text in info.value.detail


def test_unknown_op_is_a_programming_error(mem):
    with pytest.raises(ValueError, match="not a vector instruction"):
        vector.plan("npu.mmad", OUT, X, Y, reset_cfg(), mem.memory)
