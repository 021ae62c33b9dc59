"""The instruction table loads, and every validation rule rejects its bad table."""

from __future__ import annotations

import pytest

from isa.errors import SpecError
from isa.spec import instruction_set, load

HEADER = """
[fields]
rd     reg    4..0:11..7
rs1    reg    4..0:19..15
rs2    reg    4..0:24..20
imm_i  simm   11..0:31..20
[pipes]
0 s core
[instructions]
"""
ADD = "add  rv32i  rd,rs1,rs2  31..25=0 14..12=0 6..0=0x33  -  rd = rs1 + rs2\n"


def test_project_table_loads_with_every_extension() -> None:
    iset = instruction_set()
    exts = {i.ext for i in iset.instructions}
    assert {"rv32i", "rv32m", "zicsr", "priv", "zifencei", "xnpu"} <= exts
    assert iset.by_key["npu_mmad"].mnemonic == "npu.mmad"
    assert all(i.mask & 0x7F == 0x7F for i in iset.instructions)


def test_decode_prefers_the_most_specific_alias() -> None:
    iset = instruction_set()
    assert iset.preferred_form(0x00000013).mnemonic == "nop"
    assert iset.preferred_form(0x00500513).mnemonic == "li"
    assert iset.preferred_form(0x00008067).mnemonic == "ret"
    assert iset.decode(0xFFFFFFFF) is None


def test_encode_rejects_out_of_range_values_by_field() -> None:
    iset = instruction_set()
    addi = iset.by_key["addi"]
    assert iset.encode(addi, {"rd": 10, "rs1": 0, "imm_i": -1}) == 0xFFF00513
    with pytest.raises(Exception, match=r"addi: imm_i value 2048 out of range \(-2048..2047\)"):
        iset.encode(addi, {"rd": 10, "rs1": 0, "imm_i": 2048})
    beq = iset.by_key["beq"]
    with pytest.raises(Exception, match="multiple of 2"):
        iset.encode(beq, {"rs1": 0, "rs2": 0, "imm_b": 3})


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("add  rv32i  rd,rs1,rs2  31..25=0 14..12=0 6..0=0x33  -  x\n"
         "add  rv32i  rd,rs1,rs2  31..25=1 14..12=0 6..0=0x33  -  x\n",
         ":11: error: add: mnemonic declared twice"),
        ("add  rv32i  rd,rs1,rs2  31..25=0 6..0=0x33  -  x\n", ":10: error: add: bits not assigned: 14..12"),
        ("add  rv32i  rd,rs1,rs2  31..25=0 14..12=8 6..0=0x33  -  x\n",
         "add: value 8 does not fit in bits 14..12"),
        ("add  rv32i  rd,rs1,rs9  31..25=0 14..12=0 6..0=0x33  -  x\n", "add: unknown field 'rs9'"),
        ("add  rv32i  rd,rs1,rs2  31..25=0 14..12=0 11..7=0 6..0=0x33  -  x\n",
         "add: field rd overlaps bits assigned before it"),
        ("add  rv32i  rd,rs1,rs2,imm_i  14..12=0 6..0=0x33  -  x\n",
         "add: field imm_i overlaps bits assigned before it"),
        ("add  rv32i  rd,rs1,rs2  31..25=0 14..12=0 6..2=0xc 1..0=3  bogus  x\n",
         "add: pipe 'bogus' is neither a pipe nor an operand"),
        ("add  rv32i  rd,rs1,rs2  31..25=0 14..12=0 6..0=0x33  -  x\n"
         "sub  rv32i  rd,rs1,rs2  31..25=0 14..12=0 6..0=0x33  -  x\n",
         ":11: error: sub: encoding overlaps add (line 10)"),
        ("lui  rv32i  rd  31..12=0 6..0=0x37  -  x\n" "[aliases]\nfoo  bar  rd  -  both  x\n",
         "foo: unknown base instruction 'bar'"),
        (ADD + "[aliases]\nneg  add  rd,rs2  19..17=0  both  x\n",
         "neg: fixed bits cover only part of field rs1"),
        (ADD + "[aliases]\nneg  add  rd  19..15=0  both  x\n",
         "neg: field rs2 of add is neither fixed nor an operand"),
        (ADD + "[aliases]\nneg  add  rd,rs2  19..15=0  maybe  x\n", "neg: use must be 'both' or 'asm'"),
        (ADD + "[bogus]\n", "unknown section [bogus]"),
        ("| dangling\n", "continuation line '|' without a row above it"),
    ],
)
def test_bad_table_is_rejected_with_its_line(rows: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        load(HEADER + rows)
    assert message in str(info.value)


def test_bad_field_rows_are_rejected() -> None:
    with pytest.raises(SpecError, match="rd: an instruction bit is given twice"):
        load("[fields]\nrd reg 4..3:11..10 2..0:10..8\n")
    with pytest.raises(SpecError, match="rd: unknown field kind 'register'"):
        load("[fields]\nrd register 4..0:11..7\n")
    with pytest.raises(SpecError, match=r"piece 4\.\.0:11\.\.8 has unequal widths"):
        load("[fields]\nrd reg 4..0:11..8\n")
