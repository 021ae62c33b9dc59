"""Device memory views: zero-copy inside a region, a DeviceFault (never a view) outside it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware.hw.units.faults import DeviceFault, causes
from firmware.hw.units.memory import DeviceMemory


def test_span_is_a_zero_copy_view(mem):
    l1 = mem.base["l1"]
    view = mem.memory.span(l1 + 16, 8)
    view[:] = 7
    assert mem.arrays["l1"][16:24].tolist() == [7] * 8
    assert np.shares_memory(view, mem.arrays["l1"])


def test_range_leaving_its_region_names_the_address(mem):
    end = mem.base["l0a"] + mem.arrays["l0a"].size
    with pytest.raises(DeviceFault) as info:
        mem.memory.span(end - 16, 32)
    assert info.value.cause == "dma_out_of_range"
    assert info.value.addr == end - 16
    at = f"0x{end - 16:08x}"
    assert str(info.value) == (f"device fault dma_out_of_range at {at}: range {at}+0x20 "
                               f"leaves l0a (0x{mem.base['l0a']:08x}..0x{end:08x})")


def test_unmapped_address_and_wrong_region(mem):
    with pytest.raises(DeviceFault, match="is not in device memory") as info:
        mem.memory.span(0x30000000, 4, cause="vec_bad_operand")
    assert info.value.cause == "vec_bad_operand"
    with pytest.raises(DeviceFault, match=r"is in l0b, not l0a"):
        mem.memory.span(mem.base["l0b"], 4, region="l0a", what="A")
    with pytest.raises(DeviceFault, match="empty"):
        mem.memory.span(mem.base["ub"], 0)


def test_rows_view_and_typed_view(mem):
    ub = mem.base["ub"]
    mem.put(ub, np.arange(64, dtype=np.uint8))
    rows = mem.memory.rows(ub + 1, 3, 4, 10)
    assert rows.tolist() == [[1, 2, 3, 4], [11, 12, 13, 14], [21, 22, 23, 24]]
    typed = mem.memory.as_array(ub, np.uint16, (2, 2))
    assert typed.tolist() == [[0x0100, 0x0302], [0x0504, 0x0706]]
    with pytest.raises(DeviceFault, match="not aligned to 4 bytes"):
        mem.memory.as_array(ub + 2, np.float32, (4,), cause="cube_bad_operand")
    with pytest.raises(DeviceFault, match="leaves ub"):
        mem.memory.rows(ub + mem.arrays["ub"].size - 100, 2, 40, 64)


def test_overlapping_regions_are_refused():
    with pytest.raises(ValueError, match="overlap"):
        DeviceMemory([("a", 0, np.zeros(16, np.uint8)), ("b", 8, np.zeros(16, np.uint8))])


def test_fault_causes_and_one_line_text():
    names = causes()
    assert names["none"] == 0 and len(set(names.values())) == len(names)
    fault = DeviceFault("dma_bad_route", None, "pipe mte1 cannot move hbm -> ub")
    assert fault.code == names["dma_bad_route"] > 0
    assert str(fault) == "device fault dma_bad_route: pipe mte1 cannot move hbm -> ub"
    assert "\n" not in str(fault)
    with pytest.raises(ValueError):
        DeviceFault("no_such_cause", 0, "x")


def _bounds(a: np.ndarray) -> tuple[int, int]:
    """[first byte, one past the last byte] a view can reach."""
    ptr = a.__array_interface__["data"][0]
    spans = [(n - 1) * st for n, st in zip(a.shape, a.strides, strict=True) if n > 0]
    return ptr + sum(min(0, x) for x in spans), ptr + sum(max(0, x) for x in spans) + a.itemsize


_SMALL = DeviceMemory([("lo", 0x1000, np.zeros(256, np.uint8)), ("hi", 0x1100, np.zeros(256, np.uint8))])


@given(addr=st.integers(0xF00, 0x1300), nbytes=st.integers(-2, 600), rows=st.integers(1, 5),
       stride=st.integers(1, 80))
def test_views_never_reach_outside_one_region(addr, nbytes, rows, stride):
    for make in (lambda: _SMALL.span(addr, nbytes), lambda: _SMALL.rows(addr, rows, max(nbytes, 1), stride)):
        try:
            view = make()
        except DeviceFault as fault:
            assert fault.cause == "dma_out_of_range" and fault.addr == addr
            continue
        region = _SMALL.region_at(addr)
        lo, hi = _bounds(view)
        base_lo, base_hi = _bounds(region.data)
        assert base_lo <= lo and hi <= base_hi
