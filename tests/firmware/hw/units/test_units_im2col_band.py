"""im2col of a row band: the padding flags drop the zero rows at a band's inner edges, so
bands cut from one image give, stacked, the patches of the whole image."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.hw.units import layout
from firmware.hw.units.descriptor import (
    FLAG_NO_PAD_BOTTOM,
    FLAG_NO_PAD_LEFT,
    FLAG_NO_PAD_RIGHT,
    FLAG_NO_PAD_TOP,
    FLAG_VALID,
    decode,
    encode,
)
from firmware.hw.units.faults import DeviceFault


def test_pads_follow_the_flags():
    base = {"src": 0x20000000, "dst": 0x21000000, "row_bytes": 16, "rows": 5, "xform": "im2col", "esize": 2,
            "chan": 1, "kh": 3, "kw": 3, "stride": 1, "pad": 1}
    full = decode(encode(**base))
    assert full.pads == (1, 1, 1, 1) and full.out_hw == (5, 8)
    band = decode(encode(**base, flags=FLAG_VALID | FLAG_NO_PAD_TOP))
    assert band.pads == (0, 1, 1, 1) and band.out_hw == (4, 8)
    inner = decode(encode(**base, flags=FLAG_VALID | FLAG_NO_PAD_TOP | FLAG_NO_PAD_BOTTOM))
    assert inner.pads == (0, 0, 1, 1) and inner.out_hw == (3, 8)
    tile = decode(encode(**base, flags=FLAG_VALID | FLAG_NO_PAD_LEFT | FLAG_NO_PAD_RIGHT))
    assert tile.pads == (1, 1, 0, 0) and tile.out_hw == (5, 6)


@settings(max_examples=60, deadline=None)
@given(w=st.integers(3, 12), k=st.integers(1, 3), stride=st.integers(1, 3), pad=st.integers(0, 2),
       cut=st.integers(1, 11))
def test_column_tiles_side_by_side_give_the_whole_image(w, k, stride, pad, cut):
    """Output columns [0, cut) from the left window and [cut, ow) from the rest equal the whole."""
    ow = layout.conv_out(w, k, stride, pad)
    if ow < 2 or pad >= k:
        return
    cut = 1 + cut % (ow - 1)
    if cut * stride < pad or (cut - 1) * stride - pad + k > w:
        return
    x = np.arange(2 * 4 * w, dtype=np.float32).reshape(2, 4, w)
    whole = layout.im2col(x, k, k, stride, pad).reshape(-1, ow, 2 * k * k)
    left = layout.im2col(x[:, :, :(cut - 1) * stride - pad + k], k, k, stride, (pad, pad, pad, 0))
    right = layout.im2col(x[:, :, cut * stride - pad:], k, k, stride, (pad, pad, 0, pad))
    oh = whole.shape[0]
    np.testing.assert_array_equal(left.reshape(oh, cut, -1), whole[:, :cut])
    np.testing.assert_array_equal(right.reshape(oh, ow - cut, -1), whole[:, cut:])


@settings(max_examples=60, deadline=None)
@given(c=st.integers(1, 3), h=st.integers(3, 12), w=st.integers(1, 7), k=st.integers(1, 3),
       stride=st.integers(1, 3), pad=st.integers(0, 2), cut=st.integers(1, 11))
def test_bands_stack_to_the_whole_image(c, h, w, k, stride, pad, cut):
    """Output rows [0, cut) from the top band and [cut, oh) from the rest equal the whole."""
    oh, ow = layout.conv_out(h, k, stride, pad), layout.conv_out(w, k, stride, pad)
    if oh < 2 or ow < 1 or pad >= k:
        return
    cut = 1 + cut % (oh - 1)
    if cut * stride < pad or (cut - 1) * stride - pad + k > h:  # top band must not need bottom padding
        return
    x = np.arange(c * h * w, dtype=np.float32).reshape(c, h, w)
    whole = layout.im2col(x, k, k, stride, pad)
    top = layout.im2col(x[:, :(cut - 1) * stride - pad + k], k, k, stride, (pad, 0, pad, pad))
    rest = layout.im2col(x[:, cut * stride - pad:], k, k, stride, (0, pad, pad, pad))
    np.testing.assert_array_equal(np.concatenate([top, rest]), whole)


def test_flags_only_for_im2col():
    raw = encode(0x20000000, 0x20001000, 64, flags=FLAG_VALID | FLAG_NO_PAD_BOTTOM)
    with pytest.raises(DeviceFault, match="padding flags are for im2col"):
        decode(raw)
