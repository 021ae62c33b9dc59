"""CONV2D on the firmware: NCHW and NHWC, stride, padding and the fused bias/batch-norm/ReLU
against a numpy reference, per release."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from opsharness import field_offset, releases, run_ok, serving

FUSIONS = [[], ["bias"], ["bn"], ["relu"], ["bias", "bn", "relu"]]


def conv_ref(x: np.ndarray, w: np.ndarray, stride: int, pad: int) -> np.ndarray:
    """NCHW fp32 convolution as a sum over kernel taps (the numpy oracle)."""
    n, _c, h, wd = x.shape
    k, _, kh, kw = w.shape
    xp = np.pad(x.astype(np.float32), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1
    out = np.zeros((n, k, oh, ow), np.float32)
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]
            out += np.einsum("nchw,kc->nkhw", patch, w[:, :, i, j].astype(np.float32))
    return out


def fused_ref(conv: np.ndarray, bias: np.ndarray, bn: np.ndarray, opts: list[str]) -> np.ndarray:
    k = conv.shape[1]
    out = conv
    if "bias" in opts:
        out = out + bias[None, :, None, None]
    if "bn" in opts:
        out = out * bn[:k][None, :, None, None] + bn[k:][None, :, None, None]
    if "relu" in opts:
        out = np.maximum(out, 0)
    return out


def run_conv(version: str, x: np.ndarray, w: np.ndarray, bias: np.ndarray, bn: np.ndarray, stride: int,
             pad: int, layout: str, opts: list[str], **defines: int) -> tuple[np.ndarray, int]:
    """Run CONV2D on NCHW `x`; returns the NCHW result and the modeled cycles."""
    fw = serving(version, **defines)
    n, c, h, wd = x.shape
    k, _, kh, kw = w.shape
    oh, ow = (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1
    src = x if layout == "nchw" else x.transpose(0, 2, 3, 1)
    px, pw, pb, pbn = fw.put(src), fw.put(w), fw.put(bias), fw.put(bn)
    po = fw.alloc(n * k * oh * ow * 4)
    cycles = run_ok(fw, "CONV2D", input=px, weight=pw, out=po, bias=pb, bn=pbn, n=n, c=c, h=h, w=wd, k=k,
                    kh=kh, kw=kw, stride=stride, pad=pad, layout=layout, dtype="fp16", opts=opts)
    if layout == "nchw":
        return fw.get(po, np.float32, (n, k, oh, ow)), cycles
    return fw.get(po, np.float32, (n, oh, ow, k)).transpose(0, 3, 1, 2), cycles


def case(n: int, c: int, h: int, w: int, k: int, kh: int, kw: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, c, h, w)).astype(np.float16),
            rng.standard_normal((k, c, kh, kw)).astype(np.float16),
            rng.standard_normal(k).astype(np.float32), rng.standard_normal(2 * k).astype(np.float32))


# n, c, h, w, k, kh, kw, stride, pad
shapes = st.tuples(st.integers(1, 2), st.integers(1, 5), st.integers(1, 12), st.integers(1, 12),
                   st.integers(1, 9), st.integers(1, 4), st.integers(1, 4), st.integers(1, 3),
                   st.integers(0, 2))


@pytest.mark.parametrize("version", releases())
@settings(max_examples=5)
@given(shape=shapes, layout=st.sampled_from(["nchw", "nhwc"]), opts=st.sampled_from(FUSIONS),
       seed=st.integers(0, 2**32 - 1))
def test_conv2d_matches_numpy(version: str, shape: tuple[int, ...], layout: str, opts: list[str],
                              seed: int) -> None:
    n, c, h, w, k, kh, kw, stride, pad = shape
    assume(kh <= h + 2 * pad and kw <= w + 2 * pad)
    if "conv_fused" not in serving(version).release.features:
        opts = []
    x, wt, bias, bn = case(n, c, h, w, k, kh, kw, seed)
    got, _ = run_conv(version, x, wt, bias, bn, stride, pad, layout, opts)
    want = fused_ref(conv_ref(x, wt, stride, pad), bias, bn, opts)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
def test_conv2d_tiles_channels_and_outputs(layout: str) -> None:
    """A 40 x 40 image: one input channel per step (3 steps) and 10 output channels per tile."""
    x, wt, bias, bn = case(2, 3, 40, 40, 12, 3, 3, 5)
    got, _ = run_conv("1.3.0", x, wt, bias, bn, 1, 1, layout, ["bias", "bn", "relu"])
    want = fused_ref(conv_ref(x, wt, 1, 1), bias, bn, ["bias", "bn", "relu"])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("version", [v for v in releases() if v not in releases("conv_fused")])
def test_fusion_is_unsupported_without_conv_fused(version: str) -> None:
    fw = serving(version)
    x, wt, bias, bn = case(1, 1, 4, 4, 1, 3, 3, 0)
    done = fw.run("CONV2D", input=fw.put(x), weight=fw.put(wt), out=fw.alloc(64), bias=fw.put(bias),
                  bn=fw.put(bn), n=1, c=1, h=4, w=4, k=1, kh=3, kw=3, stride=1, pad=0, layout="nchw",
                  dtype="fp16", opts=["relu"])
    assert (done.status, done.detail) == ("UNSUPPORTED", field_offset(fw, "CONV2D", "opts"))
