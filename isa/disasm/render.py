"""One word to its text: the instruction table decides and renders, capstone cross-reads standard words.

Why the split is as it is:
- The table decides what is valid, because it is what the core executes.
  Capstone accepts words the core rejects (fence.tso, the F and A extensions,
  sfence.vma), so a capstone reading alone could show an instruction the core
  would trap on.
- The text comes from the table row, in objdump's syntax (`addi a0,a0,1`,
  `lw a0,8(sp)`, absolute targets), with the table's `both` aliases as the
  alias list. Capstone's own text differs from objdump's and from what the
  assembler reads (`jalr a0, a1, 4`, relative targets, decimal CSR numbers,
  LLVM's alias set), so rendering from the table is what gives one canonical
  form that reassembles to the same word.
- Capstone decodes every standard (non-Xnpu) word independently of the table.
  Where it names a different instruction than the table, the line says so in a
  comment: the table's reading is printed (it is what runs) and the
  disagreement, a table bug, is visible instead of hidden. Xnpu words are
  custom-0/custom-1 encodings capstone knows nothing of; the table alone reads them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from isa.registers import register_table
from isa.spec import Field, Instruction, instruction_set

# objdump prints these immediates in hex (lui/auipc upper immediates, shift amounts).
HEX_FIELDS = frozenset({"imm_u", "shamt"})
_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_FENCE_BITS = "iorw"

Symbolizer = Callable[[int], "str | None"]


@dataclass(frozen=True)
class Rendered:
    mnemonic: str  # ".word" for an invalid word
    text: str  # objdump style, with `<sym+0x..>` after targets
    source: str  # what the assembler reads back to the same word
    target: int | None = None  # branch or jump target


# The one capstone decoder, created on first use (capstone is imported lazily so
# that importing the disassembler stays cheap); False when capstone is missing.
_CS: Any = None


def _capstone() -> Any:
    global _CS
    if _CS is None:
        try:
            import capstone
        except ImportError:  # the table still renders everything; only the cross-read is lost
            _CS = False
            return None
        _CS = capstone.Cs(capstone.CS_ARCH_RISCV, capstone.CS_MODE_RISCV32)
    return _CS or None


@lru_cache(maxsize=1 << 14)  # firmware repeats words a lot; capstone is the costly part of a line
def capstone_reading(word: int) -> tuple[str, str] | None:
    """(instruction name, capstone's text) for a standard word, or None when capstone rejects it.

    The name is `insn_name()`, the real instruction behind the alias capstone prints."""
    md = _capstone()
    if md is None:
        return None
    for insn in md.disasm(word.to_bytes(4, "little"), 0, 1):
        return insn.insn_name(), f"{insn.mnemonic} {insn.op_str}".strip()
    return None


def _fence(value: int) -> str:
    return "".join(c for i, c in enumerate(_FENCE_BITS) if value >> (3 - i) & 1) or "0"


def _operand(f: Field, value: int, addr: int, symbolize: Symbolizer | None) -> tuple[str, str, int | None]:
    """(text, source, target) for one operand value."""
    iset = instruction_set()
    if f.kind == "reg":
        name = register_table().abi_name(value)
        return name, name, None
    if f.kind == "csr":
        name = register_table().csr_name(value) or f"0x{value:x}"
        return name, name, None
    if f.kind == "fence":
        return _fence(value), _fence(value), None
    if f.kind == "pipe":
        pipe = iset.pipes.get(value)
        return (pipe.name, pipe.name, None) if pipe else (str(value), str(value), None)
    if f.kind == "cfg":
        reg = iset.cfg.get(value)
        return (reg.name, reg.name, None) if reg else (str(value), str(value), None)
    if f.kind == "pcrel":
        target = (addr + value) & 0xFFFFFFFF
        sym = symbolize(target) if symbolize else None
        # objdump's two spellings: `1f4 <name+0x8>` when a symbol names it, else `0x1f4`
        return (f"{target:x} <{sym}>" if sym else f"0x{target:x}"), f"0x{target:x}", target
    text = f"0x{value:x}" if f.name in HEX_FIELDS else str(value)
    return text, text, None


@cache
def _template(row: Instruction) -> tuple[str | Field, ...]:
    """The row's syntax split into punctuation and the fields written there (once per row)."""
    return _split(row.syntax, instruction_set().fields)


def _split(syntax: str, fields: dict[str, Field]) -> tuple[str | Field, ...]:
    out: list[str | Field] = []
    pos = 0
    for m in _NAME.finditer(syntax):
        if m.start() > pos:
            out.append(syntax[pos:m.start()])
        out.append(fields[m.group(0)])
        pos = m.end()
    if pos < len(syntax):
        out.append(syntax[pos:])
    return tuple(out)


def _operands(row: Instruction, word: int, addr: int, symbolize: Symbolizer | None
              ) -> tuple[str, str, int | None]:
    text: list[str] = []
    source: list[str] = []
    target = None
    for piece in _template(row):
        if isinstance(piece, str):
            text.append(piece)
            source.append(piece)
            continue
        shown, written, aim = _operand(piece, piece.extract(word), addr, symbolize)
        text.append(shown)
        source.append(written)
        target = aim if aim is not None else target
    return "".join(text), "".join(source), target


def _empty_fence_set(row: Instruction, word: int) -> bool:
    iset = instruction_set()
    return any(iset.fields[n].kind == "fence" and not iset.fields[n].extract(word) for n in row.operands)


def invalid(word: int) -> Rendered:
    text = f".word 0x{word:08x}"
    return Rendered(".word", text, text)


def render(word: int, addr: int, symbolize: Symbolizer | None = None) -> Rendered:
    """The canonical form of the 32-bit `word` at `addr` (never raises)."""
    iset = instruction_set()
    row = iset.preferred_form(word)
    if row is None:
        return invalid(word)
    text, source, target = _operands(row, word, addr, symbolize)
    head = f"{row.mnemonic} {text}" if text else row.mnemonic
    src = f"{row.mnemonic} {source}" if source else row.mnemonic
    if _empty_fence_set(row, word):
        # The core runs `fence` with an empty set (a no-op), but assembly syntax has no
        # spelling for it (GNU as refuses `fence ow,0` too), so the source is the word.
        src = invalid(word).source
    if not row.is_xnpu:
        reading = capstone_reading(word)
        base = row.base or row.mnemonic
        if reading is None or reading[0] not in (base, row.mnemonic):
            head += f"  # capstone reads: {reading[1] if reading else 'invalid'}"
    return Rendered(row.mnemonic, head, src, target)
