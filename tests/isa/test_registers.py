"""The register table: names, numbers, gdb numbering, trap causes, and its validation."""

from __future__ import annotations

import pytest

from isa.errors import SpecError
from isa.memmap import memory_map, region, region_at
from isa.registers import load, register_table


def test_gprs_by_number_abi_name_and_fp() -> None:
    table = register_table()
    assert [g.number for g in table.gprs] == list(range(32))
    assert table.gpr_number("a0") == 10 == table.gpr_number("X10")
    assert table.gpr_number("fp") == table.gpr_number("s0") == 8
    assert table.gpr_number("q7") is None
    assert table.abi_name(2) == "sp"


def test_csrs_and_gdb_numbers_follow_gdbs_riscv_target() -> None:
    table = register_table()
    assert table.csr_number("MTVEC") == 0x305
    assert table.csr_name(0x342) == "mcause"
    mstatus = next(c for c in table.csrs if c.name == "mstatus")
    assert mstatus.gdb_number == 65 + 0x300
    assert table.gprs[31].gdb_number == 31


def test_trap_causes_are_one_table() -> None:
    table = register_table()
    assert table.cause(2).name == "illegal_instruction"
    assert table.cause_named("Illegal-Instruction").code == 2
    assert table.cause(0x80000007).interrupt
    assert [c.code for c in table.exceptions()] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 11]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[gpr]\n0 x0 zero\n", "the table must list x0..x31 in order"),
        ("[csr]\n0x300 mstatus\n", ":2: error: malformed csr row"),
        ("[causes]\n2 a x\n2 b y\n", "a cause code or name is listed twice"),
        ("[regs]\n", "unknown section [regs]"),
    ],
)
def test_bad_register_tables_are_rejected(text: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        load(text)
    assert message in str(info.value)


def test_memory_map_matches_the_design_and_configs_differ_in_size_only() -> None:
    default, large = memory_map("default"), memory_map("large")
    assert [(r.name, r.base) for r in default] == [(r.name, r.base) for r in large]
    assert region("hbm").base == 0x8000_0000 and region("hbm").size == 256 << 20
    assert region("hbm", "large").size == 2 << 30 and region("l1", "large").size == 16 << 20
    assert region("itcm").executable and not region("dtcm").executable
    assert region_at(0x2110_0000).name == "l0b"
    assert region_at(0x3000_0000) is None
