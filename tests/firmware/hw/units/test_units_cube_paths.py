"""The cube's two GEMM paths: the C kernel on numpy's OpenBLAS and the numpy fallback.

They must give the same bits for every shape (edge tiles, split tiles, long K), whether
the kernel runs a tile on the caller's thread or queues it for its worker, and whatever
numpy's BLAS thread count is, and leave that count as they found it.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_info, threadpool_limits

from firmware.hw.units import blas, convert, cube, descriptor, dma
from firmware.hw.units.plan import reset_cfg

# (path, queued for the worker): every way the cube can compute a tile
WAYS = [("openblas", True), ("openblas", False), ("numpy", False)]
needs_kernel = pytest.mark.skipif("openblas" not in blas.available_backends(),
                                  reason="the C kernel needs numpy on OpenBLAS and the built _mmad module")


@pytest.fixture(autouse=True)
def _restore_paths() -> Iterator[None]:
    before = blas.backend()
    worker = blas.use_worker(True)
    yield
    blas.select_backend(before)
    blas.use_worker(worker)


def mmad(mem, a, b, c0, dtype, m, k, n, overwrite, way):
    """C after one mmad computed the given way (in memory that allows queued work, as a device's)."""
    blas.select_backend(way[0])
    blas.use_worker(way[1])
    mem.memory.allow_deferred = True
    cfg = reset_cfg()
    cfg.update(mm_m=m, mm_k=k, mm_n=n, mm_dtype=dtype, mm_flags=int(overwrite))
    a_at, b_at, c_at = mem.base["l0a"], mem.base["l0b"], mem.base["l0c"]
    mem.put(a_at, a)
    mem.put(b_at, b)
    mem.put(c_at, c0)
    cube.plan(c_at, a_at, b_at, cfg, mem.memory).execute()
    blas.settle()
    return mem.get(c_at, c0.dtype, c0.shape)


def fp16_operands(rng, m, k, n):
    a = rng.standard_normal((m, k)).astype(np.float16)
    b = (rng.standard_normal((k, n)) * 3).astype(np.float16)
    return a, b, rng.standard_normal((m, n)).astype(np.float32)


def blas_threads() -> list[int]:
    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]


# edge tiles (1 row or column, odd sizes), tiles cut in two row parts, K over several chunks
SHAPES = [(1, 1, 1), (1, 64, 16), (16, 64, 1), (2, 2, 2), (3, 300, 5), (17, 257, 33), (31, 1024, 31),
          (32, 256, 127), (48, 512, 64), (100, 200, 120), (128, 128, 128), (128, 256, 128),
          (256, 128, 256), (129, 128, 255), (64, 512, 64), (16, 2048, 16)]


@needs_kernel
@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize(("m", "k", "n"), SHAPES)
def test_fp16_paths_agree_to_the_bit(mem, m, k, n, overwrite):
    a, b, c0 = fp16_operands(np.random.default_rng(m * 7919 + k * 31 + n), m, k, n)
    got = [mmad(mem, a, b, c0, 0, m, k, n, overwrite, way) for way in WAYS]
    for other in got[1:]:
        assert np.array_equal(got[0], other)
    exact = (0 if overwrite else c0.astype(np.float64)) + a.astype(np.float64) @ b.astype(np.float64)
    assert np.allclose(got[0], exact, rtol=1e-5, atol=1e-5 * k)


@needs_kernel
@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 160), k=st.integers(1, 200), n=st.integers(1, 160), overwrite=st.booleans(),
       seed=st.integers(0, 2**16))
def test_fp16_paths_agree_on_random_shapes(new_mem, m, k, n, overwrite, seed):
    mem = new_mem("l0a", "l0b", "l0c")
    a, b, c0 = fp16_operands(np.random.default_rng(seed), m, k, n)
    got = [mmad(mem, a, b, c0, 0, m, k, n, overwrite, way) for way in WAYS]
    assert all(np.array_equal(got[0], other) for other in got[1:])


