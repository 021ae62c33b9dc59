"""Layout transforms: NCHW <-> NHWC and ND <-> fractal round trips, im2col against a direct convolution."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from firmware.hw.units import layout

dims = st.integers(1, 7)


@given(n=dims, c=dims, h=dims, w=dims)
def test_nchw_nhwc_round_trip(n, c, h, w):
    x = np.arange(n * c * h * w, dtype=np.int32).reshape(n, c, h, w)
    nhwc = layout.nchw_to_nhwc(x)
    assert np.array_equal(nhwc, x.transpose(0, 2, 3, 1))
    assert np.array_equal(layout.nhwc_to_nchw(nhwc), x)


@given(rows=st.integers(1, 50), cols=st.integers(1, 50))
def test_fractal_round_trip_and_block_order(rows, cols):
    m = np.arange(rows * cols, dtype=np.uint16).reshape(rows, cols) + 1
    f = layout.nd_to_fractal(m)
    br, bc = -(-rows // 16), -(-cols // 16)
    assert f.shape == (br, bc, 16, 16)
    assert f[br - 1, bc - 1, (rows - 1) % 16, (cols - 1) % 16] == m[-1, -1]
    assert f[0, 0, 0, 0] == m[0, 0]
    assert f.sum(dtype=np.int64) == m.sum(dtype=np.int64)  # the padding is zeros
    assert np.array_equal(layout.fractal_to_nd(f, rows, cols), m)


@given(c=st.integers(1, 4), h=st.integers(1, 9), w=st.integers(1, 9), o=st.integers(1, 3),
       kh=st.integers(1, 3), kw=st.integers(1, 3), stride=st.integers(1, 3), pad=st.integers(0, 2),
       seed=st.integers(0, 2**16))
def test_im2col_matmul_is_a_convolution(direct_conv, c, h, w, o, kh, kw, stride, pad, seed):
    if h + 2 * pad < kh or w + 2 * pad < kw:
        return
    rng = np.random.default_rng(seed)
    x = rng.integers(-9, 10, (c, h, w)).astype(np.int64)
    wt = rng.integers(-9, 10, (o, c, kh, kw)).astype(np.int64)
    a = layout.im2col(x, kh, kw, stride, pad)
    ho, wo = layout.conv_out(h, kh, stride, pad), layout.conv_out(w, kw, stride, pad)
    assert a.shape == (ho * wo, c * kh * kw)
    y = (a @ wt.reshape(o, -1).T).T.reshape(o, ho, wo)
    assert np.array_equal(y, direct_conv(x, wt, stride, pad))
    out = np.full((ho * wo, c * kh * kw), -1, np.int64)
    layout.im2col(x, kh, kw, stride, pad, out=out)
    assert np.array_equal(out, a)
