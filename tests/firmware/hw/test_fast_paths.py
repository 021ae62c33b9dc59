"""The device's fast paths give the same results as the general ones (and the cube's BLAS threads)."""

from __future__ import annotations

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
