"""The device's fast paths give the same results as the general ones (and the cube's BLAS threads)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.hw import hazards
from firmware.hw.units import cube


def _blas_threads() -> list[int]:
    return [lc.num_threads for lc in cube._blas_controllers()]


def test_cube_runs_tile_sized_gemms_on_one_blas_thread_and_restores_the_count() -> None:
    before = _blas_threads()
    with cube.blas_threads_for(128, 128, 128):
        assert all(n == 1 for n in _blas_threads())
    assert _blas_threads() == before


def test_cube_leaves_large_gemms_to_blas_threading() -> None:
    before = _blas_threads()
    with cube.blas_threads_for(1024, 1024, 1024):
        assert _blas_threads() == before
    assert _blas_threads() == before


def _overlap_by_scan(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> tuple[int, int] | None:
    """The definition: every pair in order, the first that shares a byte."""
    for addr_a, n_a in a:
        for addr_b, n_b in b:
            lo, hi = max(addr_a, addr_b), min(addr_a + n_a, addr_b + n_b)
            if lo < hi:
                return lo, hi
    return None


_ranges = st.lists(st.tuples(st.integers(0, 600), st.integers(0, 40)), max_size=24)


def _rows(start: int, count: int, length: int, stride: int) -> list[tuple[int, int]]:
    return [(start + i * stride, length) for i in range(count)]


_strided = st.builds(_rows, st.integers(0, 400), st.integers(0, 40), st.integers(1, 16), st.integers(16, 40))


@settings(max_examples=400)
@given(a=st.one_of(_ranges, _strided), b=st.one_of(_ranges, _strided))
def test_hazard_overlap_finds_the_same_first_range_as_the_pairwise_scan(a, b) -> None:
    assert hazards._overlap(hazards._Span(a), hazards._Span(b)) == _overlap_by_scan(a, b)


def test_strided_rows_are_indexed_and_overlap_between_rows_is_none() -> None:
    rows = hazards._Span(_rows(0x1000, 64, 16, 64))
    assert rows.index is not None and rows.hull == (0x1000, 0x1000 + 63 * 64 + 16)
    assert hazards._overlap(hazards._Span([(0x1010, 0x30)]), rows) is None
    assert hazards._overlap(hazards._Span([(0x1010, 0x31)]), rows) == (0x1040, 0x1041)


def test_equal_range_lists_share_one_span() -> None:
    rows = _rows(0x2000, 32, 16, 64)
    span = hazards._span(rows)
    assert hazards._span(list(rows)) is span and span.ranges == tuple(rows)
