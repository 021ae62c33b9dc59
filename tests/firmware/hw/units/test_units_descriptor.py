"""The DMA descriptor: one layout covering 32 bytes, round trips, every bad field named."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware.hw.units import descriptor
from firmware.hw.units.descriptor import FIELDS, SIZE, XFORMS, decode, encode
from firmware.hw.units.faults import DeviceFault


def test_fields_tile_the_descriptor_exactly():
    covered = []
    for _name, offset, size, desc in FIELDS:
        assert size in (1, 2, 4) and offset % size == 0 and desc
        covered.extend(range(offset, offset + size))
    assert sorted(covered) == list(range(SIZE))
    assert [f.name for f in dataclasses.fields(descriptor.Descriptor)] == [name for name, *_ in FIELDS]
    assert [code for code, _, _ in XFORMS] == list(range(len(XFORMS)))


@given(src=st.integers(0, 2**32 - 1), dst=st.integers(0, 2**32 - 1), row_bytes=st.integers(1, 4096),
       rows=st.integers(1, 2**16 - 1), esize=st.sampled_from([0, 1, 2, 4]), extra=st.integers(0, 4096))
def test_plain_copy_round_trips(src, dst, row_bytes, rows, esize, extra):
    raw = encode(src, dst, row_bytes, rows, "none", esize, row_bytes + extra, 0)
    d = decode(raw)
    assert (d.src, d.dst, d.row_bytes, d.rows, d.esize, d.src_stride, d.dst_stride) == \
        (src, dst, row_bytes, rows, esize, row_bytes + extra, 0)
    assert d.src_pitch == row_bytes + extra and d.dst_pitch == row_bytes
    assert encode(**{name: getattr(d, name) for name, *_ in FIELDS}) == raw


def test_layout_is_little_endian_at_the_declared_offsets():
    raw = encode(0x80001000, 0x21000040, 0x200, 3, "im2col", 2, 0, 0, chan=5, kh=3, kw=2, stride=1, pad=1)
    offsets = {name: (offset, size) for name, offset, size, _ in FIELDS}

    def field(name: str) -> int:
        offset, size = offsets[name]
        return int.from_bytes(raw[offset:offset + size], "little")

    assert (field("src"), field("dst")) == (0x80001000, 0x21000040)
    assert (field("row_bytes"), field("rows")) == (0x200, 3)
    assert (field("xform"), field("esize"), field("chan"), field("kh"), field("kw")) == (5, 2, 5, 3, 2)
    assert (field("stride"), field("pad"), field("flags")) == (1, 1, descriptor.FLAG_VALID)


IM2COL = {"xform": "im2col", "esize": 2, "chan": 1}
FRACTAL = {"xform": "nd_to_fractal", "esize": 2}
GOOD = {"src": 0x20000000, "dst": 0x21000000, "row_bytes": 64, "rows": 4}
BAD = [
    ({"flags": 0}, "dma_bad_descriptor", "flags", "valid bit is clear"),
    ({"flags": 33}, "dma_bad_descriptor", "flags", "undefined flag bits"),
    ({"flags": 3}, "dma_bad_descriptor", "flags", "padding flags are for im2col, not none"),
    ({"xform": 9}, "dma_bad_layout", "xform", "unknown layout transform"),
    ({"esize": 3}, "dma_bad_layout", "esize", "element size"),
    ({"xform": "nd_to_fractal", "esize": 0}, "dma_bad_layout", "esize", "element size"),
    ({"rows": 0}, "dma_bad_descriptor", "rows", "at least 1"),
    ({"row_bytes": 0}, "dma_bad_descriptor", "row_bytes", "at least 1"),
    ({"src_stride": 32}, "dma_bad_descriptor", "src_stride", "overlap"),
    ({"dst_stride": 63}, "dma_bad_descriptor", "dst_stride", "overlap"),
    ({"chan": 2}, "dma_bad_descriptor", "chan", "must be 0 for none"),
    ({"pad": 1, **FRACTAL}, "dma_bad_descriptor", "pad", "must be 0 for nd_to_fractal"),
    ({"xform": "nchw_to_nhwc", "esize": 4, "row_bytes": 62}, "dma_bad_layout", "row_bytes", "whole number"),
    ({"xform": "nchw_to_nhwc", "esize": 4, "chan": 3}, "dma_bad_layout", "chan", "must divide"),
    ({"xform": "nhwc_to_nchw", "esize": 2, "chan": 0}, "dma_bad_layout", "chan", "must divide"),
    ({"xform": "nd_to_fractal", "esize": 2, "dst_stride": 64}, "dma_bad_layout", "dst_stride", "packed"),
    ({"xform": "fractal_to_nd", "esize": 2, "src_stride": 64}, "dma_bad_layout", "src_stride", "packed"),
    ({**IM2COL, "kh": 3, "kw": 3}, "dma_bad_layout", "stride", "at least 1"),
    ({**IM2COL, "kh": 5, "kw": 3, "stride": 1}, "dma_bad_layout", "kh", "taller"),
    ({**IM2COL, "kh": 3, "kw": 40, "stride": 1}, "dma_bad_layout", "kw", "wider"),
    ({**IM2COL, "chan": 4, "kh": 3, "kw": 3, "stride": 1, "dst_stride": 64}, "dma_bad_layout", "dst_stride",
     "patch rows would overlap (less than C*kh*kw*esize 0x48)"),
]


@pytest.mark.parametrize(("change", "cause", "field", "why"), BAD,
                         ids=[f"{b[2]}-{i}" for i, b in enumerate(BAD)])
def test_bad_field_is_named(change, cause, field, why):
    raw = encode(**{**GOOD, **change})
    with pytest.raises(DeviceFault) as info:
        decode(raw, addr=0x100040)
    assert info.value.cause == cause
    assert info.value.addr == 0x100040
    assert f"descriptor field {field} = " in info.value.detail and why in info.value.detail


def test_wrong_length_and_fetch_outside_dtcm(mem):
    with pytest.raises(DeviceFault, match="31 bytes, not 32"):
        decode(b"\0" * 31)
    dtcm = mem.base["dtcm"]
    mem.put(dtcm + 64, np.frombuffer(encode(**GOOD), np.uint8))
    assert descriptor.fetch(mem.memory, dtcm + 64) == encode(**GOOD)
    with pytest.raises(DeviceFault, match="is in l1, not dtcm") as info:
        descriptor.fetch(mem.memory, mem.base["l1"])
    assert info.value.cause == "dma_bad_descriptor"
    with pytest.raises(DeviceFault, match="not word aligned"):
        descriptor.fetch(mem.memory, dtcm + 2)
    with pytest.raises(DeviceFault, match="leaves dtcm"):
        descriptor.fetch(mem.memory, dtcm + mem.arrays["dtcm"].size - 16)


def _fetch_the_long_way(memory, addr: int) -> bytes:
    """`fetch` by its definition: word aligned, 32 bytes inside DTCM (the general checks)."""
    if addr % 4:
        raise DeviceFault("dma_bad_descriptor", addr, "descriptor address is not word aligned")
    return bytes(memory.span(addr, SIZE, "dma_bad_descriptor", region="dtcm", what="descriptor"))


@given(where=st.sampled_from(["dtcm", "itcm", "l1"]), offset=st.integers(-40, 40), from_end=st.booleans(),
       seed=st.integers(0, 255))
def test_fetch_reads_what_the_general_checks_allow_and_refuses_the_rest_the_same_way(new_mem, where, offset,
                                                                                     from_end, seed):
    mem = new_mem("dtcm", "itcm", "l1")
    data = mem.arrays["dtcm"]
    data[:64] = seed
    data[-64:] = np.arange(64, dtype=np.uint8) + seed
    base = mem.base[where] + (mem.arrays[where].size if from_end else 0)
    addr = max(0, base + offset)
    try:
        expected: bytes | str = _fetch_the_long_way(mem.memory, addr)
    except DeviceFault as fault:
        expected = f"{fault.cause} {fault.addr} {fault.detail}"
    try:
        got: bytes | str = descriptor.fetch(mem.memory, addr)
    except DeviceFault as fault:
        got = f"{fault.cause} {fault.addr} {fault.detail}"
    assert got == expected
    assert type(got) is type(expected)
