"""The one expression evaluator for every address and value argument.

C integer expressions as gdb reads them, over the target's state:
- numbers `42`, `0x2a`, `0b101`, `0o52`, characters `'a'`;
- CPU registers `$a0`, `$x10`, `$pc`, `$sp`, `$fp`, CSRs `$mstatus`; device registers and
  fields by display name `$QUEUE0.SQ_TAIL`, `$DMA.ERR_CAUSE.CAUSE` (read with peek: no
  side effects); value history `$`, `$$`, `$N`; convenience names given by the caller
  (`value` in a register watchpoint's condition);
- symbols `handle_nop` (their address: the firmware has no types), `&symbol` (the same);
- memory `*ADDR` (a 32-bit word), `*(char*)ADDR`, `*(short*)ADDR`, `*(int*)ADDR`,
  `{int}ADDR`, and casts `(char)x`, `(unsigned short)x`, `(int)x`;
- C operators with C precedence: unary `- ~ ! & *`, `* / %`, `+ -`, `<< >>`,
  `< <= > >=`, `== !=`, `&`, `^`, `|`, `&&`, `||`.
Values are Python ints; results print as 32-bit quantities. Errors are one line
naming the expression and the column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from debugger.errors import DebuggerError


class ExprError(DebuggerError):
    """An expression that does not parse or names something unknown."""


class Context(Protocol):
    def register_value(self, name: str) -> int: ...  # "$name" without the "$"; raises if unknown
    def symbol_value(self, name: str) -> int | None: ...
    def read_int(self, addr: int, size: int) -> int: ...
    def history_value(self, index: int | None, back: int) -> int: ...


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|\d[\d_]*)
  | (?P<char>'(?:\\.|[^\\'])')
  | (?P<reg>\$(?:[A-Za-z_][\w.\[\]]*|\$?\d*))
  | (?P<name>[A-Za-z_.][\w.]*)
  | (?P<op><<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^~!<>(){}])
""", re.VERBOSE)

_ESCAPES = {"n": 10, "t": 9, "r": 13, "0": 0, "\\": 92, "'": 39, '"': 34}
_TYPES = {"char": 1, "short": 2, "int": 4, "long": 4, "unsigned": 4, "signed": 4, "int8_t": 1, "uint8_t": 1,
          "int16_t": 2, "uint16_t": 2, "int32_t": 4, "uint32_t": 4, "void": 4}
_PRECEDENCE = [
    {"||"}, {"&&"}, {"|"}, {"^"}, {"&"}, {"==", "!="}, {"<", "<=", ">", ">="}, {"<<", ">>"}, {"+", "-"},
    {"*", "/", "%"},
]


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    col: int


def tokenize(text: str) -> list[Token]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ExprError(f"bad expression '{text}': unexpected '{text[pos]}' at column {pos + 1}")
        if m.lastgroup != "ws":
            out.append(Token(m.lastgroup or "", m.group(), pos + 1))
        pos = m.end()
    return out


