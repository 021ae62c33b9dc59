"""The DMA descriptor: its one declared layout, decoding with validation, and encoding.

`FIELDS` is the only place the 32-byte little-endian layout is written (the firmware's
`.equ` constants and the docs are generated from it). `XFORMS` names the layout
transform codes and `FLAGS` the flag bits. `decode` checks every field on its own
(memory ranges and routes are the DMA unit's job) and raises DeviceFault
dma_bad_descriptor / dma_bad_layout naming the field.

Meaning of the fields per transform (sizes in bytes; a stride of 0 means "packed"):
- none: `rows` rows of `row_bytes`, source rows `src_stride` apart, destination rows
  `dst_stride` apart.
- nchw_to_nhwc / nhwc_to_nchw: `rows` images (N) of `row_bytes` each (C*H*W elements of
  `esize` bytes), `chan` = C; images `src_stride` / `dst_stride` apart.
- nd_to_fractal: a `rows` x (`row_bytes`/`esize`) matrix, rows `src_stride` apart, to
  16x16 blocks stored block-row-major, each block row-major, zero-padded to whole
  blocks, packed at `dst` (dst_stride must be 0).
- fractal_to_nd: the inverse; `rows` x (`row_bytes`/`esize`) is the ND matrix written
  at `dst` with rows `dst_stride` apart (src_stride must be 0); padding is dropped.
- im2col: the source is one C x H x W feature map (`chan` = C, `rows` = H, `row_bytes` =
  W*esize, input rows `src_stride` apart, a channel H rows later); the destination is
  the patch matrix A, (Ho*Wo) x (C*kh*kw), rows `dst_stride` apart, column order
  (c, i, j) so that a weight tensor O x C x kh x kw reshaped to O x (C*kh*kw) and
  transposed is the cube's B. `stride` and `pad` (zeros) apply to both dimensions, except
  that flag `no_pad_top` / `no_pad_bottom` drops the zero rows above the first / below the
  last source row, and `no_pad_left` / `no_pad_right` the zero columns beside the first /
  last source column: the source is then a band or tile inside a larger image (its halo
  is real data; a column window of a wider map reads its rows `src_stride` apart), so a
  convolution can be cut into bands of output rows and tiles of output columns.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from firmware.hw.units.faults import DeviceFault

SIZE = 32

# name, byte offset, size in bytes, description
FIELDS: tuple[tuple[str, int, int, str], ...] = (
    ("src", 0, 4, "source address"),
    ("dst", 4, 4, "destination address"),
    ("row_bytes", 8, 4, "bytes per row (the whole length of a flat copy)"),
    ("rows", 12, 2, "number of rows (1 for a flat copy); images for NCHW/NHWC; H for im2col"),
    ("xform", 14, 1, "layout transform code (XFORMS)"),
    ("esize", 15, 1, "element size in bytes for transforms: 1, 2 or 4 (0 or any of these for none)"),
    ("src_stride", 16, 4, "bytes between source rows (0 = packed)"),
    ("dst_stride", 20, 4, "bytes between destination rows (0 = packed)"),
    ("chan", 24, 2, "channels C (NCHW/NHWC, im2col; else 0)"),
    ("kh", 26, 1, "im2col kernel height (else 0)"),
    ("kw", 27, 1, "im2col kernel width (else 0)"),
    ("stride", 28, 1, "im2col stride, both dimensions (else 0)"),
    ("pad", 29, 1, "im2col zero padding, both dimensions (else 0)"),
    ("flags", 30, 2, "flag bits (FLAGS); undefined bits must be 0"),
)

# code, name, description
XFORMS: tuple[tuple[int, str, str], ...] = (
    (0, "none", "plain (strided) copy"),
    (1, "nchw_to_nhwc", "N x C x H x W -> N x H x W x C"),
    (2, "nhwc_to_nchw", "N x H x W x C -> N x C x H x W"),
    (3, "nd_to_fractal", "row-major matrix -> 16x16 fractal blocks"),
    (4, "fractal_to_nd", "16x16 fractal blocks -> row-major matrix"),
    (5, "im2col", "C x H x W feature map -> (Ho*Wo) x (C*kh*kw) patch matrix"),
)
XFORM_CODE = {name: code for code, name, _ in XFORMS}
XFORM_NAME = {code: name for code, name, _ in XFORMS}

# bit, name, description
FLAGS: tuple[tuple[int, str, str], ...] = (
    (0, "valid", "must be 1: catches a descriptor that was never written"),
    (1, "no_pad_top", "im2col only: no zero rows above the first source row (an inner band)"),
    (2, "no_pad_bottom", "im2col only: no zero rows below the last source row (an inner band)"),
    (3, "no_pad_left", "im2col only: no zero columns left of the first source column (an inner tile)"),
    (4, "no_pad_right", "im2col only: no zero columns right of the last source column (an inner tile)"),
)
FLAG_VALID = 1 << 0
FLAG_NO_PAD_TOP = 1 << 1
FLAG_NO_PAD_BOTTOM = 1 << 2
FLAG_NO_PAD_LEFT = 1 << 3
FLAG_NO_PAD_RIGHT = 1 << 4
_DEFINED_FLAGS = sum(1 << bit for bit, _, _ in FLAGS)
_IM2COL_FLAGS = FLAG_NO_PAD_TOP | FLAG_NO_PAD_BOTTOM | FLAG_NO_PAD_LEFT | FLAG_NO_PAD_RIGHT

_FORMAT = "<" + "".join({1: "B", 2: "H", 4: "I"}[size] for _, _, size, _ in FIELDS)
_PARAMS = ("chan", "kh", "kw", "stride", "pad")
_USES = {  # which optional parameters each transform reads
    "none": (),
    "nchw_to_nhwc": ("chan",),
    "nhwc_to_nchw": ("chan",),
    "nd_to_fractal": (),
    "fractal_to_nd": (),
    "im2col": _PARAMS,
}


@dataclass(frozen=True)
class Descriptor:
    """One decoded, field-validated DMA descriptor (attributes in the order of FIELDS)."""

    src: int
    dst: int
    row_bytes: int
    rows: int
    xform: int
    esize: int
    src_stride: int
    dst_stride: int
    chan: int = 0
    kh: int = 0
    kw: int = 0
    stride: int = 0
    pad: int = 0
    flags: int = FLAG_VALID

    @property
    def xform_name(self) -> str:
        return XFORM_NAME[self.xform]

    @property
    def src_pitch(self) -> int:
        return self.src_stride or self.row_bytes

    @property
    def dst_pitch(self) -> int:
        return self.dst_stride or self.row_bytes

    @property
    def pads(self) -> tuple[int, int, int, int]:
        """im2col zero padding (top, bottom, left, right): `pad` less what the flags drop."""
        p = self.pad
        top = 0 if self.flags & FLAG_NO_PAD_TOP else p
        bottom = 0 if self.flags & FLAG_NO_PAD_BOTTOM else p
        left = 0 if self.flags & FLAG_NO_PAD_LEFT else p
        right = 0 if self.flags & FLAG_NO_PAD_RIGHT else p
        return top, bottom, left, right

    @property
    def out_hw(self) -> tuple[int, int]:
        """im2col output height and width."""
        h, w = self.rows, self.row_bytes // max(self.esize, 1)
        top, bottom, left, right = self.pads
        s = self.stride
        return (h + top + bottom - self.kh) // s + 1, (w + left + right - self.kw) // s + 1


def _fail(cause: str, addr: int | None, field: str, value: int, why: str) -> DeviceFault:
    return DeviceFault(cause, addr, f"descriptor field {field} = {value:#x}: {why}")


def decode(data: bytes | bytearray | memoryview, addr: int | None = None) -> Descriptor:
    """Unpack and validate 32 descriptor bytes; `addr` (where they were read) goes into faults."""
    raw = bytes(data)
    if len(raw) != SIZE:
        raise DeviceFault("dma_bad_descriptor", addr, f"descriptor is {len(raw)} bytes, not {SIZE}")
    d = Descriptor(*struct.unpack(_FORMAT, raw))
    bad, layout = "dma_bad_descriptor", "dma_bad_layout"
    if not d.flags & FLAG_VALID:
        raise _fail(bad, addr, "flags", d.flags, "the valid bit is clear")
    if d.flags & ~_DEFINED_FLAGS:
        raise _fail(bad, addr, "flags", d.flags, "undefined flag bits are set")
    if d.xform not in XFORM_NAME:
        raise _fail(layout, addr, "xform", d.xform, "unknown layout transform")
    name = d.xform_name
    esizes = (0, 1, 2, 4) if name == "none" else (1, 2, 4)
    if d.esize not in esizes:
        raise _fail(layout, addr, "esize", d.esize, f"element size must be one of {esizes}")
    if d.rows < 1:
        raise _fail(bad, addr, "rows", d.rows, "must be at least 1")
    if d.row_bytes < 1:
        raise _fail(bad, addr, "row_bytes", d.row_bytes, "must be at least 1")
    for field, value in (("src_stride", d.src_stride), ("dst_stride", d.dst_stride)):
        if value and value < d.row_bytes:
            raise _fail(bad, addr, field, value, f"rows would overlap (less than row_bytes {d.row_bytes:#x})")
    uses = _USES[name]
    for field in _PARAMS:
        if field not in uses and getattr(d, field):
            raise _fail(bad, addr, field, getattr(d, field), f"must be 0 for {name}")
    if d.flags & _IM2COL_FLAGS and name != "im2col":
        raise _fail(bad, addr, "flags", d.flags, f"padding flags are for im2col, not {name}")
    if name != "none":
        _check_transform(d, name, addr)
    return d


def _check_transform(d: Descriptor, name: str, addr: int | None) -> None:
    layout = "dma_bad_layout"
    if d.row_bytes % d.esize:
        raise _fail(layout, addr, "row_bytes", d.row_bytes, f"not a whole number of {d.esize}-byte elements")
    if name in ("nchw_to_nhwc", "nhwc_to_nchw"):
        if d.chan < 1 or (d.row_bytes // d.esize) % d.chan:
            raise _fail(layout, addr, "chan", d.chan, f"must divide the {d.row_bytes // d.esize} elements "
                                                      "of an image")
    elif name == "nd_to_fractal" and d.dst_stride:
        raise _fail(layout, addr, "dst_stride", d.dst_stride, "fractal blocks are packed")
    elif name == "fractal_to_nd" and d.src_stride:
        raise _fail(layout, addr, "src_stride", d.src_stride, "fractal blocks are packed")
    elif name == "im2col":
        for field in ("chan", "kh", "kw", "stride"):
            if getattr(d, field) < 1:
                raise _fail(layout, addr, field, getattr(d, field), "must be at least 1")
        k_bytes = d.chan * d.kh * d.kw * d.esize
        if d.dst_stride and d.dst_stride < k_bytes:
            raise _fail(layout, addr, "dst_stride", d.dst_stride, f"patch rows would overlap (less than "
                                                                  f"C*kh*kw*esize {k_bytes:#x})")
        ho, wo = d.out_hw
        if ho < 1:
            raise _fail(layout, addr, "kh", d.kh, f"kernel taller than the padded input ({d.rows} rows)")
        if wo < 1:
            raise _fail(layout, addr, "kw", d.kw, "kernel wider than the padded input")


def encode(src: int, dst: int, row_bytes: int, rows: int = 1, xform: int | str = "none", esize: int = 0,
           src_stride: int = 0, dst_stride: int = 0, chan: int = 0, kh: int = 0, kw: int = 0,
           stride: int = 0, pad: int = 0, flags: int = FLAG_VALID) -> bytes:
    """Pack a descriptor (no validation: tests encode bad ones on purpose)."""
    code = XFORM_CODE[xform] if isinstance(xform, str) else xform
    return struct.pack(_FORMAT, src, dst, row_bytes, rows, code, esize, src_stride, dst_stride,
                       chan, kh, kw, stride, pad, flags)


def fetch(memory, addr: int) -> bytes:
    """The 32 descriptor bytes at `addr`, which must lie in DTCM (dma_bad_descriptor otherwise)."""
    dtcm = memory.by_name.get("dtcm")
    if dtcm is not None and not addr & 3 and dtcm.base <= addr and addr + SIZE <= dtcm.end:
        off = addr - dtcm.base  # the common case, read at once (firmware issues thousands of DMAs)
        return dtcm.data[off:off + SIZE].tobytes()
    if addr % 4:
        raise DeviceFault("dma_bad_descriptor", addr, "descriptor address is not word aligned")
    return bytes(memory.span(addr, SIZE, "dma_bad_descriptor", region="dtcm", what="descriptor"))
