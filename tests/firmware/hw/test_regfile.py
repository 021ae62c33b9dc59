"""Register file semantics, checked against what the RDL model declares for every register."""

from __future__ import annotations

import pytest

from firmware.hw.regfile import RegisterFile, UnmappedError
from firmware.hw.regmap import Field, Register, RegisterError, regmap

SIDES = ("host", "firmware")
RMAP = regmap()


def key(reg: Register, side: str) -> int:
    """How a side addresses a register: BAR0 offset for the host, MMIO address for firmware."""
    return reg.offset if side == "host" else reg.address


def fields_where(pred) -> list[tuple[Field, str]]:
    return [(f, side) for reg in RMAP.registers for f in reg.fields for side in SIDES if pred(f, side)]


def ids(cases: list[tuple[Field, str]]) -> list[str]:
    return [f"{side}:{f.path}" for f, side in cases]


@pytest.fixture
def regs() -> RegisterFile:
    return RegisterFile(RMAP)


def test_reset_values_are_the_rdl_resets(regs: RegisterFile) -> None:
    for reg in RMAP.registers:
        assert regs.peek(reg.path) == reg.reset, reg.path
        for side in SIDES:
            expected = sum(f.reset << f.lsb for f in reg.fields if "r" in f.rights(side))
            assert regs.read(key(reg, side), side) == expected, (side, reg.path)


def test_reset_restores_every_register(regs: RegisterFile) -> None:
    for reg in RMAP.registers:
        regs.poke(reg.path, 0xFFFFFFFF)
    regs.reset()
    assert regs.values() == {r.path: r.reset for r in RMAP.registers}


PLAIN = fields_where(lambda f, side: not (f.onread or f.onwrite or f.singlepulse))


@pytest.mark.parametrize(("f", "side"), PLAIN, ids=ids(PLAIN))
def test_plain_fields_follow_the_sides_rights(regs: RegisterFile, f: Field, side: str) -> None:
    reg = RMAP.register(f.register)
    ones = f.mask
    regs.write(key(reg, side), ones, side)
    stored = f.extract(regs.peek(reg.path))
    assert stored == (f.extract(ones) if "w" in f.rights(side) else f.reset)
    shown = f.extract(regs.read(key(reg, side), side))
    assert shown == (stored if "r" in f.rights(side) else 0)


W1C = fields_where(lambda f, side: f.onwrite == "woclr" and "w" in f.rights(side))


@pytest.mark.parametrize(("f", "side"), W1C, ids=ids(W1C))
def test_write_one_to_clear_clears_only_the_ones(regs: RegisterFile, f: Field, side: str) -> None:
    reg = RMAP.register(f.register)
    regs.poke(reg.path, f.mask)
    regs.write(key(reg, side), 0, side)
    assert regs.peek(reg.path) == f.mask
    regs.write(key(reg, side), 1 << f.lsb, side)
    assert regs.peek(reg.path) == f.mask & ~(1 << f.lsb)


def test_w1c_with_byte_lanes_touches_only_those_lanes(regs: RegisterFile) -> None:
    status = RMAP.register("host_irq.status")
    regs.poke(status.path, status.defined_mask)
    regs.write(status.offset, 0xFFFFFFFF, "host", lanes=0x3)
    assert regs.peek(status.path) == status.defined_mask & ~0x3


STROBES = fields_where(lambda f, side: f.singlepulse and "w" in f.rights(side))


@pytest.mark.parametrize(("f", "side"), STROBES, ids=ids(STROBES))
def test_strobes_pulse_and_read_zero(regs: RegisterFile, f: Field, side: str) -> None:
    reg = RMAP.register(f.register)
    seen = []
    regs.on_write(reg.path, seen.append, sides=(side,))
    regs.write(key(reg, side), f.mask, side, origin="test")
    assert [(a.kind, a.new, a.origin) for a in seen] == [("write", f.mask, "test")]
    assert regs.peek(reg.path) & f.mask == 0
    assert regs.read(key(reg, side), side) & f.mask == 0


CLEAR_ON_READ = fields_where(lambda f, side: f.onread == "rclr" and "r" in f.rights(side))


@pytest.mark.parametrize(("f", "side"), CLEAR_ON_READ, ids=ids(CLEAR_ON_READ))
def test_clear_on_read_shows_then_clears_and_peek_does_not(regs: RegisterFile, f: Field, side: str) -> None:
    reg = RMAP.register(f.register)
    regs.poke(reg.path, f.mask)
    assert regs.peek(reg.path) == regs.peek(reg.path) == f.mask
    assert regs.read(reg.path, "unit") == f.mask  # the hardware's own read has no side effect
    assert regs.read(key(reg, side), side) & f.mask == f.mask
    assert regs.read(key(reg, side), side) & f.mask == 0


