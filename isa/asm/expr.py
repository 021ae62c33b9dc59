"""Expressions: parsing to a small tree and evaluating with GNU as semantics.

Values are section-relative until layout is known (pass 1) and absolute after
(pass 2); the arithmetic rules for the two kinds follow GNU as: an address
plus or minus a constant is an address, the difference of two addresses in
one section is a constant. Arithmetic is 64-bit two's complement as in GNU as
on a 64-bit host; a comparison yields -1 for true, `&&`/`||`/`!` yield 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from isa.asm.diagnostics import LineError
from isa.asm.lexer import Token, tokenize

MODIFIERS = ("hi", "lo", "pcrel_hi", "pcrel_lo")
_BINARY = {
    "||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6, "<>": 6,
    "<": 7, "<=": 7, ">": 7, ">=": 7, "<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10, "/": 10, "%": 10,
}


class NotConstant(Exception):
    """Internal: the value is not known yet (a forward reference in pass 1)."""


@dataclass(frozen=True)
class Value:
    """A constant (section None) or an offset in a section."""

    section: str | None
    offset: int

    @property
    def absolute(self) -> bool:
        return self.section is None


@dataclass(frozen=True)
class Node:
    kind: str  # "num", "sym", "dot", "unary", "binary", "mod"
    pos: int
    value: int = 0
    name: str = ""  # symbol name, operator, or modifier name
    args: tuple[Node, ...] = ()

    def symbols(self) -> list[str]:
        found = [self.name] if self.kind == "sym" else []
        for a in self.args:
            found += a.symbols()
        return found

    def has_modifier(self, name: str) -> bool:
        return (self.kind == "mod" and self.name == name) or any(a.has_modifier(name) for a in self.args)


class Context(Protocol):
    def symbol(self, name: str, pos: int) -> Value: ...
    def dot(self) -> Value: ...
    def modifier(self, name: str, arg: Node, pos: int) -> int: ...


def wrap64(value: int) -> int:
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >> 63 else value


# ---------------------------------------------------------------- parsing


class _Parser:
    def __init__(self, tokens: list[Token], local: Callable[[str], str]) -> None:
        self.tokens, self.i, self.local = tokens, 0, local

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.peek()
        if tok.text != text or tok.kind != "op":
            raise LineError(f"expected '{text}'" + (f" before '{tok.text}'" if tok.text else ""), tok.pos)
        self.take()

    def expression(self, min_prec: int = 1) -> Node:
        left = self.unary()
        while True:
            tok = self.peek()
            if tok.kind == "mod":  # `a %lo` written without a space is `a % lo`
                op = "%"
            elif tok.kind == "op" and tok.text in _BINARY:
                op = tok.text
            else:
                return left
            prec = _BINARY[op]
            if prec < min_prec:
                return left
            self.take()
            if tok.kind == "mod":
                right: Node = Node("sym", tok.pos + 1, name=tok.text)
            else:
                right = self.expression(prec + 1)
            left = Node("binary", tok.pos, name=op, args=(left, right))

    def unary(self) -> Node:
        tok = self.take()
        if tok.kind == "num":
            return Node("num", tok.pos, value=tok.value)
        if tok.kind == "local":
            return Node("sym", tok.pos, name=self.local(tok.text))
        if tok.kind == "name":
            return Node("dot", tok.pos) if tok.text == "." else Node("sym", tok.pos, name=tok.text)
        if tok.kind == "mod":
            if tok.text not in MODIFIERS:
                raise LineError(f"unknown modifier '%{tok.text}' (one of %hi %lo %pcrel_hi %pcrel_lo)",
                                tok.pos)
            self.expect("(")
            arg = self.expression()
            self.expect(")")
            return Node("mod", tok.pos, name=tok.text, args=(arg,))
        if tok.kind == "op" and tok.text in ("-", "~", "!", "+"):
            return Node("unary", tok.pos, name=tok.text, args=(self.unary(),))
        if tok.kind == "op" and tok.text == "(":
            inner = self.expression()
            self.expect(")")
            return inner
        if tok.kind == "end":
            raise LineError("missing expression", tok.pos)
        raise LineError(f"unexpected '{tok.text}' in expression", tok.pos)


def parse(text: str, local: Callable[[str], str]) -> Node:
    """Parse `text`; `local` maps a `1b`/`1f` reference to a symbol name. LineError col = offset."""
    parser = _Parser(tokenize(text), local)
    node = parser.expression()
    tok = parser.peek()
    if tok.kind != "end":
        raise LineError(f"unexpected '{tok.text}' after expression", tok.pos)
    return node


# ---------------------------------------------------------------- evaluation


def evaluate(node: Node, ctx: Context) -> Value:
    """The value of `node`; raises NotConstant for unknown symbols, LineError for bad arithmetic."""
    kind = node.kind
    if kind == "num":
        return Value(None, wrap64(node.value))
    if kind == "sym":
        return ctx.symbol(node.name, node.pos)
    if kind == "dot":
        return ctx.dot()
    if kind == "mod":
        return Value(None, ctx.modifier(node.name, node.args[0], node.pos))
    if kind == "unary":
        v = evaluate(node.args[0], ctx)
        if node.name == "+":
            return v
        x = _absolute(v, node)
        result = {"-": -x, "~": ~x, "!": int(x == 0)}[node.name]
        return Value(None, wrap64(result))
    a = evaluate(node.args[0], ctx)
    b = evaluate(node.args[1], ctx)
    return _binary(node, a, b)


def _absolute(v: Value, node: Node) -> int:
    if not v.absolute:
        raise LineError(f"operator '{node.name}' needs a constant, not an address in {v.section}", node.pos)
    return v.offset


def _binary(node: Node, a: Value, b: Value) -> Value:
    op = node.name
    if op == "+":
        if not a.absolute and not b.absolute:
            raise LineError("cannot add two addresses", node.pos)
        return Value(a.section or b.section, wrap64(a.offset + b.offset))
    if op == "-":
        if b.absolute:
            return Value(a.section, wrap64(a.offset - b.offset))
        if a.section == b.section:
            return Value(None, wrap64(a.offset - b.offset))
        if a.absolute:
            raise LineError("cannot subtract an address from a constant", node.pos)
        raise LineError(f"cannot subtract addresses in different sections ({a.section}, {b.section})",
                        node.pos)
    if op in ("==", "!=", "<>", "<", "<=", ">", ">=") and a.section == b.section:
        x, y = a.offset, b.offset
        truth = {"==": x == y, "!=": x != y, "<>": x != y, "<": x < y, "<=": x <= y,
                 ">": x > y, ">=": x >= y}[op]
        return Value(None, -1 if truth else 0)
    x, y = _absolute(a, node), _absolute(b, node)
    if op in ("/", "%"):
        if y == 0:
            raise LineError("division by zero", node.pos)
        q = abs(x) // abs(y) * (1 if (x < 0) == (y < 0) else -1)
        return Value(None, wrap64(q if op == "/" else x - q * y))
    if op in ("<<", ">>"):
        if y < 0:
            raise LineError(f"negative shift count {y}", node.pos)
        if op == "<<":
            return Value(None, wrap64(x << y) if y < 64 else 0)
        return Value(None, x >> min(y, 63))
    result = {
        "*": lambda: x * y, "&": lambda: x & y, "|": lambda: x | y, "^": lambda: x ^ y,
        "&&": lambda: int(bool(x) and bool(y)), "||": lambda: int(bool(x) or bool(y)),
    }[op]()
    return Value(None, wrap64(result))


def hi20(value: int) -> int:
    """%hi: the upper 20 bits, rounded so that adding %lo gives `value` back."""
    return ((value + 0x800) >> 12) & 0xFFFFF


def lo12(value: int) -> int:
    """%lo: the low 12 bits as a signed number."""
    low = value & 0xFFF
    return low - 0x1000 if low & 0x800 else low
