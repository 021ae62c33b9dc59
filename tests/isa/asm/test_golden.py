"""Golden encodings: one sample per table row (base and alias), against GNU as and hand-checked words.

The sample line of a row is built from its syntax with fixed operand values, so
a new row gets a sample automatically; its word must match GNU as (standard
rows as written, Xnpu rows through an equivalent `.insn` line) where binutils
are installed, and the hand-checked words below without them.
"""

from __future__ import annotations

import re

import pytest

from isa.asm import assemble
from isa.spec import Instruction, instruction_set
from tests.isa.asm.gnu import gnu_text, needs_binutils

SAMPLE = {"rd": "a0", "rs1": "a1", "rs2": "a2", "imm_i": "-5", "imm_s": "12", "imm_b": "L",
          "imm_u": "0x12345", "imm_j": "L", "shamt": "7", "csr": "mscratch", "zimm": "9", "pred": "rw",
          "succ": "w",
          "psrc": "mte2", "pdst": "m", "event": "3", "pipe": "v", "cfgidx": "mm_k"}
PRELUDE = "L: nop\nnop\n"  # the sample sits at 8, so L is 8 bytes back

# Xnpu rows written as GNU `.insn` lines (operand slots placed by hand from the table's field layout).
XNPU_GNU = {
    "npu.dma": ".insn r 0x0b, 0, 0, x0, a1, a2",
    "npu.mmad": ".insn r 0x0b, 1, 0, a0, a1, a2",
    "npu.vadd": ".insn r 0x0b, 2, 0, a0, a1, a2",
    "npu.vsub": ".insn r 0x0b, 2, 1, a0, a1, a2",
    "npu.vmul": ".insn r 0x0b, 2, 2, a0, a1, a2",
    "npu.vmax": ".insn r 0x0b, 2, 3, a0, a1, a2",
    "npu.vmin": ".insn r 0x0b, 2, 4, a0, a1, a2",
    "npu.vrelu": ".insn r 0x0b, 2, 5, a0, a1, x0",
    "npu.vscalebias": ".insn r 0x0b, 2, 6, a0, a1, a2",
    "npu.vcvt.f32.f16": ".insn r 0x0b, 2, 7, a0, a1, x0",
    "npu.vcvt.f16.f32": ".insn r 0x0b, 2, 8, a0, a1, x0",
    "npu.vcvt.f32.i32": ".insn r 0x0b, 2, 9, a0, a1, x0",
    "npu.vquant": ".insn r 0x0b, 2, 10, a0, a1, x0",
    "npu.vdequant": ".insn r 0x0b, 2, 11, a0, a1, x0",
    "npu.setflag": ".insn r 0x2b, 0, 0, x2, x3, x3",  # psrc mte2=2 (rd slot), pdst m=3 (rs1), event 3 (rs2)
    "npu.waitflag": ".insn r 0x2b, 1, 0, x2, x3, x3",
    "npu.barrier": ".insn i 0x2b, 2, x0, x4, 0",  # pipe v=4 in the rs1 slot
    "npu.cfg": ".insn i 0x2b, 3, a0, a1, 1",  # mm_k is cfg index 1
}

# Hand-checked words for a core set: sample line -> word (R: funct7|rs2|rs1|funct3|rd|opcode).
HAND = {
    "add a0,a1,a2": 0x00C58533, "sub a0,a1,a2": 0x40C58533, "addi a0,a1,-5": 0xFFB58513,
    "lui a0,0x12345": 0x12345537, "auipc a0,0x12345": 0x12345517, "jalr a0,-5(a1)": 0xFFB58567,
    "lw a0,-5(a1)": 0xFFB5A503, "sw a2,12(a1)": 0x00C5A623, "srai a0,a1,7": 0x4075D513,
    "beq a1,a2,L": 0xFEC58CE3, "jal a0,L": 0xFF9FF56F, "j L": 0xFF9FF06F, "bgt a2,a1,L": 0xFEC5CCE3,
    "csrrw a0,mscratch,a1": 0x34059573, "csrrsi a0,mscratch,9": 0x3404E573, "mul a0,a1,a2": 0x02C58533,
    "divu a0,a1,a2": 0x02C5D533, "fence rw,w": 0x0310000F, "fence": 0x0FF0000F, "fence.i": 0x0000100F,
    "ecall": 0x00000073, "ebreak": 0x00100073, "mret": 0x30200073, "wfi": 0x10500073,
    "nop": 0x00000013, "li a0,-5": 0xFFB00513, "mv a0,a1": 0x00058513, "not a0,a1": 0xFFF5C513,
    "neg a0,a2": 0x40C00533, "ret": 0x00008067, "jr a1": 0x00058067, "jalr a1": 0x000580E7,
    "csrr a0,mscratch": 0x34002573, "unimp": 0xC0001073, "rdcycle a0": 0xC0002573,
    "npu.dma a1,a2": 0x00C5800B, "npu.mmad a0,a1,a2": 0x00C5950B, "npu.vadd a0,a1,a2": 0x00C5A50B,
    "npu.vsub a0,a1,a2": 0x02C5A50B, "npu.vrelu a0,a1": 0x0A05A50B, "npu.vdequant a0,a1": 0x1605A50B,
    "npu.setflag mte2,m,3": 0x0031812B, "npu.waitflag mte2,m,3": 0x0031912B,
    "npu.barrier v": 0x0002202B, "npu.cfg a0,a1,mm_k": 0x0015B52B,
}


def _rows() -> list[Instruction]:
    iset = instruction_set()
    return [r for r in iset.instructions + iset.aliases if r.use in ("both", "asm")]


def sample(row: Instruction) -> str:
    operands = re.sub(r"[a-z_][a-z0-9_]*", lambda m: SAMPLE[m.group()], row.syntax)
    return f"{row.mnemonic} {operands}".strip()


def _ours(line: str) -> int:
    text = assemble(PRELUDE + line).sections[0].data
    return int.from_bytes(text[8:12], "little")


def _id(row: Instruction) -> str:
    return f"{row.key}-{len(row.operands)}" + ("-alias" if row.is_alias else "")


@pytest.mark.parametrize("row", _rows(), ids=_id)
def test_row_sample_encodes_to_its_row(row: Instruction) -> None:
    word = _ours(sample(row))
    assert row.matches(word)
    assert instruction_set().preferred_form(word) is not None


@needs_binutils
@pytest.mark.parametrize("row", _rows(), ids=_id)
def test_row_sample_matches_gnu_as(row: Instruction) -> None:
    line = sample(row)
    gnu_line = XNPU_GNU[row.mnemonic] if row.is_xnpu else line
    gnu = gnu_text(PRELUDE + gnu_line)
    assert f"{_ours(line):08x}" == gnu[8:12][::-1].hex()


@pytest.mark.parametrize("line", sorted(HAND))
def test_hand_checked_words(line: str) -> None:
    assert f"{_ours(line):08x}" == f"{HAND[line]:08x}"


def test_every_xnpu_row_has_a_gnu_equivalent_and_a_hand_word() -> None:
    xnpu = {r.mnemonic for r in instruction_set().xnpu()}
    assert xnpu == set(XNPU_GNU)
    hand_mnemonics = {line.split()[0] for line in HAND}
    assert {"npu.dma", "npu.mmad", "npu.setflag", "npu.waitflag", "npu.barrier", "npu.cfg"} <= hand_mnemonics
