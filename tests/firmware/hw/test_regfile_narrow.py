"""8/16-bit register accesses: effects on their byte lanes only, observed with their true width;
and the host access plan the BAR0 fast path reads."""

from __future__ import annotations

import pytest

from firmware.hw.regfile import Access, RegisterFile
from firmware.hw.regmap import Register, RegisterError, regmap

RMAP = regmap()
LANES = [(w, lane) for w in (1, 2) for lane in range(0, 4, w)]




def _lanes(width: int, lane: int) -> int:
    return ((1 << 8 * width) - 1) << 8 * lane


@pytest.mark.parametrize(("width", "lane"), LANES)
@pytest.mark.parametrize("side", ["host", "firmware"])
def test_a_narrow_write_is_the_full_write_limited_to_its_lanes(regs: RegisterFile, side: str, width: int,
                                                               lane: int) -> None:
    """For every register: W1C clears only the written lanes' ones, read-only ignores, strobes pulse."""
    ref = RegisterFile(RMAP)
    base = RMAP.mmio_base if side == "firmware" else 0
    for reg in RMAP.registers:
        for rf in (regs, ref):
            rf.poke(reg.path, 0x5A5A_A5A5)
        value = 0x3C_C3_96_69 & ((1 << 8 * width) - 1)
        regs.write(base + reg.offset + lane, value, side, width=width)
        ref.write(base + reg.offset, value << 8 * lane, side, lanes=_lanes(width, lane))
        assert regs.peek(reg.path) == ref.peek(reg.path), reg.path


def _reads_with_effects() -> list[Register]:
    return [r for r in RMAP.registers if any(f.onread and "r" in f.rights("host") for f in r.fields)]


def test_the_map_has_a_clear_on_read_register() -> None:
    assert _reads_with_effects()


@pytest.mark.parametrize(("width", "lane"), LANES)
@pytest.mark.parametrize("reg", _reads_with_effects(), ids=lambda r: r.path)
def test_a_narrow_read_clears_only_its_own_lanes(regs: RegisterFile, reg: Register, width: int,
                                                 lane: int) -> None:
    regs.poke(reg.path, 0xFFFF_FFFF)
    full = regs.peek(reg.path)
    got = regs.read(reg.offset + lane, "host", width=width)
    lanes = _lanes(width, lane)
    assert got == (full & lanes) >> 8 * lane
    effect = sum(f.mask for f in reg.fields if f.onread == "rclr")
    assert regs.peek(reg.path) == full & ~(effect & lanes)


def test_a_byte_write_to_a_w1c_register_clears_only_that_byte(regs: RegisterFile) -> None:
    status = RMAP.register("host_irq.status")
    regs.poke(status.path, status.defined_mask)
    regs.write(status.offset + 1, 0xFF, "host", width=1)  # no status bits live in byte 1
    assert regs.peek(status.path) == status.defined_mask
    regs.write(status.offset, 0x05, "host", width=1)
    assert regs.peek(status.path) == status.defined_mask & ~0x05


def test_observers_see_the_true_offset_width_and_bytes_hooks_the_register(regs: RegisterFile) -> None:
    scratch = RMAP.register("version.scratch[3]")
    regs.poke(scratch.path, 0x1122_3344)
    hooked: list[Access] = []
    regs.on_write(scratch.path, hooked.append)
    seen: list[Access] = []
    regs.observe(seen.append)
    regs.write(scratch.offset + 2, 0xBEEF, "host", origin="a.py:1", width=2)
    assert regs.read(scratch.offset + 1, "host", origin="a.py:2", width=1) == 0x33
    assert [(*tuple(a)[:7], a.origin) for a in seen] == [
        ("host", "write", scratch.path, scratch.offset + 2, 16, 0x1122_3344, 0xBEEF, "a.py:1"),
        ("host", "change", scratch.path, scratch.offset, 32, 0x1122_3344, 0xBEEF_3344, "a.py:1"),
        ("host", "read", scratch.path, scratch.offset + 1, 8, 0xBEEF_3344, 0x33, "a.py:2"),
    ]
    assert [(a.offset, a.width, a.new) for a in hooked] == [(scratch.offset, 32, 0xBEEF_0000)]
    assert [(f.field, f.value) for f in seen[0].fields()] == [("value", 0xBEEF_0000)]
    assert [a.in_lanes() for a in seen] == [0xBEEF_0000, 0xBEEF_3344, 0x3300]


def test_narrow_accesses_need_an_aligned_byte_address(regs: RegisterFile) -> None:
    with pytest.raises(RegisterError, match="aligned"):
        regs.write(RMAP.register("version.scratch[0]").offset + 1, 1, "host", width=2)
    with pytest.raises(RegisterError, match="aligned"):
        regs.read("version.scratch[0]", "host", width=1)
    with pytest.raises(RegisterError, match="1, 2 or 4 bytes wide, not 3"):
        regs.read(RMAP.register("version.scratch[0]").offset, "host", width=3)


# ---------------------------------------------------------------- the host access plan


def _plain(reg: Register, right: str, effect: str) -> bool:
    return all(right in f.rights("host") and getattr(f, effect) is None and not f.singlepulse
               for f in reg.fields)


def test_the_plan_lists_exactly_the_plain_registers_of_the_rdl(regs: RegisterFile) -> None:
    assert set(regs.host_reads) == {r.offset for r in RMAP.registers if _plain(r, "r", "onread")}
    assert set(regs.host_writes) == {r.offset for r in RMAP.registers if _plain(r, "w", "onwrite")}
    scratch = RMAP.register("version.scratch[0]")
    assert regs.host_reads[scratch.offset] is regs.slot(scratch.path) is regs.host_writes[scratch.offset]


def test_observers_empty_the_plan_and_hooks_take_their_register_out(regs: RegisterFile) -> None:
    reads, writes = dict(regs.host_reads), dict(regs.host_writes)
    fn = regs.observe(lambda a: None)
    assert not regs.host_reads and not regs.host_writes
    regs.unobserve(fn)
    assert regs.host_reads == reads and regs.host_writes == writes
    tail = RMAP.register("queue0.sq_tail")
    regs.on_write(tail.path, lambda a: None)
    assert tail.offset in regs.host_reads and tail.offset not in regs.host_writes
    regs.on_read(tail.path, lambda a: None)
    assert tail.offset not in regs.host_reads
    fn = regs.observe(lambda a: None)
    regs.unobserve(fn)
    assert tail.offset not in regs.host_reads and tail.offset not in regs.host_writes
