"""CONV2D cut into bands of output rows (feature conv_tiled): images far larger than one
L0 tile match numpy on both layouts, fused and not, with padding only at the image's edges;
releases without the feature keep their limit (BAD_SIZE)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st
from opsharness import field_offset, releases, serving
from test_ops_conv2d import FUSIONS, case, conv_ref, fused_ref, run_conv

TILED = releases("conv_tiled")
CV_GM = 116  # byte offset of the group-mode flag in the conv context (ops_conv2d.S)
UNTILED = [v for v in releases() if v not in TILED]


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
@pytest.mark.parametrize("stride", [1, 2])
def test_large_conv_matches_numpy(layout: str, stride: int) -> None:
    """3x3, 1x16x128x128 -> 32 channels, padding 1: 128 x 128 outputs take many bands."""
    x, wt, bias, bn = case(1, 16, 128, 128, 32, 3, 3, 11)
    got, _ = run_conv(TILED[-1], x, wt, bias, bn, stride, 1, layout, [])
    np.testing.assert_allclose(got, conv_ref(x, wt, stride, 1), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
def test_large_conv_fused_equals_unfused_then_numpy(layout: str) -> None:
    """The fused epilogue per band gives what bias, BN and ReLU on the plain result give."""
    opts = ["bias", "bn", "relu"]
    x, wt, bias, bn = case(2, 8, 70, 90, 20, 3, 3, 12)
    fused, _ = run_conv(TILED[-1], x, wt, bias, bn, 1, 1, layout, opts)
    plain, _ = run_conv(TILED[-1], x, wt, bias, bn, 1, 1, layout, [])
    np.testing.assert_allclose(fused, fused_ref(plain, bias, bn, opts), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fused, fused_ref(conv_ref(x, wt, 1, 1), bias, bn, opts), rtol=1e-4, atol=1e-3)


# n, c, h, w, k, kh, kw, stride, pad
shapes = st.tuples(st.integers(1, 2), st.integers(1, 4), st.integers(1, 14), st.integers(1, 10),
                   st.integers(1, 6), st.integers(1, 4), st.integers(1, 4), st.integers(1, 3),
                   st.integers(0, 3))


def cuttable(outputs: int, size: int, kernel: int, stride: int, pad: int, tile: int) -> bool:
    """Whether outputs cut in tiles of `tile` keep the padded ones in the first and last tile."""
    if outputs <= tile:
        return True
    first = -(-pad // stride)  # outputs that need padding before the input
    if pad >= kernel or first > tile or size + pad < kernel:
        return False
    last = (size + pad - kernel) // stride + 1  # the first output that needs padding after it
    return last >= first and (outputs <= last or outputs - last <= tile)


@settings(max_examples=50, deadline=None)
@given(shape=shapes, layout=st.sampled_from(["nchw", "nhwc"]), opts=st.sampled_from(FUSIONS),
       band=st.sampled_from([1, 2, 3, 0xFFFF]), cols=st.sampled_from([1, 2, 3, 0xFFFF]),
       seed=st.integers(0, 2**32 - 1))
def test_banded_conv_matches_numpy(shape: tuple[int, ...], layout: str, opts: list[str], band: int, cols: int,
                                   seed: int) -> None:
    """Bands of 1-3 output rows and tiles of 1-3 output columns (a test build) on random shapes."""
    n, c, h, w, k, kh, kw, stride, pad = shape
    assume(kh <= h + 2 * pad and kw <= w + 2 * pad)
    oh, ow = (h + 2 * pad - kh) // stride + 1, (w + 2 * pad - kw) // stride + 1
    x, wt, bias, bn = case(n, c, h, w, k, kh, kw, seed)
    fw = serving(TILED[-1], CV_BAND_MAX=band, CV_COL_MAX=cols)
    src = x if layout == "nchw" else x.transpose(0, 2, 3, 1)
    po = fw.alloc(n * k * oh * ow * 4)
    done = fw.run("CONV2D", input=fw.put(src), weight=fw.put(wt), out=po, bias=fw.put(bias), bn=fw.put(bn),
                  n=n, c=c, h=h, w=w, k=k, kh=kh, kw=kw, stride=stride, pad=pad, layout=layout, dtype="fp16",
                  opts=opts)
    if not (cuttable(oh, h, kh, stride, pad, band) and cuttable(ow, w, kw, stride, pad, cols)):
        assert (done.status, done.detail) == ("BAD_SIZE", field_offset(fw, "CONV2D", "pad"))
        return
    assert done.status == "OK"
    got = fw.get(po, np.float32, (n, k, oh, ow) if layout == "nchw" else (n, oh, ow, k))
    if layout == "nhwc":
        got = got.transpose(0, 3, 1, 2)
    np.testing.assert_allclose(got, fused_ref(conv_ref(x, wt, stride, pad), bias, bn, opts), rtol=1e-5,
                               atol=1e-4)
    assert fw.dev.errors == [] and fw.dev.races == []


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
def test_rows_too_wide_for_l0_are_cut_in_column_tiles(layout: str) -> None:
    """3x3 over 3000 columns: one output row's patches exceed an L0A buffer, so tiles of columns."""
    opts = ["bias", "bn", "relu"]
    x, wt, bias, bn = case(1, 3, 5, 3000, 4, 3, 3, 14)
    for stride in (1, 2):
        got, _ = run_conv(TILED[-1], x, wt, bias, bn, stride, 1, layout, opts)
        np.testing.assert_allclose(got, fused_ref(conv_ref(x, wt, stride, 1), bias, bn, opts), rtol=1e-4,
                                   atol=1e-3)


