"""The image's symbol table and entry point, from labels, assignments, `.globl`, `.type`, `.size`.

Local labels (`.L*`, numeric labels, the assembler's own anchors) stay out of
the table, as GNU as leaves them out of an object file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from isa.asm.diagnostics import LineError
from isa.image import Symbol

if TYPE_CHECKING:
    from isa.asm.assembler import Assembler
    from isa.asm.emit import Linker


def build_symbols(asm: Assembler, linker: Linker) -> list[Symbol]:
    symbols: list[Symbol] = []
    for name, (_, loc) in {**asm.globals, **asm.types}.items():
        if name not in asm.symbols:
            asm.diag.error(loc, f"symbol '{name}' is never defined")
    for name, e in asm.sizes.items():
        if name not in asm.symbols:
            asm.diag.error(e.loc, f"symbol '{name}' is never defined")
    for name, sym in asm.symbols.items():
        if name.startswith(".L") or sym.loc.file == "<defsym>":
            continue
        try:
            value = linker.symbol_value(name, 0)
        except LineError as exc:
            if all(d.message != exc.message for d in asm.diag.items):
                asm.diag.error(sym.loc, exc.message)
            continue
        section = sym.value.section if sym.value is not None else None
        size = 0
        if name in asm.sizes:
            e = asm.sizes[name]
            try:
                size = linker.value(e)
            except LineError as exc:
                asm.diag.error(e.loc.at(e.loc.col + (exc.col or 0)), exc.message)
            if size < 0:
                asm.diag.error(e.loc, f"size of '{name}' is negative ({size})")
                size = 0
        kind = asm.types.get(name, ("notype", None))[0]
        binding = asm.globals.get(name, ("local", None))[0]
        symbols.append(Symbol(name, value & 0xFFFFFFFF, size, kind, binding, section))
    symbols.sort(key=lambda s: (s.binding != "local", s.value, s.name))
    return symbols


def entry_point(asm: Assembler, linker: Linker) -> int:
    """`.entry SYMBOL`, else `_start`, else the start of .text."""
    if asm.entry is not None:
        name, loc = asm.entry
        if name not in asm.symbols:
            asm.diag.error(loc, f"entry symbol '{name}' is never defined")
            return 0
        return linker.symbol_value(name, 0) & 0xFFFFFFFF
    if "_start" in asm.symbols:
        try:
            return linker.symbol_value("_start", 0) & 0xFFFFFFFF
        except LineError:
            return 0
    return linker.base.get(".text", 0)
