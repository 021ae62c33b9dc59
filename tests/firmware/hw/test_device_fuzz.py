"""Random Xnpu programs with random operands never raise into the host; they fault or run."""

from __future__ import annotations

import random
import struct

import pytest

from firmware.hw.device import Device
from isa.spec import instruction_set

VALUES = (0, 1, 2, 3, 4, 5, 7, 16, 64, 0xFFFFFFFF, 0x80000000, 0x7FFFFFFF)


def _program(seed: int, dev: Device) -> bytes:
    """Every register set to an interesting value (region addresses included), then 40 Xnpu words."""
    iset = instruction_set()
    rng = random.Random(seed)
    lui, addi = iset.by_mnemonic["lui"][0], iset.by_mnemonic["addi"][0]
    values = VALUES + tuple(r.base + off for r in dev.config.regions for off in (0, 4, 32))
    words = []
    for rd in range(1, 32):
        v = rng.choice(values)
        hi = ((v + 0x800) >> 12) & 0xFFFFF
        lo = ((v - (hi << 12) + 0x800) & 0xFFF) - 0x800
        words += [iset.encode(lui, {"rd": rd, "imm_u": hi}),
                  iset.encode(addi, {"rd": rd, "rs1": rd, "imm_i": lo})]
    for _ in range(40):
        row = rng.choice(iset.xnpu())
        ops = {}
        for name in row.operands:
            f = iset.fields[name]
            lo, hi = f.value_range()
            ops[name] = rng.choice((lo, hi, 0, 1, 2, 3, 5, 7, rng.randint(lo, hi))) // f.align * f.align
        words.append(iset.encode(row, ops))
    words.append(iset.encode(iset.by_mnemonic["wfi"][0], {}))
    dev.core.write_mem(dev.config.region("dtcm").base, rng.randbytes(256))  # garbage descriptors
    return b"".join(struct.pack("<I", w) for w in words)


def _run(seed: int) -> Device:
    dev = Device()
    dev.core.write_mem(0, _program(seed, dev))
    dev.boot(0)
    dev.advance(2_000_000)
    return dev


@pytest.mark.parametrize("seed", range(12))
def test_random_xnpu_programs_fault_cleanly(seed: int) -> None:
    dev = _run(seed)
    assert dev.halted in (None, "deadlock")
    for err in dev.errors:
        assert err.cause in {f.name for f in dev.regs.map.field("dma.err_cause.cause").enum.values}
    assert dev.regs.peek("errlog.count") == len(dev.errors)


@pytest.mark.long
def test_random_xnpu_programs_fault_cleanly_long(request: pytest.FixtureRequest) -> None:
    if "long" not in request.config.option.markexpr.replace("not long", ""):
        pytest.skip("long run: select it with -m long")
    for seed in range(12, 2012):
        _run(seed)
