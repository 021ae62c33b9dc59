"""QUANTIZE / DEQUANTIZE on the firmware: per-tensor scale and zero point against numpy, per release."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opsharness import releases, run_ok, serving

FLOATS = {"fp32": np.float32, "fp16": np.float16}


def quantize_ref(x: np.ndarray, scale: float, zero: int) -> np.ndarray:
    """saturate(round_half_even(x / scale) + zero), the division in fp32."""
    t = np.rint(x.astype(np.float32) / np.float32(scale)) + np.float32(zero)
    return np.clip(t, -128, 127).astype(np.int8)


def dequantize_ref(q: np.ndarray, scale: float, zero: int, dtype: str) -> np.ndarray:
    with np.errstate(over="ignore"):  # fp16 results beyond 65504 are inf, as the rounding says
        return ((q.astype(np.float32) - np.float32(zero)) * np.float32(scale)).astype(FLOATS[dtype])


scales = st.floats(2.0**-10, 2.0**10, width=32)
zeros = st.integers(-128, 127)


@pytest.mark.parametrize("version", releases())
@settings(max_examples=6)
@given(dtype=st.sampled_from(sorted(FLOATS)), count=st.integers(1, 9000), scale=scales, zero=zeros,
       seed=st.integers(0, 2**32 - 1))
def test_quantize_matches_numpy(version: str, dtype: str, count: int, scale: float, zero: int,
                                seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(count) * scale * 100  # many saturate
    x[: count // 8] = (rng.integers(-300, 300, count // 8) + 0.5) * np.float32(scale)  # ties
    x = np.clip(x, -6e4, 6e4).astype(FLOATS[dtype])  # inside fp16's range
    fw = serving(version)
    src, dst = fw.put(x), fw.alloc(count)
    run_ok(fw, "QUANTIZE", src=src, dst=dst, count=count, dtype=dtype, scale=scale, zero_point=zero)
    np.testing.assert_array_equal(fw.get(dst, np.int8, count), quantize_ref(x, scale, zero))


@pytest.mark.parametrize("version", releases())
@settings(max_examples=6)
@given(dtype=st.sampled_from(sorted(FLOATS)), count=st.integers(1, 9000), scale=scales, zero=zeros,
       seed=st.integers(0, 2**32 - 1))
def test_dequantize_matches_numpy(version: str, dtype: str, count: int, scale: float, zero: int,
                                  seed: int) -> None:
    q = np.random.default_rng(seed).integers(-128, 128, count).astype(np.int8)
    fw = serving(version)
    src, dst = fw.put(q), fw.alloc(count * 4)
    run_ok(fw, "DEQUANTIZE", src=src, dst=dst, count=count, dtype=dtype, scale=scale, zero_point=zero)
    got = fw.get(dst, FLOATS[dtype], count)
    np.testing.assert_array_equal(got, dequantize_ref(q, scale, zero, dtype))


def test_quantize_rounds_half_to_even_and_saturates() -> None:
    x = np.array([0.5, 1.5, 2.5, -0.5, -2.5, 1000.0, -1000.0, np.inf, -np.inf, 0.49999997], np.float32)
    fw = serving("1.3.0")
    src, dst = fw.put(x), fw.alloc(x.size)
    run_ok(fw, "QUANTIZE", src=src, dst=dst, count=x.size, dtype="fp32", scale=1.0, zero_point=3)
    assert fw.get(dst, np.int8, x.size).tolist() == [3, 5, 5, 3, 1, 127, -128, 127, -128, 3]


def test_round_trip_through_int8_is_within_half_a_step() -> None:
    x = np.linspace(-1, 1, 1001, dtype=np.float32)
    fw = serving("1.3.0")
    src, q, back = fw.put(x), fw.alloc(x.size), fw.alloc(x.size * 4)
    scale = 1 / 127
    run_ok(fw, "QUANTIZE", src=src, dst=q, count=x.size, dtype="fp32", scale=scale, zero_point=0)
    run_ok(fw, "DEQUANTIZE", src=q, dst=back, count=x.size, dtype="fp32", scale=scale, zero_point=0)
    assert np.abs(fw.get(back, np.float32, x.size) - x).max() <= scale / 2 + 1e-7
