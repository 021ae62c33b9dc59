"""ELTWISE on the firmware: random lengths, ops, types and values against numpy, per release."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opsharness import SMALL, has_flag, releases, run_ok, serving

OPS = ("add", "sub", "mul", "max", "min", "relu", "scale_bias")
DTYPES = {"fp16": np.float16, "fp32": np.float32, "int32": np.int32}
UFUNCS = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "max": np.maximum, "min": np.minimum}


def operands(dtype: str, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if dtype == "int32":
        return (rng.integers(-2**31, 2**31, count, dtype=np.int64).astype(np.int32),
                rng.integers(-2**31, 2**31, count, dtype=np.int64).astype(np.int32))
    return tuple((rng.standard_normal(count) * 8).astype(DTYPES[dtype]) for _ in range(2))  # type: ignore[return-value]


def reference(op: str, dtype: str, a: np.ndarray, b: np.ndarray, scale: float, bias: float) -> np.ndarray:
    """numpy's result; fp16 arithmetic is fp32 arithmetic rounded once to fp16 (overflow gives inf)."""
    with np.errstate(over="ignore"):
        return _reference(op, dtype, a, b, scale, bias)


def _reference(op: str, dtype: str, a: np.ndarray, b: np.ndarray, scale: float, bias: float) -> np.ndarray:
    wide = a.astype(np.float32) if dtype == "fp16" else a
    if op == "relu":
        out = np.maximum(wide, wide.dtype.type(0))
    elif op == "scale_bias":
        out = wide * np.float32(scale) + np.float32(bias)
    else:
        out = UFUNCS[op](wide, b.astype(np.float32) if dtype == "fp16" else b)
    return out.astype(DTYPES[dtype])


def run_eltwise(version: str, op: str, dtype: str, a: np.ndarray, b: np.ndarray, scale: float = 0.0,
                bias: float = 0.0, **defines: int) -> tuple[np.ndarray, int]:
    fw = serving(version, **defines)
    pa, pb, po = fw.put(a), fw.put(b), fw.put(np.zeros_like(a))
    cycles = run_ok(fw, "ELTWISE", a=pa, b=pb, out=po, count=a.size, op=op, dtype=dtype, scale=scale,
                    bias=bias)
    return fw.get(po, a.dtype, a.size), cycles


@pytest.mark.parametrize("version", releases())
@settings(max_examples=8)
@given(op=st.sampled_from(OPS), dtype=st.sampled_from(sorted(DTYPES)), count=st.integers(1, 300),
       seed=st.integers(0, 2**32 - 1), scale=st.floats(-4, 4, width=32), bias=st.floats(-4, 4, width=32))
def test_eltwise_matches_numpy(version: str, op: str, dtype: str, count: int, seed: int, scale: float,
                               bias: float) -> None:
    if op == "scale_bias" and dtype == "int32":
        dtype = "fp32"
    if op == "max" and has_flag(version, "ELTWISE_MAX_TAIL_BUG"):
        count -= count % 16  # FW-120-1 (test_ops_known_issue.py); whole groups of 16 are right
        count = count or 16
    a, b = operands(dtype, count, seed)
    got, _ = run_eltwise(version, op, dtype, a, b, scale, bias)
    np.testing.assert_array_equal(got, reference(op, dtype, a, b, scale, bias))


@settings(max_examples=6)
@given(op=st.sampled_from(OPS), dtype=st.sampled_from(sorted(DTYPES)), count=st.integers(1, 700),
       seed=st.integers(0, 2**32 - 1))
def test_eltwise_over_many_chunks(op: str, dtype: str, count: int, seed: int) -> None:
    """A small stream chunk (64 elements) makes every length cross chunk and buffer edges."""
    if op == "scale_bias" and dtype == "int32":
        dtype = "fp32"
    a, b = operands(dtype, count, seed)
    got, _ = run_eltwise("1.3.0", op, dtype, a, b, 1.5, -0.25, **SMALL)
    np.testing.assert_array_equal(got, reference(op, dtype, a, b, 1.5, -0.25))


def test_eltwise_in_place() -> None:
    fw = serving("1.3.0")
    a, b = operands("fp32", 5000, 7)
    pa, pb = fw.put(a), fw.put(b)
    run_ok(fw, "ELTWISE", a=pa, b=pb, out=pa, count=a.size, op="sub", dtype="fp32")
    np.testing.assert_array_equal(fw.get(pa, np.float32, a.size), a - b)


# numpy's overflow warning from the vector unit: inf is the IEEE result asserted here
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_eltwise_special_values_fp32() -> None:
    a = np.array([np.inf, -np.inf, 0.0, -0.0, 3e38, -3e38, 3.0], np.float32)
    b = np.array([1.0, 2.0, -0.0, 0.0, 3e38, -3e38, -np.inf], np.float32)
    for op in ("add", "sub", "relu"):  # 3e38 + 3e38 overflows to inf, as IEEE says
        got, _ = run_eltwise("1.3.0", op, "fp32", a, b)
        np.testing.assert_array_equal(got, reference(op, "fp32", a, b, 0, 0))
