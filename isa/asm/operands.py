"""Operand parsing against a row's syntax: registers, CSR/pipe/cfg names, fences, memory forms.

Registers and names resolve now; immediates and targets stay expressions for
pass 2. The column of every operand is kept so that errors point at it.
"""

from __future__ import annotations

import re
from functools import cache

from isa.asm.assembler import Assembler
from isa.asm.diagnostics import LineError
from isa.asm.program import Expr, Stmt
from isa.registers import register_table
from isa.spec import instruction_set

_FENCE_BITS = {"i": 8, "o": 4, "r": 2, "w": 1}
_MEM = re.compile(r"^([a-z_][a-z0-9_]*)\(([a-z_][a-z0-9_]*)\)$")


@cache
def syntax_parts(syntax: str) -> list[tuple[str, str | None]]:
    """`rd,imm_i(rs1)` -> [("rd", None), ("imm_i", "rs1")]."""
    parts: list[tuple[str, str | None]] = []
    for piece in syntax.split(",") if syntax else []:
        m = _MEM.match(piece)
        parts.append((m.group(1), m.group(2)) if m else (piece, None))
    return parts


@cache
def _gpr_numbers() -> dict[str, int]:
    table = register_table()
    names = {g.name: g.number for g in table.gprs} | {g.abi: g.number for g in table.gprs}
    return names | {"fp": table.gpr_number("fp") or 0}


def gpr_number(text: str) -> int | None:
    return _gpr_numbers().get(text.strip().lower())


def register(text: str, at: int) -> int:
    number = gpr_number(text)
    if number is None:
        raise LineError(f"bad register '{text}' (expected x0..x31, an ABI name or fp)", at)
    return number


def is_register(text: str) -> bool:
    return gpr_number(text) is not None


def split_memory(text: str) -> tuple[str, str] | None:
    """`off(reg)` -> ("off", "reg") when the last parenthesised group holds a register."""
    text = text.strip()
    if not text.endswith(")"):
        return None
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        if text[i] == ")":
            depth += 1
        elif text[i] == "(":
            depth -= 1
            if depth == 0:
                inner = text[i + 1:-1]
                return (text[:i].strip(), inner.strip()) if is_register(inner) else None
    return None


def _fence(text: str, at: int) -> int:
    letters = text.strip().lower()
    if not letters or set(letters) - set(_FENCE_BITS) or len(set(letters)) != len(letters):
        raise LineError(f"bad fence set '{text}' (letters from i, o, r, w)", at)
    order = "iorw"
    if list(letters) != sorted(letters, key=order.index):
        raise LineError(f"fence set '{text}' must list i, o, r, w in that order", at)
    return sum(_FENCE_BITS[c] for c in letters)


def _named(asm: Assembler, stmt: Stmt, kind: str, text: str, at: int) -> int | Expr:
    """A CSR, pipe or cfg operand: a name from its table, or a number (an expression)."""
    word = text.strip().lower()
    iset = instruction_set()
    if kind == "csr":
        number = register_table().csr_number(word)
    elif kind == "pipe":
        pipe = iset.pipe_by_name.get(word)
        number = pipe.id if pipe else None
    else:
        cfg = iset.cfg_by_name.get(word)
        number = cfg.index if cfg else None
    if number is not None:
        return number
    if re.fullmatch(r"[a-z_][a-z0-9_]*", word) and word not in asm.symbols:
        names = {"csr": "a CSR", "pipe": "a pipe", "cfg": "an npu.cfg register"}[kind]
        known = {"pipe": sorted(iset.pipe_by_name), "cfg": sorted(iset.cfg_by_name)}.get(kind)
        listing = f" (one of {', '.join(known)})" if known else ""
        raise LineError(f"'{text}' is not {names}{listing}", at)
    return asm.expr(stmt, text, at)


def field_value(asm: Assembler, stmt: Stmt, name: str, text: str, at: int) -> int | Expr:
    """The value of operand `text` for field `name`: a number now, or an expression for pass 2."""
    kind = instruction_set().fields[name].kind
    if not text:
        raise LineError(f"missing operand {name}", at)
    if kind == "reg":
        return register(text, at)
    if kind == "fence":
        return _fence(text, at)
    if kind in ("csr", "pipe", "cfg"):
        return _named(asm, stmt, kind, text, at)
    return asm.expr(stmt, text, at)


def parse_operands(asm: Assembler, stmt: Stmt, syntax: str, args: list[tuple[int, str]],
                   mnemonic: str) -> dict[str, int | Expr]:
    """Values for each field of `syntax` from operands `args` (offset, text); counts already match."""
    values: dict[str, int | Expr] = {}
    for (imm, base), (at, text) in zip(syntax_parts(syntax), args, strict=True):
        if base is None:
            values[imm] = field_value(asm, stmt, imm, text, at)
            continue
        mem = split_memory(text)
        if mem is None:
            if mnemonic == "jalr" and is_register(text):
                mem = ("0", text)
            else:
                raise LineError(f"expected offset(register) for {mnemonic}, got '{text}'", at)
        offset_text, reg = mem
        values[imm] = asm.expr(stmt, offset_text or "0", at)
        values[base] = register(reg, at + text.rfind("(") + 1)
    return values