# n, c, h, w, k, kh, kw, stride, pad: more channels, so that their rows outgrow a small band area
group_shapes = st.tuples(st.integers(1, 2), st.integers(3, 12), st.integers(1, 12), st.integers(1, 8),
                         st.integers(1, 5), st.integers(1, 4), st.integers(1, 4), st.integers(1, 3),
                         st.integers(0, 2))


@settings(max_examples=30, deadline=None)
@given(shape=group_shapes, layout=st.sampled_from(["nchw", "nhwc"]), l1=st.sampled_from([128, 256]),
       seed=st.integers(0, 2**32 - 1))
def test_a_small_l1_budget_takes_group_mode_and_matches_numpy(shape: tuple[int, ...], layout: str, l1: int,
                                                              seed: int) -> None:
    """A test build with a band area of a few hundred bytes: whole-channel bands, group mode or BAD_SIZE."""
    n, c, h, w, k, kh, kw, stride, pad = shape
    assume(kh <= h + 2 * pad and kw <= w + 2 * pad and pad < kh)
    x, wt, _, _ = case(n, c, h, w, k, kh, kw, seed)
    fw = serving(TILED[-1], CV_IMG_MAX=l1)
    oh, ow = (h + 2 * pad - kh) // stride + 1, (w + 2 * pad - kw) // stride + 1
    src = x if layout == "nchw" else x.transpose(0, 2, 3, 1)
    po = fw.alloc(n * k * oh * ow * 4)
    done = fw.run("CONV2D", input=fw.put(src), weight=fw.put(wt), out=po, bias=0, bn=0, n=n, c=c, h=h, w=w,
                  k=k, kh=kh, kw=kw, stride=stride, pad=pad, layout=layout, dtype="fp16", opts=[])
    if done.status != "OK":  # one band's rows of one channel beyond half the band area, or padded rows
        assert done.status == "BAD_SIZE"
        if done.detail == field_offset(fw, "CONV2D", "w"):
            assert w * 2 * (stride + kh - 1) > l1 // 2
        else:
            assert done.detail == field_offset(fw, "CONV2D", "pad")
        return
    got = fw.get(po, np.float32, (n, k, oh, ow) if layout == "nchw" else (n, oh, ow, k))
    if layout == "nhwc":
        got = got.transpose(0, 3, 1, 2)
    event(f"group mode {fw.tcm_words(fw.symbol('cv_ctx') + CV_GM, 1)[0]}")
    np.testing.assert_allclose(got, conv_ref(x, wt, stride, pad), rtol=1e-5, atol=1e-4)
    assert fw.dev.errors == [] and fw.dev.races == []


def test_padding_wider_than_the_kernel_needs_one_band() -> None:
    fw = serving(TILED[-1], CV_BAND_MAX=2)
    x, wt, _, _ = case(1, 1, 8, 8, 1, 2, 2, 3)
    done = fw.run("CONV2D", input=fw.put(x), weight=fw.put(wt), out=fw.alloc(4096), bias=0, bn=0, n=1, c=1,
                  h=8, w=8, k=1, kh=2, kw=2, stride=1, pad=2, layout="nchw", dtype="fp16", opts=[])
    assert (done.status, done.detail) == ("BAD_SIZE", field_offset(fw, "CONV2D", "pad"))


def test_bands_overlap_cube_with_dma() -> None:
    """Several bands cost more cycles than one (halo reloads) but far less than serial steps."""
    x, wt, bias, bn = case(1, 8, 48, 48, 16, 3, 3, 4)
    _, one = run_conv(TILED[-1], x, wt, bias, bn, 1, 1, "nchw", [])
    _, banded = run_conv(TILED[-1], x, wt, bias, bn, 1, 1, "nchw", [], CV_BAND_MAX=4)
    _, serial = run_conv(TILED[-1], x, wt, bias, bn, 1, 1, "nchw", [], CV_BAND_MAX=4, DOUBLE_BUFFER=0)
    assert one < banded < serial


@pytest.mark.parametrize("version", UNTILED[-1:])
def test_without_conv_tiled_a_large_image_is_bad_size(version: str) -> None:
    """The image beyond half of L1 (detail c), the output plane beyond L0C's tile (detail h)."""
    fw = serving(version)
    for (c, h, w), arg in (((17, 128, 128), "c"), ((1, 130, 130), "h")):
        done = fw.run("CONV2D", input=fw.alloc(c * h * w * 2), weight=fw.alloc(32 * c * 9 * 2),
                      out=fw.alloc(32 * h * w * 4), bias=0, bn=0, n=1, c=c, h=h, w=w, k=32, kh=3, kw=3,
                      stride=1, pad=1, layout="nchw", dtype="fp16", opts=[])
        assert (done.status, done.detail) == ("BAD_SIZE", field_offset(fw, "CONV2D", arg))


def test_a_patch_larger_than_l0_is_bad_size() -> None:
    """kh * kw fp16 beyond one L0A buffer: not even one output fits a step."""
    fw = serving(TILED[-1])
    done = fw.run("CONV2D", input=fw.alloc(200 * 200 * 2), weight=fw.alloc(200 * 200 * 2), out=fw.alloc(64),
                  bias=0, bn=0, n=1, c=1, h=200, w=200, k=1, kh=200, kw=200, stride=1, pad=0, layout="nchw",
                  dtype="fp16", opts=[])
    assert (done.status, done.detail) == ("BAD_SIZE", field_offset(fw, "CONV2D", "kh"))