def _to_signed(value: int, size: int) -> int:
    bits = 8 * size
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _cdiv(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


class Evaluator:
    """Parses and evaluates one expression against a `Context`."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def evaluate(self, text: str, names: dict[str, int] | None = None) -> int:
        text = text.strip()
        if not text:
            raise ExprError("an expression is required")
        self._text, self._names = text, names or {}
        self._toks, self._i = tokenize(text), 0
        self._pointee: tuple[int, bool] | None = None
        value = self._binary(0)
        if self._i < len(self._toks):
            t = self._toks[self._i]
            raise ExprError(f"bad expression '{text}': unexpected '{t.text}' at column {t.col}")
        return value

    # ------------------------------------------------------------ parser
    def _peek(self) -> Token | None:
        return self._toks[self._i] if self._i < len(self._toks) else None

    def _take(self, want: str | None = None) -> Token:
        t = self._peek()
        if t is None:
            raise ExprError(f"bad expression '{self._text}': it ends too early")
        if want is not None and t.text != want:
            raise ExprError(f"bad expression '{self._text}': expected '{want}' at column {t.col}")
        self._i += 1
        return t

    def _binary(self, level: int) -> int:
        if level == len(_PRECEDENCE):
            return self._unary()
        left = self._binary(level + 1)
        while (t := self._peek()) is not None and t.kind == "op" and t.text in _PRECEDENCE[level]:
            self._i += 1
            if t.text in ("&&", "||"):
                right = self._binary(level + 1)
                left = int(bool(left) and bool(right)) if t.text == "&&" else int(bool(left) or bool(right))
                continue
            right = self._binary(level + 1)
            left = self._apply(t, left, right)
        return left

    def _apply(self, t: Token, a: int, b: int) -> int:
        op = t.text
        if op in ("/", "%") and b == 0:
            raise ExprError(f"bad expression '{self._text}': division by zero at column {t.col}")
        return {
            "+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
            "/": lambda: _cdiv(a, b), "%": lambda: a - _cdiv(a, b) * b,
            "<<": lambda: a << (b & 63), ">>": lambda: a >> (b & 63),
            "<": lambda: int(a < b), "<=": lambda: int(a <= b), ">": lambda: int(a > b),
            ">=": lambda: int(a >= b), "==": lambda: int(a == b), "!=": lambda: int(a != b),
            "&": lambda: a & b, "^": lambda: a ^ b, "|": lambda: a | b,
        }[op]()

    def _cast(self) -> tuple[int, bool, bool] | None:
        """At '(' or '{': a type name like `unsigned short *` → (size, pointer, signed), else None."""
        start = self._i
        close = ")" if self._take().text == "(" else "}"
        words, stars = [], 0
        while (t := self._peek()) is not None and (t.kind == "name" or t.text == "*"):
            self._i += 1
            if t.text == "*":
                stars += 1
            else:
                words.append(t.text)
        t = self._peek()
        if not words or any(w not in _TYPES for w in words) or t is None or t.text != close:
            self._i = start
            return None
        self._i += 1
        size = min(_TYPES[w] for w in words if w not in ("unsigned", "signed")) if any(
            w not in ("unsigned", "signed") for w in words) else 4
        return size, stars > 0, "unsigned" not in words

    def _unary(self) -> int:
        t = self._peek()
        if t is None:
            raise ExprError(f"bad expression '{self._text}': it ends too early")
        if t.kind == "op" and t.text in "-~!+*&":
            self._i += 1
            if t.text == "*":
                self._pointee = None
                return self._deref(self._unary(), 4, True)
            if t.text == "&":
                name = self._peek()
                if name is None or name.kind != "name":
                    raise ExprError(f"bad expression '{self._text}': '&' needs a symbol at column {t.col}")
                return self._unary()
            value = self._unary()
            return {"-": -value, "~": ~value & 0xFFFFFFFF, "!": int(not value), "+": value}[t.text]
        if t.text in ("(", "{"):
            cast = self._cast()
            if cast is not None:
                size, pointer, signed = cast
                if t.text == "{":  # gdb's {type} ADDR: the object of that type at ADDR
                    return self._deref(self._unary(), size, signed)
                value = self._unary()
                if pointer:  # remembered for a `*` applied to this value
                    self._pointee = (size, signed)
                    return value & 0xFFFFFFFF
                return _to_signed(value, size) if signed else value & ((1 << (8 * size)) - 1)
            self._take("(")
            value = self._binary(0)
            self._take(")")
            return value
        return self._primary()

    def _deref(self, addr: int, size: int, signed: bool) -> int:
        if self._pointee is not None:
            size, signed = self._pointee
            self._pointee = None
        value = self.ctx.read_int(addr & 0xFFFFFFFF, size)
        return _to_signed(value, size) if signed and size < 4 else value

    def _primary(self) -> int:
        t = self._take()
        if t.kind == "num":
            digits = t.text.replace("_", "")
            if len(digits) > 1 and digits[0] == "0" and digits[1].isdigit():  # C octal: 010 == 8
                try:
                    return int(digits, 8)
                except ValueError:
                    raise ExprError(f"invalid number '{t.text}' in '{self._text}'") from None
            return int(digits, 0)
        if t.kind == "char":
            body = t.text[1:-1]
            return _ESCAPES.get(body[1], ord(body[1])) if body.startswith("\\") else ord(body)
        if t.kind == "reg":
            return self._register(t.text[1:], t)
        if t.kind == "name":
            if t.text in self._names:
                return self._names[t.text]
            value = self.ctx.symbol_value(t.text)
            if value is None:
                raise ExprError(f"no symbol \"{t.text}\" in the firmware image (in '{self._text}')")
            return value
        raise ExprError(f"bad expression '{self._text}': unexpected '{t.text}' at column {t.col}")

    def _register(self, name: str, t: Token) -> int:
        if name == "" or name == "$" or name.startswith("$") or name.isdigit():
            if name == "":
                return self.ctx.history_value(None, 0)
            if name.startswith("$"):
                rest = name[1:]
                return self.ctx.history_value(None, int(rest) if rest else 1)
            return self.ctx.history_value(int(name), 0)
        return self.ctx.register_value(name)


def is_expression(text: str) -> bool:
    """Whether `text` tokenizes as an expression (used to tell locations from expressions)."""
    try:
        tokenize(text)
    except ExprError:
        return False
    return True