CLEAR_ON_WRITE = fields_where(lambda f, side: f.onwrite == "wclr" and "w" in f.rights(side))


@pytest.mark.parametrize(("f", "side"), CLEAR_ON_WRITE, ids=ids(CLEAR_ON_WRITE))
def test_clear_on_write_clears_whatever_is_written(regs: RegisterFile, f: Field, side: str) -> None:
    reg = RMAP.register(f.register)
    regs.poke(reg.path, f.mask)
    regs.write(key(reg, side), 0, side)
    assert regs.peek(reg.path) & f.mask == 0


def test_semantic_cases_exist_in_the_map() -> None:
    # The parametrized tests above are only as good as the map's coverage of each semantic.
    assert W1C and STROBES and CLEAR_ON_READ and CLEAR_ON_WRITE
    assert any("r" not in f.rights("host") and "w" in f.rights("firmware") for f, _ in PLAIN)


HIDDEN = [r for r in RMAP.registers if not r.host_visible]


@pytest.mark.parametrize("reg", HIDDEN, ids=[r.path for r in HIDDEN])
def test_firmware_only_registers_read_zero_and_ignore_bar0(regs: RegisterFile, reg: Register) -> None:
    regs.poke(reg.path, reg.defined_mask)
    assert regs.read(reg.offset, "host") == 0
    regs.write(reg.offset, 0, "host")
    assert regs.peek(reg.path) == reg.defined_mask
    readable = sum(f.mask for f in reg.fields if "r" in f.rights("firmware"))
    assert regs.read(reg.address, "firmware") == reg.defined_mask & readable


def test_units_write_any_register_and_read_without_effects(regs: RegisterFile) -> None:
    for reg in RMAP.registers:
        regs.write(reg.path, 0xFFFFFFFF, "unit")
        assert regs.read(reg.path, "unit") == reg.defined_mask
        assert regs.read(reg.offset, "unit") == regs.read(reg.address, "unit") == reg.defined_mask


def test_sides_address_registers_their_own_way(regs: RegisterFile) -> None:
    tail = RMAP.register("queue0.sq_tail")
    regs.write(tail.offset, 5, "host")
    assert regs.read(tail.address, "firmware") == 5
    assert regs.read("QUEUE0.SQ_TAIL", "firmware") == regs.read("Queue0.Sq_Tail", "host") == 5
    with pytest.raises(UnmappedError, match=r"^BAR0 offset 0x1000040c: the host addresses registers by BAR0"):
        regs.read(tail.address, "host")
    with pytest.raises(UnmappedError, match=r"^no register at MMIO address 0x40c$"):
        regs.read(tail.offset, "firmware")
    with pytest.raises(UnmappedError, match=r"^no register at BAR0 offset 0x402$"):
        regs.write(tail.offset - 10, 0, "host")
    with pytest.raises(RegisterError, match=r"did you mean QUEUE0\.SQ_TAIL\?$"):
        regs.read("queue0.sq_tial", "host")
    with pytest.raises(RegisterError, match=r"^unknown side 'cpu'"):
        regs.read(tail.offset, "cpu")
    with pytest.raises(RegisterError, match=r"^a register is named by path, offset or address, not None$"):
        regs.read(None, "host")  # type: ignore[arg-type]
    assert regs.register_at(tail.address, "firmware") is tail


def test_field_helpers_touch_one_field(regs: RegisterFile) -> None:
    state = RMAP.field("ctrl.state")
    regs.set_field("CTRL.STATE", "fault")
    assert regs.field("ctrl.state.state") == RMAP.enums["device_state"].by_name["fault"].value
    regs.set_field("version.fw_version.minor", 7)
    assert regs.peek("version.fw_version") == 7 << RMAP.field("version.fw_version.minor").lsb
    cq1 = RMAP.field("host_irq.status.cq1").mask
    regs.set_bits("host_irq.status", cq1)
    regs.set_bits("host_irq.status", RMAP.field("host_irq.status.cq0").mask)
    regs.clear_bits("host_irq.status", cq1)
    assert regs.peek("host_irq.status") == RMAP.field("host_irq.status.cq0").mask
    assert state.extract(regs.peek("ctrl.state")) == regs.field("ctrl.state")


def test_snapshot_and_restore(regs: RegisterFile) -> None:
    regs.write("queue1.sq_base", 0x8000_1000, "host")
    snap = regs.snapshot()
    regs.reset()
    assert regs.peek("queue1.sq_base") == 0
    regs.restore(snap)
    assert regs.peek("queue1.sq_base") == 0x8000_1000
    with pytest.raises(RegisterError, match=r"^snapshot holds 2 registers"):
        regs.restore((1, 2))