@needs_kernel
@pytest.mark.parametrize("way", WAYS)
def test_host_blas_threads_change_nothing_and_are_restored(mem, way):
    m, k, n = 256, 128, 256  # split in two parts, each larger than OpenBLAS's own threading threshold
    a, b, c0 = fp16_operands(np.random.default_rng(9), m, k, n)
    results = []
    for threads in (1, 2):
        with threadpool_limits(threads, user_api="blas"):
            before = blas_threads()
            results.append(mmad(mem, a, b, c0, 0, m, k, n, False, way))
            assert blas_threads() == before
    assert np.array_equal(results[0], results[1])


def test_the_numpy_path_runs_blas_on_one_thread_and_restores_the_count():
    before = blas_threads()
    with cube.one_blas_thread():
        assert all(n == 1 for n in blas_threads())
    assert blas_threads() == before


def _wrap32(x: np.ndarray) -> np.ndarray:
    return ((x + 2**31) % 2**32 - 2**31).astype(np.int32)


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize(("m", "k", "n", "overwrite"), [(32, 2048, 32, False), (256, 256, 256, True),
                                                        (33, 1000, 40, False), (1, 3000, 5, False)])
def test_int8_is_exact_on_every_path(mem, way, m, k, n, overwrite):
    if way[0] not in blas.available_backends():
        pytest.skip("the C kernel is not available here")
    rng = np.random.default_rng(k)
    a = rng.choice(np.array([-128, 127, -1, 0, 3], np.int8), (m, k))
    b = rng.integers(-128, 128, (k, n), dtype=np.int8)
    c0 = rng.integers(-2**31, 2**31, (m, n), dtype=np.int64).astype(np.int32)
    product = a.astype(np.int64) @ b.astype(np.int64)
    want = _wrap32(product if overwrite else product + c0)
    assert np.array_equal(mmad(mem, a, b, c0, 1, m, k, n, overwrite, way), want)


