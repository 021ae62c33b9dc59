"""BAR2 transfers are checked against in-flight DMA: a host access racing one is reported like a pipe race."""

from __future__ import annotations

import numpy as np
from test_device_programs import load, symbol

from firmware.hw.device import Device
from firmware.hw.units import descriptor

M = K = N = 32
A_OFF, B_OFF, OUT_OFF, FREE_OFF = 0x0, 0x10000, 0x20000, 0x30000


def _matmul(strict: bool = False) -> tuple[Device, object]:
    """The matmul program (DMA A, B from HBM; cube; C back to HBM), loaded but not started."""
    dev = Device("default", strict_races=strict)
    image = load(dev, "matmul", boot=False, M=M, K=K, N=N, FLAG=1)
    a = np.ones((M, K), np.float16)
    dev.bar2_write(A_OFF, a.tobytes())
    dev.bar2_write(B_OFF, a.tobytes())
    hbm, region = dev.config.hbm.base, lambda name: dev.config.region(name).base
    for name, data in {
        "desc_a": descriptor.encode(hbm + A_OFF, region("l0a"), M * K * 2),
        "desc_b": descriptor.encode(hbm + B_OFF, region("l0b"), K * N * 2),
        "desc_c": descriptor.encode(region("l0c"), region("ub"), M * N * 4),
        "desc_out": descriptor.encode(region("ub"), hbm + OUT_OFF, M * N * 4),
    }.items():
        dev.core.write_mem(symbol(image, name), data)
    dev.boot(image.entry)
    return dev, image


def _run_until_issued(dev: Device, pc: int | None = None, mte3_dmas: int = 0) -> int:
    """Run until the instruction at `pc` (or the `mte3_dmas`-th DMA on mte3) is issued; its pc."""
    issued: list[int] = []
    dmas: list[int] = []

    def note(entry) -> None:
        issued.append(entry.pc)
        if entry.pipe == "mte3" and entry.key == "npu_dma":
            dmas.append(entry.pc)

    dev.on_issue.append(note)
    stop = dev.run_until(lambda: pc in issued or (mte3_dmas > 0 and len(dmas) >= mte3_dmas), 10_000_000)
    assert stop.reason == "predicate"
    return dmas[mte3_dmas - 1] if mte3_dmas else issued[-1]


def test_a_host_write_into_what_a_dma_still_reads_is_a_race() -> None:
    dev, image = _matmul()
    seen = []
    dev.on_race.append(lambda race: seen.append(race))
    _run_until_issued(dev, symbol(image, "dma_a"))
    assert dev.hazards.inflight  # DMA A has not finished reading HBM
    snap = dev.snapshot()
    dev.bar2_read(A_OFF, 64)  # reading what a DMA reads is no race
    dev.restore(snap)
    dev.bar2_write(FREE_OFF, b"\x00" * 64)  # nor is touching what nothing in flight touches
    dev.restore(snap)
    assert dev.races == [] and seen == []
    dev.bar2_write(A_OFF + 0x40, b"\x00" * 16)
    hbm = dev.config.hbm.base
    assert [(r.kind, r.first.pc, r.lo - hbm, r.hi - hbm) for r in dev.races] == [
        ("write-after-read", symbol(image, "dma_a"), 0x40, 0x50)]
    assert seen == dev.races
    pc = symbol(image, "dma_a")
    assert str(dev.races[0]).endswith("host BAR2 write of 16 bytes at BAR2+0x40 while npu.dma at pc "
                                      f"0x{pc:08x} (mte2) is in flight, no flag orders them")


def test_a_host_read_of_what_a_dma_still_writes_is_a_race_and_none_once_it_is_done() -> None:
    dev, _ = _matmul()
    out = _run_until_issued(dev, mte3_dmas=2)  # the second DMA on mte3: UB -> HBM
    dev.bar2_read(OUT_OFF, 8)
    hbm = dev.config.hbm.base
    assert [(r.kind, r.first.pc, r.lo - hbm, r.hi - hbm) for r in dev.races] == [
        ("read-after-write", out, OUT_OFF, OUT_OFF + 8)]
    assert dev.run_until(lambda: dev.asleep, 10_000_000).reason == "predicate"
    assert not dev.hazards.inflight
    dev.bar2_read(OUT_OFF, M * N * 4)
    dev.bar2_write(A_OFF, b"\x01" * 64)
    assert len(dev.races) == 1


def test_strict_races_make_a_host_race_a_device_error() -> None:
    dev, image = _matmul(strict=True)
    _run_until_issued(dev, symbol(image, "dma_b"))
    dev.bar2_write(B_OFF, b"\x00" * 4)
    assert [e.cause for e in dev.errors] == ["race"]
