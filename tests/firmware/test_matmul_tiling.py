"""MATMUL's tiling as issued: the Xnpu work a product costs follows from the image's tile constants.

The expected counts are derived from MM_TM, MM_TN, MM_TK, MM_KC and MM_TO as read from the
image's symbol table (the scheme of ops_matmul.S), and compared with what the device saw
issued on its pipes (`Device.on_issue`: DMAs, mmads, set and wait flags) and the npu.cfg
writes it took (the cube's shape registers only when they change).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pytest
from fwharness import program_of
from opsharness import harness, image, run_ok, serving
from test_ops_matmul import TILED, fp16_case, run_matmul

from isa.memmap import region

VERSION = "2.1.0"


@dataclass(frozen=True)
class Tiling:
    tm: int
    tn: int
    tk: int
    kc: int
    to: int

    @classmethod
    def of(cls, version: str) -> Tiling:
        program = program_of(image(version))

        def const(name: str) -> int:
            value = program.address_of(name)
            assert value is not None, name
            return value

        return cls(const("MM_TM"), const("MM_TN"), const("MM_TK"), const("MM_KC"), const("MM_TO"))

    def expected(self, m: int, n: int, k: int) -> Counter[str]:
        """Issued work of an m x n x k product without options (see ops_matmul.S's count)."""
        rows = [min(self.tm, m - i) for i in range(0, m, self.tm)]
        cols = -(-n // self.tn)
        tiles = len(rows) * cols
        chunks = tiles * -(-k // self.kc)
        steps = tiles * -(-k // self.tk)
        pieces = cols * sum(-(-r // self.to) for r in rows)
        flags = 4 + 2 * chunks + 2 * steps + 2 * tiles  # prime/drain, L1, L0, L0C hand-overs
        return Counter({"npu_dma": 2 * chunks + 2 * steps + 2 * pieces, "npu_mmad": steps,
                        "npu_setflag": flags, "npu_waitflag": flags, "npu_cfg": 1 + self.cube_cfgs(m, n, k)})

    def cube_cfgs(self, m: int, n: int, k: int) -> int:
        """mm_m, mm_k, mm_n, mm_flags writes: each step's values, written when they differ from the last."""
        last: dict[str, int] = {}
        writes = 0
        for i in range(0, m, self.tm):
            for j in range(0, n, self.tn):
                for s in range(0, k, self.tk):
                    now = {"m": min(self.tm, m - i), "k": min(self.tk, k - s), "n": min(self.tn, n - j),
                           "flags": int(s == 0)}
                    writes += sum(last.get(name) != value for name, value in now.items())
                    last = now
        return writes


def issued(m: int, n: int, k: int) -> tuple[Counter[str], np.ndarray, np.ndarray]:
    """What one fp16 MATMUL issued on the device's pipes, with its result and numpy's."""
    a, b, bias = fp16_case(m, k, n, 5)
    fw = serving(VERSION)
    pa, pb, pbias, pc = fw.put(a), fw.put(b), fw.put(bias), fw.alloc(m * n * 4)
    seen: Counter[str] = Counter()

    def count(entry: object) -> None:
        seen[entry.key] += 1  # type: ignore[attr-defined]

    cfg = fw.dev.cfgregs
    write = cfg.write

    def cfg_write(index: int, value: int) -> None:
        seen["npu_cfg"] += 1
        write(index, value)

    fw.dev.on_issue.append(count)
    cfg.write = cfg_write  # type: ignore[method-assign]
    try:
        run_ok(fw, "MATMUL", a=pa, b=pb, c=pc, bias=pbias, m=m, n=n, k=k, dtype="fp16", opts=[])
    finally:
        fw.dev.on_issue.remove(count)
        del cfg.write  # the class's method again
    return seen, fw.get(pc, np.float32, (m, n)), a.astype(np.float32) @ b.astype(np.float32)


def test_release_tiles_fill_the_default_l0_buffers_and_double_buffer_l1() -> None:
    """fp16 A and B steps fill L0A and L0B, the C tile fills L0C; two K chunks fit L1."""
    t = Tiling.of(VERSION)
    assert t.tm * t.tk * 2 == region("l0a").size
    assert t.tk * t.tn * 2 == region("l0b").size
    assert t.tm * t.tn * 4 == region("l0c").size
    assert 2 * (t.tm + t.tn) * t.kc * 2 <= region("l1").size
    assert t.kc % t.tk == 0 and t.kc > t.tk and 1 <= t.to <= t.tm


@pytest.mark.parametrize("shape", [(1024, 1024, 1024), (300, 520, 700), (20, 30, 100)])
def test_issued_work_is_what_the_tiling_promises(shape: tuple[int, int, int]) -> None:
    m, n, k = shape
    seen, got, want = issued(m, n, k)
    expected = Tiling.of(VERSION).expected(m, n, k)
    assert {key: seen[key] for key in expected} == dict(expected)
    assert set(seen) == set(expected), seen
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


def test_serial_build_gives_the_same_bits_on_every_edge() -> None:
    """DOUBLE_BUFFER off (one L1 buffer, a barrier per step and tile): same tiles, same order, same bits."""
    a, b, bias = fp16_case(37, 70, 45, 8)
    overlapped, t_db = run_matmul("1.3.0", a, b, bias, ["bias", "relu"], **TILED)
    serial, t_serial = run_matmul("1.3.0", a, b, bias, ["bias", "relu"], DOUBLE_BUFFER=0, **TILED)
    np.testing.assert_array_equal(overlapped, serial)
    assert t_db < t_serial


def test_engine_pets_the_watchdog_once_per_chunk() -> None:
    """A watchdog shorter than the whole command but longer than a few chunks does not expire."""
    a, b, _ = fp16_case(64, 96, 64, 2)  # TILED: 8 tiles of 3 chunks of 2 steps
    fw = harness("1.3.0", **TILED)
    pa, pb, pc = fw.put(a), fw.put(b), fw.alloc(64 * 64 * 4)

    def run() -> int:
        return run_ok(fw, "MATMUL", a=pa, b=pb, c=pc, bias=0, m=64, n=64, k=96, dtype="fp16", opts=[])

    whole = run()
    fw.wr("wdog.timeout", whole // 4)
    fw.wr("wdog.enable", 1)
    assert run() == whole  # run_ok: no device error, so no expiry
    np.testing.assert_allclose(fw.get(pc, np.float32, (64, 64)), a.astype(np.float32) @ b.astype(np.float32),
                               rtol=1e-5, atol=1e-5)