@pytest.mark.parametrize("way", WAYS)
def test_int4_is_exact_on_every_path(mem, way):
    if way[0] not in blas.available_backends():
        pytest.skip("the C kernel is not available here")
    m, k, n = 128, 512, 128  # split in two row parts
    rng = np.random.default_rng(4)
    a_packed = rng.integers(0, 256, (m, k // 2), dtype=np.uint8)
    b_packed = rng.integers(0, 256, (k, n // 2), dtype=np.uint8)
    c0 = rng.integers(-1000, 1000, (m, n), dtype=np.int32)
    want = c0 + convert.unpack_i4(a_packed).astype(np.int32) @ convert.unpack_i4(b_packed).astype(np.int32)
    assert np.array_equal(mmad(mem, a_packed, b_packed, c0, 2, m, k, n, False, way), want)


def test_fallback_when_the_kernel_is_unavailable(mem, monkeypatch):
    monkeypatch.setattr(blas, "_bind", lambda: None)
    assert blas.backend() == "numpy" and blas.available_backends() == ["numpy"]
    with pytest.raises(ValueError, match="cube backend 'openblas' is not available"):
        blas.select_backend("openblas")
    a, b, c0 = fp16_operands(np.random.default_rng(2), 64, 128, 48)
    got = mmad(mem, a, b, c0, 0, 64, 128, 48, False, ("numpy", False))
    assert np.allclose(got, c0 + a.astype(np.float32) @ b.astype(np.float32), rtol=1e-5, atol=1e-4)


def test_row_split_depends_on_shape_only():
    assert cube.row_split(128, 128, 128) == 0  # below PARALLEL_MIN_MKN: one part
    assert cube.row_split(128, 256, 128) == 64
    assert cube.row_split(16, 2048, 64) == 0  # too few rows to share
    for m in (32, 33, 100, 128, 255, 256):
        cut = cube.row_split(m, 2048, 64)
        assert 0 < cut < m and cut % 16 == 0 and abs(2 * cut - m) <= 32


@needs_kernel
def test_concurrent_callers_each_get_their_own_result(new_mem):
    """mmads issued from two host threads at once (two devices) do not mix their tiles."""
    m, k, n = 128, 256, 128
    inputs = [fp16_operands(np.random.default_rng(s), m, k, n) for s in (1, 2)]
    want = [mmad(new_mem("l0a", "l0b", "l0c"), *x, 0, m, k, n, True, WAYS[0]) for x in inputs]
    got: list[list[np.ndarray]] = [[], []]

    def issue(i: int) -> None:
        mem = new_mem("l0a", "l0b", "l0c")
        for _ in range(20):
            got[i].append(mmad(mem, *inputs[i], 0, m, k, n, True, WAYS[0]))

    threads = [threading.Thread(target=issue, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.array_equal(r, want[i]) for i in (0, 1) for r in got[i])


def _split_tile_in_child(queue) -> None:
    from tests.firmware.hw.units.conftest import Mem

    a, b, c0 = fp16_operands(np.random.default_rng(5), 256, 128, 256)
    queue.put(mmad(Mem("l0a", "l0b", "l0c"), a, b, c0, 0, 256, 128, 256, False, WAYS[0]))


@needs_kernel
def test_a_forked_child_gets_a_worker_of_its_own(mem):
    a, b, c0 = fp16_operands(np.random.default_rng(5), 256, 128, 256)
    want = mmad(mem, a, b, c0, 0, 256, 128, 256, False, WAYS[0])  # the parent's worker is running
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_split_tile_in_child, args=(queue,))
    child.start()
    got = queue.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0 and np.array_equal(got, want)


@needs_kernel
@pytest.mark.parametrize(("deferred", "worker", "queued"), [(True, True, True), (True, False, False),
                                                            (False, True, False)])
def test_only_memory_that_allows_it_gets_queued_work(new_mem, deferred, worker, queued):
    mem = new_mem("l0a", "l0b", "l0c")
    mem.memory.allow_deferred = deferred
    blas.use_worker(worker)
    cfg = reset_cfg()
    cfg.update(mm_m=64, mm_k=64, mm_n=64, mm_dtype=0, mm_flags=1)
    before = blas.stats()
    cube.plan(mem.base["l0c"], mem.base["l0a"], mem.base["l0b"], cfg, mem.memory).execute()
    assert bool(blas.in_flight) == queued
    blas.settle()
    after = blas.stats()
    counted = (after["queued"] - before["queued"], after["run"] - before["run"])
    assert counted == ((1, 0) if queued else (0, 1))
    assert not blas.in_flight


@needs_kernel
def test_queued_copies_and_mmads_run_in_the_order_queued(new_mem):
    """More tasks than the queue holds: DMA copies bring each mmad's inputs from L1 into L0A/L0B
    right before it, and C accumulates over all of them. Queued for the worker, the C is the
    caller's, bit for bit: every mmad read the inputs the copies before it had brought."""
    m, k, n, count = 64, 96, 80, 36  # (all inputs fit L1; 108 tasks)
    rng = np.random.default_rng(8)
    inputs = [fp16_operands(rng, m, k, n)[:2] for _ in range(count)]
    c0 = rng.standard_normal((m, n)).astype(np.float32)
    results = []
    for way in WAYS:
        mem = new_mem("l1", "l0a", "l0b", "l0c")
        mem.memory.allow_deferred = True
        blas.select_backend(way[0])
        blas.use_worker(way[1])
        cfg = reset_cfg()
        cfg.update(mm_m=m, mm_k=k, mm_n=n, mm_dtype=0, mm_flags=0)
        a_at, b_at, c_at = mem.base["l0a"], mem.base["l0b"], mem.base["l0c"]
        mem.put(c_at, c0)
        plans = []
        for i, (a, b) in enumerate(inputs):  # every pair staged in L1 first
            at = mem.base["l1"] + i * (a.nbytes + b.nbytes)
            mem.put(at, a)
            mem.put(at + a.nbytes, b)
            plans += [dma.plan(descriptor.encode(at, a_at, a.nbytes), "mte1", mem.memory),
                      dma.plan(descriptor.encode(at + a.nbytes, b_at, b.nbytes), "mte1", mem.memory),
                      cube.plan(c_at, a_at, b_at, cfg, mem.memory)]
        before = blas.stats()
        for plan in plans:
            plan.execute()
        blas.settle()
        queued = blas.stats()["queued"] - before["queued"], blas.stats()["copies"] - before["copies"]
        assert queued == ((count, 2 * count) if way == ("openblas", True) else (0, 0))
        assert all(p.deferred for p in plans)
        results.append(mem.get(c_at, np.float32, (m, n)))
    assert all(np.array_equal(results[0], r) for r in results[1:])
