"""`.macro` definitions and their expansion: parameters, defaults, `\\arg`, `\\@`, `\\()`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from isa.asm.diagnostics import LineError, Loc
from isa.asm.lexer import split_operands
from isa.asm.program import Stmt

_NAME = re.compile(r"^[A-Za-z_.$][A-Za-z0-9_.$]*$")


@dataclass
class Macro:
    name: str
    params: list[tuple[str, str | None]]  # (name, default)
    loc: Loc
    body: list[Stmt] = field(default_factory=list)
    vararg: bool = False


def parse_header(text: str) -> Macro | None:
    """`NAME a, b=1` or `NAME a b` (the operand text of `.macro`); None when NAME is missing."""
    parts = text.strip().replace(",", " , ").split()
    if not parts or not _NAME.match(parts[0]):
        return None
    name, params, vararg = parts[0], [], False
    for piece in " ".join(parts[1:]).replace(" , ", ",").replace(" ,", ",").split(","):
        for word in piece.split():
            if "=" in word:
                pname, default = word.split("=", 1)
            else:
                pname, default = word, None
            if pname.endswith(":req"):
                pname = pname[:-4]
            elif pname.endswith(":vararg"):
                pname, vararg = pname[:-7], True
            if not _NAME.match(pname):
                raise LineError(f"bad macro parameter name '{pname}'")
            params.append((pname, default))
    names = [p for p, _ in params]
    if len(set(names)) != len(names):
        raise LineError(f"macro {name} names a parameter twice")
    return Macro(name, params, Loc("", 0, 0), vararg=vararg)


def bind_arguments(macro: Macro, text: str) -> dict[str, str]:
    """Actual arguments by parameter name: positional, `name=value`, or blank for the default."""
    args = [a for _, a in split_operands(text)]
    if len(args) == 1 and len(macro.params) > 1 and " " in args[0].strip():
        args = args[0].split()
    values: dict[str, str] = {}
    position = 0
    for i, arg in enumerate(args):
        m = re.match(r"^([A-Za-z_.$][A-Za-z0-9_.$]*)\s*=(?!=)\s*(.*)$", arg)
        if m and any(p == m.group(1) for p, _ in macro.params):
            values[m.group(1)] = m.group(2)
            continue
        if position >= len(macro.params):
            raise LineError(f"too many arguments for macro {macro.name} "
                            f"(it takes {len(macro.params)})")
        pname = macro.params[position][0]
        if macro.vararg and position == len(macro.params) - 1:
            values[pname] = ", ".join(args[i:])
            break
        values[pname] = arg
        position += 1
    for pname, default in macro.params:
        if not values.get(pname):
            values[pname] = default or values.get(pname, "")
    return values


def substitute(text: str, values: dict[str, str], counter: int) -> str:
    """Replace `\\name`, `\\@` and `\\()` in one body statement."""
    def repl(m: re.Match[str]) -> str:
        word = m.group(1)
        if word == "@":
            return str(counter)
        if word == "()":
            return ""
        if word in values:
            return values[word]
        return m.group(0)

    return re.sub(r"\\(@|\(\)|[A-Za-z_.$][A-Za-z0-9_.$]*)", repl, text)
