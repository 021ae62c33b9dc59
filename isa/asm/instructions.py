"""Instructions: choosing the table row, and the pseudo-instructions expanded in code.

A mnemonic's rows (base and aliases) are told apart by operand count. `li`,
`la`/`lla`, `call`, `tail` and loads/stores of a symbol may need two words and
are expanded here exactly as GNU as expands them (without relaxation).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

from isa.asm.assembler import Assembler
from isa.asm.diagnostics import LineError
from isa.asm.expr import Node, hi20, lo12
from isa.asm.lexer import split_operands
from isa.asm.operands import is_register, parse_operands, register, split_memory, syntax_parts
from isa.asm.program import Expr, Insn, Stmt
from isa.spec import Instruction, instruction_set

Args = list[tuple[int, str]]
RA, T1 = 1, 6
LOADS = ("lb", "lh", "lw", "lbu", "lhu")
STORES = ("sb", "sh", "sw")


def _row(mnemonic: str, count: int | None = None) -> Instruction:
    for row in instruction_set().by_mnemonic[mnemonic]:
        if (count is None and not row.is_alias) or count == len(syntax_parts(row.syntax)):
            return row
    raise KeyError(mnemonic)


def _emit(asm: Assembler, stmt: Stmt, start: int, row: Instruction, values: dict[str, int | Expr]) -> None:
    asm.emit(Insn(row, values, stmt.loc(start), asm.section.size))


def _modified(name: str, e: Expr) -> Expr:
    return Expr(Node("mod", e.node.pos, name=name, args=(e.node,)), e.loc, e.dot, e.in_expansion)


def _pcrel_pair(asm: Assembler, stmt: Stmt, start: int, target: Expr, hi_reg: int,
                second: Instruction, values: dict[str, int | Expr]) -> None:
    """auipc hi_reg, %pcrel_hi(target) then `second` with %pcrel_lo of the auipc in its immediate."""
    anchor = asm.internal_label(stmt.loc(start))
    _emit(asm, stmt, start, _row("auipc"), {"rd": hi_reg, "imm_u": _modified("pcrel_hi", target)})
    lo = Expr(Node("mod", target.node.pos, name="pcrel_lo", args=(Node("sym", 0, name=anchor),)),
              target.loc, target.dot, target.in_expansion)
    imm = "imm_s" if "imm_s" in second.operands else "imm_i"
    _emit(asm, stmt, start, second, {**values, imm: lo})


def _li(asm: Assembler, stmt: Stmt, args: Args, start: int) -> bool:
    if len(args) != 2:
        return False
    rd = register(args[0][1], args[0][0])
    value = asm.constant(stmt, args[1][1], args[1][0], "the value of li")
    if not -(1 << 31) <= value < 1 << 32:
        raise LineError(f"li value {value:#x} does not fit in 32 bits", args[1][0])
    v = value - (1 << 32) if value >= 1 << 31 else value
    if -2048 <= v < 2048:
        _emit(asm, stmt, start, _row("li", 2), {"rd": rd, "imm_i": v})
        return True
    _emit(asm, stmt, start, _row("lui"), {"rd": rd, "imm_u": hi20(v)})
    if lo12(v):
        _emit(asm, stmt, start, _row("addi"), {"rd": rd, "rs1": rd, "imm_i": lo12(v)})
    return True


def _la(asm: Assembler, stmt: Stmt, args: Args, start: int) -> bool:
    if len(args) != 2:
        raise LineError(f"la takes 2 operands (rd, symbol), got {len(args)}", start)
    rd = register(args[0][1], args[0][0])
    target = asm.expr(stmt, args[1][1], args[1][0])
    _pcrel_pair(asm, stmt, start, target, rd, _row("addi"), {"rd": rd, "rs1": rd})
    return True


def _call(tail: bool) -> Callable[[Assembler, Stmt, Args, int], bool]:
    def handler(asm: Assembler, stmt: Stmt, args: Args, start: int) -> bool:
        name = "tail" if tail else "call"
        if len(args) == 2 and not tail:
            (at, text), link, tmp = args[1], register(args[0][1], args[0][0]), T1
        elif len(args) == 1:
            at, text = args[0]
            link, tmp = (0, T1) if tail else (RA, RA)
        else:
            raise LineError(f"{name} takes {'1' if tail else '1 or 2'} operands, got {len(args)}", start)
        target = asm.expr(stmt, text, at)
        _pcrel_pair(asm, stmt, start, target, tmp, _row("jalr"), {"rd": link, "rs1": tmp})
        return True
    return handler


def _reject_bad_base(arg: tuple[int, str]) -> None:
    """`4(q1)` is a memory operand with a bad register, not a symbol to load from."""
    at, text = arg
    m = re.search(r"\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$", text)
    if m and not text.startswith("%") and not text[:m.start()].rstrip().endswith(("+", "-", "*", "/")):
        register(m.group(1), at + m.start(1))


def _load(mnemonic: str) -> Callable[[Assembler, Stmt, Args, int], bool]:
    def handler(asm: Assembler, stmt: Stmt, args: Args, start: int) -> bool:
        if len(args) != 2 or split_memory(args[1][1]) is not None:
            return False
        _reject_bad_base(args[1])
        rd = register(args[0][1], args[0][0])
        target = asm.expr(stmt, args[1][1], args[1][0])
        _pcrel_pair(asm, stmt, start, target, rd, _row(mnemonic), {"rd": rd, "rs1": rd})
        return True
    return handler


def _store(mnemonic: str) -> Callable[[Assembler, Stmt, Args, int], bool]:
    def handler(asm: Assembler, stmt: Stmt, args: Args, start: int) -> bool:
        if len(args) != 3:
            return False
        _reject_bad_base(args[1])
        rs = register(args[0][1], args[0][0])
        tmp = register(args[2][1], args[2][0])
        target = asm.expr(stmt, args[1][1], args[1][0])
        _pcrel_pair(asm, stmt, start, target, tmp, _row(mnemonic), {"rs2": rs, "rs1": tmp})
        return True
    return handler


def _jalr3(asm: Assembler, stmt: Stmt, args: Args, start: int) -> bool:
    """`jalr rd, rs1, imm` (GNU's third form) is the base row written differently."""
    if len(args) != 3:
        return False
    values: dict[str, int | Expr] = {"rd": register(args[0][1], args[0][0]),
                                     "rs1": register(args[1][1], args[1][0]),
                                     "imm_i": asm.expr(stmt, args[2][1], args[2][0])}
    _emit(asm, stmt, start, _row("jalr"), values)
    return True


PSEUDO: dict[str, Callable[[Assembler, Stmt, Args, int], bool]] = {
    "li": _li, "la": _la, "lla": _la, "call": _call(False), "tail": _call(True), "jalr": _jalr3,
    **{m: _load(m) for m in LOADS}, **{m: _store(m) for m in STORES},
}


@cache
def known_mnemonics() -> list[str]:
    return sorted(set(instruction_set().by_mnemonic) | set(PSEUDO))


def run_instruction(asm: Assembler, stmt: Stmt, mnemonic: str, operands: str, offset: int,
                    start: int) -> None:
    args = [(offset + off, text) for off, text in split_operands(operands)]
    for at, text in args:
        if not text:
            raise LineError("empty operand", at)
    if asm.section.nobits:
        raise LineError(f"instruction in section {asm.section.name}, which holds no data", start)
    pseudo = PSEUDO.get(mnemonic)
    if pseudo is not None and pseudo(asm, stmt, args, start):
        return
    rows = [r for r in instruction_set().by_mnemonic.get(mnemonic, ()) if r.use in ("both", "asm")]
    if not rows:
        raise LineError(f"unknown instruction '{mnemonic}'{asm.suggest(mnemonic)}", start)
    fitting = [r for r in rows if len(syntax_parts(r.syntax)) == len(args)]
    if not fitting:
        forms = " or ".join(f"'{mnemonic} {r.syntax}'".replace(" '", "'") if not r.syntax
                            else f"'{mnemonic} {r.syntax}'" for r in rows)
        raise LineError(f"wrong number of operands for {mnemonic}: got {len(args)}, expected {forms}", start)
    row = fitting[0]
    if mnemonic == "jalr" and len(args) == 1 and not is_register(args[0][1]):
        raise LineError(f"bad register '{args[0][1]}' for jalr", args[0][0])
    _emit(asm, stmt, start, row, parse_operands(asm, stmt, row.syntax, args, mnemonic))
