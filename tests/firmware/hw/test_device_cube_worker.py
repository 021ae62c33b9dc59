"""The cube's queued mmads in a device: nobody sees a C tile before the worker has written it.

With the C kernel, a device's mmads are multiplied on a worker thread after they complete,
while the model goes on. Every way to C (the core's scalar loads and stores, other units'
work, the host once a run returns, snapshots) must see exactly what the same run without
the worker sees, and the run itself (ticks, timeline) must not change.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from test_device_programs import PROGRAM_DEFINES, load

import driver
from firmware.hw.device import Device
from firmware.hw.units import blas

needs_kernel = pytest.mark.skipif("openblas" not in blas.available_backends(),
                                  reason="the worker is part of the C kernel (numpy on OpenBLAS)")
SENTINEL = 0x7F800001  # a signalling-NaN pattern no product here can make
PEEK = PROGRAM_DEFINES["l0c_peek"]


@pytest.fixture(autouse=True)
def _worker_back_on() -> Iterator[None]:
    before = blas.use_worker(True)
    yield
    blas.use_worker(before)


def _base(dev: Device, name: str) -> int:
    return dev.config.region(name).base


def peek_device(seed: int = 3) -> tuple[Device, np.ndarray]:
    """A device about to run l0c_peek.S on random fp16 operands; returns it and the exact C."""
    m, k, n = PEEK["M"], PEEK["K"], PEEK["N"]
    dev = Device()
    load(dev, "l0c_peek", boot=False, **PEEK)
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, k)).astype(np.float16)
    b = rng.standard_normal((k, n)).astype(np.float16)
    dev.core.write_mem(_base(dev, "l0a"), a.tobytes())
    dev.core.write_mem(_base(dev, "l0b"), b.tobytes())
    dev.core.write_mem(_base(dev, "l0c"), np.full(m * n, SENTINEL, np.uint32).tobytes())
    dev.boot(0)
    return dev, a.astype(np.float64) @ b.astype(np.float64)


def l0c(dev: Device) -> np.ndarray:
    m, n = PEEK["M"], PEEK["N"]
    return np.frombuffer(dev.core.read_mem(_base(dev, "l0c"), m * n * 4), np.float32).reshape(m, n).copy()


def run_peek(worker: bool) -> tuple[Device, np.ndarray]:
    blas.use_worker(worker)
    dev, exact = peek_device()
    queued = blas.stats()["queued"]
    dev.run_until(lambda: dev.asleep, 10_000_000)
    assert dev.asleep and not dev.errors
    assert (blas.stats()["queued"] > queued) == worker  # the tile really went the way asked
    return dev, exact


@needs_kernel
def test_the_cores_loads_after_the_mmad_see_the_finished_tile() -> None:
    dev, exact = run_peek(worker=True)
    regs = dev.core.regs
    c = l0c(dev)
    first, last = (np.array([regs[r]], np.uint32).view(np.float32)[0] for r in ("a0", "a1"))
    assert first == c[0, 0] and last == c[-1, -1]
    assert np.allclose([first, last], [exact[0, 0], exact[-1, -1]], rtol=1e-5, atol=1e-3)


@needs_kernel
def test_the_cores_store_after_the_mmad_is_not_overwritten_by_it() -> None:
    dev, _ = run_peek(worker=True)
    assert l0c(dev).view(np.uint32)[0, 1] == 0x7FC00001


@needs_kernel
def test_a_run_with_the_worker_is_the_same_run_without_it() -> None:
    with_worker, _ = run_peek(worker=True)
    without, _ = run_peek(worker=False)
    assert np.array_equal(l0c(with_worker).view(np.uint32), l0c(without).view(np.uint32))
    assert [with_worker.core.regs[r] for r in ("a0", "a1")] == [without.core.regs[r] for r in ("a0", "a1")]
    assert with_worker.now == without.now
    assert with_worker.timeline.state() == without.timeline.state()


@needs_kernel
def test_a_run_that_stops_right_after_the_mmad_returns_the_written_tile() -> None:
    dev, exact = peek_device()
    stop = dev.run_until(lambda: dev.pipes.completed["m"] > 0, 10_000_000)  # stop at the mmad's retirement
    assert stop.reason == "predicate" and not blas.in_flight
    assert np.allclose(l0c(dev), exact, rtol=1e-5, atol=1e-3)


@needs_kernel
def test_a_snapshot_taken_after_the_mmad_holds_the_tile_and_restores_it() -> None:
    dev, exact = peek_device()
    dev.run_until(lambda: dev.pipes.completed["m"] > 0, 10_000_000)
    snap = dev.snapshot()
    tile = l0c(dev)
    dev.run_until(lambda: dev.asleep, 10_000_000)
    dev.core.write_mem(_base(dev, "l0c"), bytes(16))
    dev.restore(snap)
    assert np.array_equal(l0c(dev).view(np.uint32), tile.view(np.uint32))
    assert np.allclose(tile, exact, rtol=1e-5, atol=1e-3)


@needs_kernel
@pytest.mark.parametrize("release", [None, "1.0.0"])  # the newest pair, and the first (ABI 1)
def test_driver_matmul_and_conv_give_the_same_bits_and_ticks_either_way(release) -> None:
    rng = np.random.default_rng(11)
    a = rng.standard_normal((300, 520)).astype(np.float16)
    b = rng.standard_normal((520, 270)).astype(np.float16)
    x = rng.standard_normal((1, 8, 20, 20)).astype(np.float16)
    w = rng.standard_normal((16, 8, 3, 3)).astype(np.float16)
    runs = []
    for worker in (True, False):
        blas.use_worker(worker)
        with driver.open(release, release=release) as dev:
            t0 = dev.bus.now()
            out = (dev.matmul(a, b),) + ((dev.conv2d(x, w, padding=1),) if release is None else ())
            runs.append((out, dev.bus.now() - t0))
    (got, ticks), (want, want_ticks) = runs
    assert ticks == want_ticks
    assert all(np.array_equal(g.view(np.uint16 if g.dtype == np.float16 else np.uint32),
                              v.view(np.uint16 if v.dtype == np.float16 else np.uint32))
               for g, v in zip(got, want, strict=True))
