"""Fixtures for the unit tests: device memory laid out as the memory map says, HBM kept small."""

from __future__ import annotations

import numpy as np
import pytest

from firmware.hw.units.memory import DeviceMemory
from firmware.hw.units.plan import reset_cfg
from isa.memmap import memory_map

HBM_TEST_BYTES = 4 << 20


class Mem:
    """DeviceMemory over fresh zeroed buffers plus helpers to put and get numpy arrays."""

    def __init__(self, *names: str) -> None:
        """All RAM regions, or only `names` (property tests run many examples)."""
        self.arrays: dict[str, np.ndarray] = {}
        triples = []
        for r in memory_map("default"):
            if r.kind == "mmio" or (names and r.name not in names):
                continue
            size = min(r.size, HBM_TEST_BYTES) if r.name == "hbm" else r.size
            self.arrays[r.name] = np.zeros(size, np.uint8)
            triples.append((r.name, r.base, self.arrays[r.name]))
        self.memory = DeviceMemory(triples)
        self.base = {r.name: r.base for r in memory_map("default")}

    def put(self, addr: int, value: np.ndarray) -> None:
        raw = np.ascontiguousarray(value).view(np.uint8).reshape(-1)
        self.memory.span(addr, raw.size)[...] = raw

    def get(self, addr: int, dtype: type, shape: tuple[int, ...]) -> np.ndarray:
        dt = np.dtype(dtype)
        return self.memory.span(addr, int(np.prod(shape)) * dt.itemsize).view(dt).reshape(shape).copy()

    def snapshot(self) -> dict[str, np.ndarray]:
        return {name: a.copy() for name, a in self.arrays.items()}


def _direct_conv(x: np.ndarray, w: np.ndarray, stride: int, pad: int) -> np.ndarray:
    """Reference convolution (cross-correlation), one output pixel at a time."""
    _, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    ho, wo = (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1
    y = np.zeros((o, ho, wo), np.int64)
    for i in range(ho):
        for j in range(wo):
            patch = xp[:, i * stride:i * stride + kh, j * stride:j * stride + kw]
            y[:, i, j] = np.tensordot(w, patch, axes=([1, 2, 3], [0, 1, 2]))
    return y


@pytest.fixture(scope="session")
def direct_conv():
    """The reference convolution the im2col path is checked against."""
    return _direct_conv


@pytest.fixture
def mem() -> Mem:
    return Mem()


@pytest.fixture
def cfg() -> dict[str, int]:
    return reset_cfg()


@pytest.fixture(scope="session")
def new_mem() -> type[Mem]:
    """For property tests, which need fresh memory per example: call it."""
    return Mem


@pytest.fixture(autouse=True)
def _long_runs_only_when_selected(request: pytest.FixtureRequest) -> None:
    """The default run skips tests marked long; `-m long` selects them."""
    if request.node.get_closest_marker("long"):
        expr = request.config.getoption("markexpr") or ""
        if "long" not in expr.replace("not long", ""):
            pytest.skip("long run: select it with -m long")
