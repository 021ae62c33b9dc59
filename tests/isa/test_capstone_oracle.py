"""Capstone as the oracle for every standard row: our encoder's words decode to the same
instruction and operand values in an independent decoder.

Capstone prints LLVM's aliases (`mv`, `csrr`, `frcsr`, ...), and its detail operands
drop the fields an alias fixes, so its *text* is parsed: an alias that the table also
has is expanded with the table's fixed fields (so the table's alias rows are checked
too); the few aliases only LLVM prints are listed below with the base they stand for.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isa.registers import register_table
from isa.spec import Field, Instruction, instruction_set

capstone = pytest.importorskip("capstone")

_CS = capstone.Cs(capstone.CS_ARCH_RISCV, capstone.CS_MODE_RISCV32)
_CS.detail = True

# Aliases LLVM prints that the table does not have: mnemonic and operand count ->
# (base, the fields written in order, the fields the alias fixes). CSR 1..3 are the
# float CSRs fflags, frm, fcsr; 0xc01/0xc81 are time/timeh.
_CAPSTONE_ONLY: dict[tuple[str, int], tuple[str, tuple[str, ...], dict[str, int]]] = {
    ("frflags", 1): ("csrrs", ("rd",), {"csr": 1, "rs1": 0}),
    ("frrm", 1): ("csrrs", ("rd",), {"csr": 2, "rs1": 0}),
    ("frcsr", 1): ("csrrs", ("rd",), {"csr": 3, "rs1": 0}),
    ("rdtime", 1): ("csrrs", ("rd",), {"csr": 0xC01, "rs1": 0}),
    ("rdtimeh", 1): ("csrrs", ("rd",), {"csr": 0xC81, "rs1": 0}),
    ("fsflags", 1): ("csrrw", ("rs1",), {"csr": 1, "rd": 0}),
    ("fsrm", 1): ("csrrw", ("rs1",), {"csr": 2, "rd": 0}),
    ("fscsr", 1): ("csrrw", ("rs1",), {"csr": 3, "rd": 0}),
    ("fsflags", 2): ("csrrw", ("rd", "rs1"), {"csr": 1}),
    ("fsrm", 2): ("csrrw", ("rd", "rs1"), {"csr": 2}),
    ("fscsr", 2): ("csrrw", ("rd", "rs1"), {"csr": 3}),
    ("fsflagsi", 1): ("csrrwi", ("zimm",), {"csr": 1, "rd": 0}),
    ("fsrmi", 1): ("csrrwi", ("zimm",), {"csr": 2, "rd": 0}),
    ("fsflagsi", 2): ("csrrwi", ("rd", "zimm"), {"csr": 1}),
    ("fsrmi", 2): ("csrrwi", ("rd", "zimm"), {"csr": 2}),
}
# Capstone writes jalr's operands as `rd, rs1, imm`; the table (like objdump) as `rd,imm(rs1)`.
_CAPSTONE_ORDER = {"jalr": ("rd", "rs1", "imm_i")}
# CSRs both sides name, plus numbers neither names (custom ranges), printed as numbers.
_CSRS = [c.number for c in register_table().csrs] + [0x7C0, 0x5C0, 0xBC0, 0xFC0, 1, 2, 3, 0xC01, 0xC81]
_FENCE = "iorw"
# Standard CSRs capstone names that the core does not implement (so registers.tbl lacks them).
_CAPSTONE_CSR_NAMES = {"fflags": 1, "frm": 2, "fcsr": 3, "time": 0xC01, "timeh": 0xC81}


def _standard_rows() -> list[Instruction]:
    return [i for i in instruction_set().instructions if not i.is_xnpu]


def _strategy(f: Field) -> st.SearchStrategy[int]:
    if f.kind == "csr":
        return st.sampled_from(_CSRS)
    lo, hi = f.value_range()
    return st.integers(-(-lo // f.align), hi // f.align).map(lambda v: v * f.align)


def _written(syntax: str) -> tuple[str, ...]:
    return tuple(re.findall(r"[a-z_][a-z0-9_]*", syntax))


def _base(mnemonic: str) -> Instruction:
    return next(r for r in instruction_set().by_mnemonic[mnemonic] if not r.is_alias)


def _value(f: Field, token: str) -> int:
    regs = register_table()
    if f.kind == "reg":
        number = regs.gpr_number(token)
        assert number is not None, f"capstone register {token!r}"
        return number
    if f.kind == "csr":
        number = regs.csr_number(token)
        if number is None:
            number = _CAPSTONE_CSR_NAMES.get(token)
        return number if number is not None else int(token, 0)
    if f.kind == "fence":
        # capstone spells an empty set "unknown"
        return 0 if token == "unknown" else sum(8 >> _FENCE.index(c) for c in token)
    return int(token, 0)


def _capstone_values(word: int) -> tuple[str, dict[str, int]]:
    """(base instruction, every field's value) as capstone reads `word`."""
    iset = instruction_set()
    insns = list(_CS.disasm(word.to_bytes(4, "little"), 0))
    assert insns, f"capstone rejects 0x{word:08x}"
    insn = insns[0]
    tokens = [t for t in re.split(r"[,()\s]+", insn.op_str) if t]
    base_name = insn.insn_name()
    key = (insn.mnemonic, len(tokens))
    alias = next((a for a in iset.aliases if a.mnemonic == insn.mnemonic
                  and len(_written(a.syntax)) == len(tokens)), None)
    if insn.mnemonic == "fence" and not tokens:
        order, fixed = (), {"pred": 0xF, "succ": 0xF}
    elif insn.mnemonic == base_name and len(tokens) == len(_written(_base(base_name).syntax)):
        order, fixed = _CAPSTONE_ORDER.get(base_name, _written(_base(base_name).syntax)), {}
    elif key in _CAPSTONE_ONLY:
        base_name, order, fixed = _CAPSTONE_ONLY[key]
    else:
        assert alias is not None, f"capstone alias {insn.mnemonic} {insn.op_str} is unknown to the test"
        base_name, order, fixed = alias.base, _written(alias.syntax), dict(alias.fixed_fields)
    assert len(order) == len(tokens), f"{insn.mnemonic} {insn.op_str}"
    values = dict(fixed)
    for name, token in zip(order, tokens, strict=True):
        values[name] = _value(iset.fields[name], token)
    return base_name, values


@pytest.mark.parametrize("row", _standard_rows(), ids=lambda r: r.key)
@settings(max_examples=15)
@given(data=st.data())
def test_capstone_reads_our_encoding(row: Instruction, data: st.DataObject) -> None:
    iset = instruction_set()
    values = {name: data.draw(_strategy(iset.fields[name]), label=name) for name in row.operands}
    word = iset.encode(row, values)
    if word == 0xC0001073:  # csrrw zero,cycle,zero: capstone names this exact word `unimp`
        assert next(iter(_CS.disasm(word.to_bytes(4, "little"), 0))).mnemonic == "unimp"
        return
    base, seen = _capstone_values(word)
    assert base == row.mnemonic, f"0x{word:08x}: capstone reads {base}, we encoded {row.mnemonic}"
    assert seen == values, f"0x{word:08x} ({row.mnemonic})"


def test_capstone_rejects_or_differs_where_the_core_does() -> None:
    """The words capstone accepts and the core does not (the reason the table decides validity)."""
    iset = instruction_set()
    word = 0x8330000F  # fence.tso: fence mode 8, which the core does not implement
    assert iset.decode(word) is None
    assert [i.mnemonic for i in _CS.disasm(word.to_bytes(4, "little"), 0)] == ["fence.tso"]
