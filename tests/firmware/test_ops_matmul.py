"""MATMUL on the firmware: fp16 and int8 (bias, ReLU, requantize) against numpy, per release,
and shapes that cross the tile edges of a small-tile build."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opsharness import SMALL, field_offset, harness, releases, run_ok, serving

dims = st.integers(1, 70)
# SMALL's 16 x 32 tiles and 16-deep K steps, with L1 chunks of 2 steps and C written back in
# pieces of 6 rows: small shapes cross every edge (tile, chunk, step and piece).
TILED = {**SMALL, "MM_KSTEPS": 2, "MM_TO": 6}


def fp16_case(m: int, k: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((m, k)).astype(np.float16), rng.standard_normal((k, n)).astype(np.float16),
            rng.standard_normal(n).astype(np.float32))


def int8_case(m: int, k: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.integers(-128, 128, (m, k)).astype(np.int8), rng.integers(-128, 128, (k, n)).astype(np.int8),
            rng.integers(-5000, 5000, n).astype(np.int32))


def reference(a: np.ndarray, b: np.ndarray, bias: np.ndarray, opts: list[str], scale: float = 1.0,
              zero: int = 0) -> np.ndarray:
    acc = a.astype(np.float32) @ b.astype(np.float32) if a.dtype == np.float16 else \
        a.astype(np.int32) @ b.astype(np.int32)
    if "bias" in opts:
        acc = acc + bias
    if "relu" in opts:
        acc = np.maximum(acc, 0)
    if "requant" in opts:
        t = np.rint(acc.astype(np.float32) * np.float32(scale)) + np.float32(zero)
        return np.clip(t, -128, 127).astype(np.int8)
    return acc


def run_matmul(version: str, a: np.ndarray, b: np.ndarray, bias: np.ndarray, opts: list[str],
               scale: float = 0.0, zero: int = 0, **defines: int) -> tuple[np.ndarray, int]:
    fw = serving(version, **defines)
    (m, k), n = a.shape, b.shape[1]
    out_t = np.int8 if "requant" in opts else (np.float32 if a.dtype == np.float16 else np.int32)
    pa, pb, pbias = fw.put(a), fw.put(b), fw.put(bias)
    pc = fw.alloc(m * n * 4)
    dtype = "fp16" if a.dtype == np.float16 else "int8"
    cycles = run_ok(fw, "MATMUL", a=pa, b=pb, c=pc, bias=pbias, m=m, n=n, k=k, dtype=dtype, opts=opts,
                    scale=scale, zero_point=zero)
    return fw.get(pc, out_t, (m, n)), cycles


opt_sets = st.sampled_from([[], ["bias"], ["relu"], ["bias", "relu"]])


@pytest.mark.parametrize("version", releases("matmul_fp16"))
@settings(max_examples=5)
@given(m=dims, k=dims, n=dims, opts=opt_sets, seed=st.integers(0, 2**32 - 1))
def test_fp16_matmul_matches_numpy(version: str, m: int, k: int, n: int, opts: list[str], seed: int) -> None:
    a, b, bias = fp16_case(m, k, n, seed)
    got, _ = run_matmul(version, a, b, bias, opts)
    np.testing.assert_allclose(got, reference(a, b, bias, opts), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("version", releases("matmul_int8"))
@settings(max_examples=5)
@given(m=dims, k=dims, n=dims, opts=opt_sets, requant=st.booleans(), scale=st.floats(2.0**-12, 1.0, width=32),
       zero=st.integers(-128, 127), seed=st.integers(0, 2**32 - 1))
def test_int8_matmul_matches_numpy(version: str, m: int, k: int, n: int, opts: list[str], requant: bool,
                                   scale: float, zero: int, seed: int) -> None:
    a, b, bias = int8_case(m, k, n, seed)
    opts = [*opts, "requant"] if requant else opts
    got, _ = run_matmul(version, a, b, bias, opts, scale, zero)
    np.testing.assert_array_equal(got, reference(a, b, bias, opts, scale, zero))


@settings(max_examples=10)
@given(m=st.integers(1, 60), k=st.integers(1, 60), n=st.integers(1, 90), opts=opt_sets, int8=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_tiled_matmul_edge_tiles(m: int, k: int, n: int, opts: list[str], int8: bool, seed: int) -> None:
    """TILED: most shapes have partial tiles, chunks, steps and pieces in every dimension."""
    if int8:
        a, b, bias = int8_case(m, k, n, seed)
        got, _ = run_matmul("1.3.0", a, b, bias, [*opts, "requant"], 0.01, -3, **TILED)
        np.testing.assert_array_equal(got, reference(a, b, bias, [*opts, "requant"], 0.01, -3))
    else:
        a, b, bias = fp16_case(m, k, n, seed)
        got, _ = run_matmul("1.3.0", a, b, bias, opts, **TILED)
        np.testing.assert_allclose(got, reference(a, b, bias, opts), rtol=1e-5, atol=1e-5)


def test_default_tiles_cross_every_edge() -> None:
    """300 x 700 x 600 with the release's 256 x 256 tiles, 512-deep chunks of 128-deep steps and
    write-back pieces: full and partial tiles in m and n, chunks and steps in K."""
    a, b, bias = fp16_case(300, 700, 600, 3)
    got, _ = run_matmul("1.3.0", a, b, bias, ["bias", "relu"])
    np.testing.assert_allclose(got, reference(a, b, bias, ["bias", "relu"]), rtol=1e-5, atol=1e-4)


def test_int8_is_unsupported_before_1_1() -> None:
    fw = serving("1.0.0")
    a, b, bias = int8_case(4, 4, 4, 0)
    done = fw.run("MATMUL", a=fw.put(a), b=fw.put(b), c=fw.alloc(64), bias=fw.put(bias), m=4, n=4, k=4,
                  dtype="int8")
    assert done.status == "UNSUPPORTED"
    assert done.detail == field_offset(fw, "MATMUL", "dtype")


def pack_int4(x: np.ndarray) -> np.ndarray:
    """Two int4 per byte along rows, low nibble first (the ABI's packing)."""
    u = (x.astype(np.int8) & 0xF).astype(np.uint8)
    return u[:, 0::2] | (u[:, 1::2] << 4)


def run_int4(version: str, m: int, k: int, n: int, opts: list[str], seed: int, **defines: int) -> None:
    """MATMUL_INT4 of random int4 operands (k, n even) against numpy's int32 product."""
    rng = np.random.default_rng(seed)
    a, b = rng.integers(-8, 8, (m, k)), rng.integers(-8, 8, (k, n))
    bias = rng.integers(-500, 500, n).astype(np.int32)
    fw = serving(version, **defines)
    pc = fw.alloc(m * n * 4)
    run_ok(fw, "MATMUL_INT4", a=fw.put(pack_int4(a)), b=fw.put(pack_int4(b)), c=pc, bias=fw.put(bias),
           m=m, n=n, k=k, opts=opts)
    want = reference(a.astype(np.int8), b.astype(np.int8), bias, opts)
    np.testing.assert_array_equal(fw.get(pc, np.int32, (m, n)), want)


@pytest.mark.parametrize("version", releases("matmul_int4"))
@settings(max_examples=6)
@given(m=st.integers(1, 40), k2=st.integers(1, 40), n2=st.integers(1, 40), opts=opt_sets,
       seed=st.integers(0, 2**32 - 1))
def test_int4_matmul_matches_numpy(version: str, m: int, k2: int, n2: int, opts: list[str],
                                   seed: int) -> None:
    run_int4(version, m, 2 * k2, 2 * n2, opts, seed)


@settings(max_examples=6)
@given(m=st.integers(1, 40), k2=st.integers(1, 40), n2=st.integers(1, 40), opts=opt_sets,
       seed=st.integers(0, 2**32 - 1))
def test_int4_matmul_edge_tiles(m: int, k2: int, n2: int, opts: list[str], seed: int) -> None:
    """TILED with int4 (half a byte per element): byte offsets of partial tiles, chunks and steps."""
    run_int4(releases("matmul_int4")[-1], m, 2 * k2, 2 * n2, opts, seed, **TILED)


def test_abi1_driver_on_the_transition_release() -> None:
    """2.0.0 speaks ABI 1 too: the same operators read their arguments at ABI 1's offsets."""
    fw = harness("2.0.0", gen=1)
    assert fw.gen == 1
    a, b, bias = fp16_case(20, 33, 17, 9)
    pc = fw.alloc(20 * 17 * 4)
    run_ok(fw, "MATMUL", a=fw.put(a), b=fw.put(b), c=pc, bias=fw.put(bias), m=20, n=17, k=33, dtype="fp16",
           opts=["bias"])
    np.testing.assert_allclose(fw.get(pc, np.float32, (20, 17)), reference(a, b, bias, ["bias"]), rtol=1e-5,
                               atol=1e-5)
