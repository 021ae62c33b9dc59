"""Device memory: allocator invariants under random use, ownership, double free, use after free, numpy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driver.bus import Bus
from driver.memory import (
    Allocator,
    DeviceMemory,
    DoubleFree,
    NotOwner,
    OutOfDeviceMemory,
    UseAfterFree,
)
from driver.transport import InProcess

HBM = 0x8000_0000


@pytest.fixture
def memory() -> DeviceMemory:
    return DeviceMemory(Bus(InProcess()), HBM, 1 << 20, align=32)


_OPS = st.lists(st.tuples(st.booleans(), st.integers(1, 5000), st.sampled_from([32, 64, 256, 4096]),
                          st.integers(0, 1 << 16)), max_size=120)


@settings(max_examples=150)
@given(ops=_OPS)
def test_random_alloc_free_keeps_the_invariants(ops: list[tuple[bool, int, int, int]]) -> None:
    a = Allocator(1 << 16, 32)
    live: dict[int, tuple[int, int]] = {}
    for do_alloc, size, align, pick in ops:
        if do_alloc or not live:
            try:
                start = a.alloc(size, align)
            except OutOfDeviceMemory:
                assert a.free_bytes < -(-size // 32) * 32 or len(a.holes()) > 1
                continue
            assert start % align == 0
            for s, n in live.values():  # no overlap with any live block
                assert start + size <= s or s + n <= start
            live[start] = (start, size)
        else:
            start = sorted(live)[pick % len(live)]
            del live[start]
            a.free(start)
        a.check()
    for start in list(live):
        a.free(start)
    a.check()
    assert a.holes() == [(0, 1 << 16)]  # everything coalesced back into one hole


def test_frees_coalesce_so_a_large_block_fits_again() -> None:
    a = Allocator(1024, 32)
    blocks = [a.alloc(256) for _ in range(4)]
    with pytest.raises(OutOfDeviceMemory, match="out of device memory: 32 bytes requested"):
        a.alloc(1)
    a.free(blocks[1])
    a.free(blocks[3])
    with pytest.raises(OutOfDeviceMemory, match="512 free in 2 hole"):
        a.alloc(512)
    a.free(blocks[2])
    assert a.alloc(768) == 256
    a.check()


def test_best_fit_keeps_the_large_hole() -> None:
    a = Allocator(4096, 32)
    x, _, z = a.alloc(64), a.alloc(32), a.alloc(64)
    a.free(x)  # hole of 64 at 0, hole of the rest after z
    assert a.alloc(64) == 0
    a.free(z)
    a.check()


def test_ownership_is_enforced(memory: DeviceMemory) -> None:
    app, other = memory.context("app"), memory.context("other")
    buf = app.alloc(100)
    with pytest.raises(NotOwner,
                       match=f"context other cannot free buffer {buf.id}: it belongs to context app$"):
        other.free(buf)
    with pytest.raises(NotOwner, match=f"buffer {buf.id} belongs to context app, not other"):
        other.check(buf)
    assert app.check(buf) is buf


def test_double_free_and_use_after_free_are_named(memory: DeviceMemory) -> None:
    ctx = memory.context("app")
    buf = ctx.alloc(64)
    buf.free()
    with pytest.raises(DoubleFree,
                       match=rf"buffer {buf.id} \(0x80000000, 64 bytes\) of context app freed twice"):
        ctx.free(buf)
    with pytest.raises(UseAfterFree, match=f"buffer {buf.id} .* used after it was freed"):
        buf.read()
    with pytest.raises(UseAfterFree):
        buf.write(b"1234")
    with pytest.raises(UseAfterFree):
        ctx.check(buf)


def test_buffers_round_trip_numpy(memory: DeviceMemory) -> None:
    ctx = memory.context()
    x = np.arange(24, dtype=np.float16).reshape(2, 3, 4)
    buf = ctx.upload(x)
    assert buf.addr % 32 == 0 and buf.addr >= HBM
    got = buf.read()
    assert got.dtype == np.float16 and got.shape == (2, 3, 4)
    np.testing.assert_array_equal(got, x)
    assert not got.flags.writeable  # a view of the transferred bytes, no second copy
    buf.write(np.ones(4, np.float16), offset=8)
    np.testing.assert_array_equal(buf.read(np.float16)[4:8], np.ones(4))
    strided = np.arange(16, dtype=np.int32)[::2]
    b2 = ctx.upload(strided)
    np.testing.assert_array_equal(b2.read(), strided)
    with pytest.raises(Exception, match="overruns its 48 bytes"):
        buf.write(np.zeros(25, np.float16))


def test_closing_a_context_frees_its_buffers(memory: DeviceMemory) -> None:
    ctx = memory.context("tmp")
    bufs = [ctx.alloc(1000) for _ in range(5)]
    ctx.close()
    assert all(b.freed for b in bufs)
    assert memory.allocator.holes() == [(0, 1 << 20)]
