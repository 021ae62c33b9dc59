"""Random programs of mmads, DMAs and scalar accesses around L0C run the same with the cube's
worker as without it: memory, registers, ticks, timeline, errors and races, at every stop.

Programs may be racy on purpose (flags and barriers are random): what counts is that the
worker changes nothing a program, the host or the debugger can see.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from test_device_cube_worker import _worker_back_on, needs_kernel  # noqa: F401 (an autouse fixture)
from test_device_programs import table_defines, write_image

from firmware.hw.device import Device
from firmware.hw.units import blas, descriptor
from isa.asm import assemble
from isa.memmap import memory_map

BASE = {r.name: r.base for r in memory_map("default")}
SHAPES = {0: [(16, 16, 16), (100, 60, 36), (128, 128, 128), (256, 128, 256), (256, 128, 256)],
          1: [(32, 64, 32), (128, 256, 64), (256, 256, 256)]}  # by mm_dtype: (m, k, n)


def _li(reg: str, value: int) -> str:
    return f"        li      {reg}, {value}"


def _cfg(name: str, value: int) -> list[str]:
    return [_li("t0", value), f"        npu.cfg x0, t0, {name}"]


def _ub_at(rng: random.Random, size: int) -> int:
    return BASE["ub"] + rng.randrange(0, (256 << 10) - size + 1, 256)


def _desc_words(data: bytes) -> str:
    words = np.frombuffer(data, np.uint32)
    return "        .word   " + ", ".join(f"0x{int(w):08x}" for w in words)


def program(seed: int, steps: int = 40) -> str:
    """Assembly for one random program (its descriptors are generated with it)."""
    rng = random.Random(seed)
    text = ["        .text", "        .globl _start", "_start:",
            _li("s1", BASE["l0a"]), _li("s2", BASE["l0b"]), "        li      s3, 0"]
    descs: list[bytes] = []
    last_ub = BASE["ub"]  # where the latest copy out of L0C went
    for _ in range(steps):
        kind = rng.choice(("mmad", "mmad", "mmad", "dma_out", "dma_in", "vector", "load", "load", "store",
                           "sync"))
        if kind == "mmad":
            dtype = rng.choice((0, 0, 1))
            m, k, n = rng.choice(SHAPES[dtype])
            c_room = (256 << 10) - m * n * 4
            c_off = rng.randrange(0, c_room + 1, 64) if c_room > 0 else 0
            c_at = BASE["l0c"] + c_off
            for name, value in (("mm_m", m), ("mm_k", k), ("mm_n", n), ("mm_dtype", dtype),
                                ("mm_flags", rng.choice((0, 1)))):
                text += _cfg(name, value)
            text += [_li("a4", c_at), "        npu.mmad a4, s1, s2"]
            follow = rng.choice(("peek", "copy_out", "none"))
            if follow == "peek":  # the core reads its tile as soon as the cube is done
                at = c_at + 4 * rng.choice((0, m * n - 1, rng.randrange(m * n)))
                text += ["        npu.barrier m", _li("t1", at), "        lw      t2, 0(t1)",
                         "        xor     s3, s3, t2"]
            elif follow == "copy_out":  # its tile to UB as soon as the cube is done
                size = min(m * n * 4, 65536)
                last_ub = _ub_at(rng, size)
                descs.append(descriptor.encode(c_at, last_ub, size))
                text += ["        npu.setflag m, mte3, 3", "        npu.waitflag m, mte3, 3",
                         f"        la      a0, desc{len(descs) - 1}", _li("a1", table_defines()["PIPE_MTE3"]),
                         "        npu.dma a0, a1"]
        elif kind == "dma_out":  # L0C -> UB (mte3): reads tiles the cube may still be writing
            size = rng.choice((256, 4096, 65536))
            src = BASE["l0c"] + rng.randrange(0, (256 << 10) - size + 1, 256)
            last_ub = _ub_at(rng, size)
            descs.append(descriptor.encode(src, last_ub, size))
            text += [f"        la      a0, desc{len(descs) - 1}", _li("a1", table_defines()["PIPE_MTE3"]),
                     "        npu.dma a0, a1"]
        elif kind == "dma_in":  # L1 -> L0A/L0B (mte1): new inputs, perhaps under an mmad still running
            region = rng.choice(("l0a", "l0b"))
            size = rng.choice((512, 8192, 32768))
            descs.append(descriptor.encode(BASE["l1"] + rng.randrange(0, 1 << 19, 512),
                                           BASE[region] + rng.randrange(0, (64 << 10) - size + 1, 512), size))
            text += [f"        la      a0, desc{len(descs) - 1}", _li("a1", table_defines()["PIPE_MTE1"]),
                     "        npu.dma a0, a1"]
        elif kind == "vector":  # numpy on the model's thread, over UB the queued DMAs write
            count = rng.choice((64, 1024, 8192))
            ops = [_ub_at(rng, count * 4), min(last_ub, BASE["ub"] + (256 << 10) - count * 4),
                   _ub_at(rng, count * 4)]
            text += _cfg("v_len", count) + _cfg("v_dtype", 0) + ["        npu.barrier mte3"]
            text += [_li("a5", ops[0]), _li("a6", ops[1]), _li("a7", ops[2]), "        npu.vadd a5, a6, a7"]
        elif kind == "load":
            text += [_li("t1", BASE["l0c"] + rng.randrange(0, 256 << 10, 4)), "        lw      t2, 0(t1)",
                     "        xor     s3, s3, t2", "        slli    t3, s3, 1", "        srli    s3, s3, 31",
                     "        or      s3, s3, t3"]  # (a rotate, so the order of loads counts)
        elif kind == "store":
            text += [_li("t1", BASE["l0c"] + rng.randrange(0, 256 << 10, 4)),
                     _li("t2", rng.randrange(0, 1 << 31)), "        sw      t2, 0(t1)"]
        else:
            text.append(rng.choice(("        npu.barrier m", "        npu.barrier all",
                                    "        npu.setflag m, mte3, 2\n        npu.waitflag m, mte3, 2")))
    text += ["        npu.barrier all", "        la      t0, result", "        sw      s3, 0(t0)",
             "done:   wfi", "        j       done", "        .data", "        .balign 4", "result: .word 0"]
    for i, data in enumerate(descs):
        text += [f"desc{i}:", _desc_words(data)]
    return "\n".join(text) + "\n"


def observe(dev: Device) -> tuple:
    """What a host or debugger can see of the device now."""
    mem = tuple(dev.core.read_mem(BASE[r], 256 << 10) for r in ("l0c", "ub"))
    return (mem, dev.core.read_mem(BASE["l0a"], 64 << 10), dev.core.pc, dev.now, dev.core.regs["s3"],
            [(e.cause, e.pc) for e in dev.errors], [str(r) for r in dev.races], dev.timeline.state())


def run(seed: int, worker: bool) -> list[tuple]:
    blas.use_worker(worker)
    dev = Device()
    image = assemble(program(seed), defines=table_defines())
    write_image(dev, image)
    rng = np.random.default_rng(seed)
    dev.core.write_mem(BASE["l1"], (rng.standard_normal(1 << 18) * 2).astype(np.float16).tobytes())
    dev.core.write_mem(BASE["l0a"], (rng.standard_normal(1 << 15)).astype(np.float16).tobytes())
    dev.core.write_mem(BASE["l0b"], (rng.standard_normal(1 << 15)).astype(np.float16).tobytes())
    dev.boot(image.entry)
    seen, chunks = [], random.Random(seed)
    snap, snap_seen = None, None
    while not dev.asleep and dev.halted is None and dev.now < 50_000_000:
        dev.advance(chunks.choice((50, 200, 700, 2_500)))
        seen.append(observe(dev))
        if snap is None and len(seen) == 3:
            snap, snap_seen = dev.snapshot(), seen[-1]
    if snap is not None:
        dev.restore(snap)
        assert observe(dev)[:5] == snap_seen[:5]  # the snapshot held the settled tiles
    return seen


@needs_kernel
@pytest.mark.parametrize("seed", range(12))
def test_random_programs_run_the_same_with_and_without_the_worker(seed: int) -> None:
    with_worker = run(seed, worker=True)
    assert len(with_worker) > 1
    assert with_worker == run(seed, worker=False)


@pytest.mark.long
@needs_kernel
def test_random_programs_run_the_same_with_and_without_the_worker_long() -> None:
    for seed in range(100, 160):
        assert run(seed, worker=True) == run(seed, worker=False), f"seed {seed}"
