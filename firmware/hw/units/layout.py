"""Tensor layout transforms as whole-array numpy operations (used by the DMA unit).

Each function maps source elements to destination elements with one vectorised copy and
can write straight into a destination view (`out`), so the DMA transforms device memory
in place without per-element or per-block Python loops. Shapes follow descriptor.py:
NCHW <-> NHWC, ND <-> 16x16 fractal (block-row-major blocks, each row-major, zero
padded), and im2col of one C x H x W feature map with column order (c, i, j).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

BLOCK = 16


def _into(out: np.ndarray | None, value: np.ndarray) -> np.ndarray:
    if out is None:
        return np.ascontiguousarray(value)
    out[...] = value
    return out


def view_as(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """`a` reshaped without copying (a copy would silently drop the writes)."""
    r = a.reshape(shape)
    if r.size and not np.shares_memory(r, a):
        raise ValueError("destination view cannot be reshaped without a copy")
    return r


def nchw_to_nhwc(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """(N, C, H, W) -> (N, H, W, C); also (N, C, HW) -> (N, HW, C)."""
    return _into(out, np.moveaxis(x, 1, -1))


def nhwc_to_nchw(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """(N, H, W, C) -> (N, C, H, W); also (N, HW, C) -> (N, C, HW)."""
    return _into(out, np.moveaxis(x, -1, 1))


def fractal_shape(rows: int, cols: int) -> tuple[int, int, int, int]:
    """The (block rows, block cols, 16, 16) shape holding a rows x cols matrix."""
    return -(-rows // BLOCK), -(-cols // BLOCK), BLOCK, BLOCK


def nd_to_fractal(m: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """(R, C) -> (ceil(R/16), ceil(C/16), 16, 16), zero padded."""
    rows, cols = m.shape
    br, bc, _, _ = fractal_shape(rows, cols)
    if (rows, cols) != (br * BLOCK, bc * BLOCK):
        padded = np.zeros((br * BLOCK, bc * BLOCK), m.dtype)
        padded[:rows, :cols] = m
        m = padded
    return _into(out, m.reshape(br, BLOCK, bc, BLOCK).transpose(0, 2, 1, 3))


def fractal_to_nd(f: np.ndarray, rows: int, cols: int, out: np.ndarray | None = None) -> np.ndarray:
    """(BR, BC, 16, 16) -> (rows, cols), dropping the padding."""
    br, bc = f.shape[:2]
    return _into(out, f.transpose(0, 2, 1, 3).reshape(br * BLOCK, bc * BLOCK)[:rows, :cols])


def conv_out(size: int, kernel: int, stride: int, pad: int) -> int:
    """Output length of a convolution along one dimension."""
    return (size + 2 * pad - kernel) // stride + 1


def im2col(x: np.ndarray, kh: int, kw: int, stride: int, pad: int | tuple[int, int, int, int],
           out: np.ndarray | None = None) -> np.ndarray:
    """(C, H, W) feature map -> (Ho*Wo, C*kh*kw) patches, row (oh, ow), column (c, i, j).

    `pad` is one width for every side or (top, bottom, left, right): a row band cut from a
    taller image is padded only at the image's own edges.
    """
    c, h, w = x.shape
    top, bottom, left, right = (pad,) * 4 if isinstance(pad, int) else pad
    ho, wo = (h + top + bottom - kh) // stride + 1, (w + left + right - kw) // stride + 1
    if top or bottom or left or right:
        x = np.pad(x, ((0, 0), (top, bottom), (left, right)))
    sc, sh, sw = x.strides
    windows = as_strided(x, shape=(ho, wo, c, kh, kw), strides=(sh * stride, sw * stride, sc, sh, sw),
                         writeable=False)
    if out is None:
        return windows.reshape(ho * wo, c * kh * kw)
    view_as(out, (ho, wo, c, kh, kw))[...] = windows
    return out
