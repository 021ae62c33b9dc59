"""Directives: sections, symbols, data, alignment, includes, macros and the manifest.

Each handler is registered under its name(s) in `DIRECTIVES` and gets the
assembler, the statement, the operand text and its offset in the statement.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable

from isa.asm.assembler import MAX_INCLUDE_DEPTH, Assembler, Collect
from isa.asm.diagnostics import LineError
from isa.asm.expr import Value
from isa.asm.lexer import parse_string, split_operands
from isa.asm.macros import parse_header
from isa.asm.program import Blob, Data, Expr, Stmt

Handler = Callable[[Assembler, Stmt, str, int], None]
DIRECTIVES: dict[str, Handler] = {}
IGNORED = {".option", ".attribute", ".file", ".ident", ".loc", ".end", ".cfi_startproc", ".cfi_endproc",
           ".cfi_sections", ".addrsig", ".addrsig_sym", ".hidden", ".protected", ".internal"}
MAX_SPACE = 1 << 24
_SYMBOL = re.compile(r"^[A-Za-z_.$][A-Za-z0-9_.$]*$")


def directive(*names: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for name in names:
            DIRECTIVES[name] = fn
        return fn
    return register


def run_directive(asm: Assembler, stmt: Stmt, name: str, operands: str, offset: int, start: int) -> None:
    handler = DIRECTIVES.get(name)
    if handler is not None:
        asm.directive_name = name
        handler(asm, stmt, operands, offset)
    elif name in IGNORED or name.startswith(".cfi_"):
        return
    else:
        close = difflib.get_close_matches(name, list(DIRECTIVES), n=1, cutoff=0.7)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise LineError(f"unknown directive '{name}'{hint}", start)


def _args(operands: str, offset: int, count: tuple[int, int] | None = None,
          what: str = "") -> list[tuple[int, str]]:
    args = [(offset + off, text) for off, text in split_operands(operands)]
    if count is not None and not count[0] <= len(args) <= count[1]:
        want = str(count[0]) if count[0] == count[1] else f"{count[0]} to {count[1]}"
        raise LineError(f"{what} takes {want} operand{'s' if count[1] != 1 else ''}, got {len(args)}", offset)
    return args


def _symbol(text: str, at: int) -> str:
    if not _SYMBOL.match(text):
        raise LineError(f"expected a symbol name, got '{text}'", at)
    return text


# ---------------------------------------------------------------- sections


def _simple_section(name: str) -> Handler:
    def handler(asm: Assembler, stmt: Stmt, operands: str, offset: int) -> None:
        asm.previous = asm.section
        asm.switch_section(name)
    return handler


for _name in (".text", ".data", ".rodata", ".bss"):
    directive(_name)(_simple_section(_name))


@directive(".section", ".pushsection")
def _section(asm: Assembler, stmt: Stmt, operands: str, offset: int) -> None:
    args = _args(operands, offset)
    if not args or not args[0][1]:
        raise LineError(".section needs a name", offset)
    at, name = args[0]
    name = name.strip('"')
    if not re.match(r"^[A-Za-z_.$][A-Za-z0-9_.$]*$", name):
        raise LineError(f"bad section name '{name}'", at)
    flags = nobits = None
    if len(args) > 1:
        flags = parse_string(args[1][1]).decode("latin-1") if args[1][1].startswith('"') else args[1][1]
        if set(flags) - set("awxMSGT?"):
            raise LineError(f"unknown section flags '{flags}' (use a, w, x)", args[1][0])
        flags = "".join(c for c in flags if c in "awx")
    if len(args) > 2:
        kind = args[2][1].lstrip("@%")
        if kind not in ("progbits", "nobits", "note"):
            raise LineError(f"unknown section type '{args[2][1]}' (@progbits or @nobits)", args[2][0])
        nobits = kind == "nobits"
    if asm.directive_name == ".pushsection":
        asm.section_stack.append(asm.section.name)
    asm.previous = asm.section
    asm.switch_section(name, flags, nobits)


@directive(".popsection")
def _popsection(asm: Assembler, stmt: Stmt, operands: str, offset: int) -> None:
    if not asm.section_stack:
        raise LineError(".popsection without .pushsection")
    asm.previous = asm.section
    asm.switch_section(asm.section_stack.pop())


@directive(".previous")
def _previous(asm: Assembler, stmt: Stmt, operands: str, offset: int) -> None:
    asm.previous, asm.section = asm.section, asm.previous


# ---------------------------------------------------------------- symbols


@directive(".globl", ".global", ".local", ".weak")
def _binding(asm: Assembler, stmt: Stmt, operands: str, offset: int) -> None:
    binding = {"globl": "global", "global": "global", "local": "local", "weak": "weak"}
    kind = binding[asm.directive_name.lstrip(".")]
    args = _args(operands, offset)
    if not args:
        raise LineError("expected a symbol name", offset)
    for at, text in args:
        asm.globals[_symbol(text, at)] = (kind, stmt.loc(at))


@directive(".type")
def _type(asm: Assembler, stmt: Stmt, operands: str, offset: int) -> None:
    args = _args(operands, offset, (2, 2), ".type")
    name = _symbol(args[0][1], args[0][0])
    kind = args[1][1].lstrip("@%#").lower()
    kinds = {"function": "func", "object": "object", "notype": "notype",
             "stt_func": "func", "stt_object": "object", "stt_notype": "notype"}
    if kind not in kinds:
        raise LineError(f"unknown symbol type '{args[1][1]}' (@function or @object)", args[1][0])
    asm.types[name] = (kinds[kind], stmt.loc(args[0][0]))


@directive(".size")
def _size(asm: Assembler, stmt: Stmt, operands: str, offset: int) -> None:
    args = _args(operands, offset, (2, 2), ".size")
    name = _symbol(args[0][1], args[0][0])
    asm.sizes[name] = asm.expr(stmt, args[1][1], args[1][0])


@directive(".equ", ".set", ".equiv")
def _equ(asm: Assembler, stmt: Stmt, operands: str, offset: int) -> None:
    args = _args(operands, offset)
    if len(args) != 2:
        raise LineError(f"expected: NAME, expression (got {len(args)} operands)", offset)
    name = _symbol(args[0][1], args[0][0])
    redefine = asm.directive_name != ".equiv"
    asm.assign(stmt, name, args[1][1], args[1][0], redefine)


@directive(".entry")
def _entry(asm: Assembler, stmt: Stmt, operands: str, offset: int) -> None:
    args = _args(operands, offset, (1, 1), ".entry")
    asm.entry = (_symbol(args[0][1], args[0][0]), stmt.loc(args[0][0]))


@directive(".manifest")
def _manifest(asm: Assembler, stmt: Stmt, operands: str, offset: int) -> None:
    args = _args(operands, offset, (2, 2), ".manifest")
    (kat, key), (vat, value) = args
    if key.startswith('"'):
        key = parse_string(key).decode("utf-8", "replace")
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_.-]*$", key):
        raise LineError(f"bad manifest key '{key}'", kat)
    try:
        text = parse_string(value).decode("utf-8")
    except LineError as exc:
        raise LineError(exc.message, vat) from None
    except UnicodeDecodeError:
        raise LineError("manifest value is not UTF-8", vat) from None
    manifest = asm.manifest if asm.manifest is not None else {}
    if key in manifest:
        raise LineError(f"manifest key '{key}' given twice", kat)
    manifest[key] = text
    asm.manifest = manifest


# ---------------------------------------------------------------- data


def _data(width: int) -> Handler:
    def handler(asm: Assembler, stmt: Stmt, operands: str, offset: int) -> None:
        args = _args(operands, offset)
        if not args:
            raise LineError("expected at least one value", offset)
        exprs = []
        for i, (at, text) in enumerate(args):
            e = asm.expr(stmt, text, at)  # `.` is the address of this value, as in GNU as
            exprs.append(Expr(e.node, e.loc, Value(e.dot.section, e.dot.offset + i * width), e.in_expansion))
        asm.emit(Data(width, exprs, stmt.loc(), asm.section.size))
    return handler


for _names, _width in (((".byte",), 1), ((".half", ".2byte", ".short"), 2),
                       ((".word", ".4byte", ".long", ".int"), 4), ((".8byte", ".quad", ".dword"), 8)):
    directive(*_names)(_data(_width))


def _strings(zero: bool) -> Handler:
    def handler(asm: Assembler, stmt: Stmt, operands: str, offset: int) -> None:
        args = _args(operands, offset)
        if not args:
            raise LineError("expected a string", offset)
        for at, text in args:
            try:
                data = parse_string(text)
            except LineError as exc:
                raise LineError(exc.message, at) from None
            asm.emit(Blob(data + (b"\0" if zero else b""), stmt.loc(at), asm.section.size))
    return handler


directive(".ascii")(_strings(False))
directive(".asciz", ".string")(_strings(True))


def _count(asm: Assembler, stmt: Stmt, text: str, at: int, what: str, limit: int = MAX_SPACE) -> int:
    value = asm.constant(stmt, text, at, what)
    if not 0 <= value <= limit:
        raise LineError(f"{what} {value} is out of range (0..{limit})", at)
    return value


@directive(".zero", ".space", ".skip")
def _space(asm: Assembler, stmt: Stmt, operands: str, offset: int) -> None:
    args = _args(operands, offset, (1, 2), ".space")
    size = _count(asm, stmt, args[0][1], args[0][0], "size")
    fill = asm.constant(stmt, args[1][1], args[1][0], "fill value") & 0xFF if len(args) > 1 else 0
    asm.emit(Blob(bytes([fill]) * size, stmt.loc(), asm.section.size))


@directive(".fill")
def _fill(asm: Assembler, stmt: Stmt, operands: str, offset: int) -> None:
    args = _args(operands, offset, (1, 3), ".fill")
    repeat = _count(asm, stmt, args[0][1], args[0][0], "repeat count")
    size = _count(asm, stmt, args[1][1], args[1][0], "size", 8) if len(args) > 1 else 1
    value = asm.expr(stmt, args[2][1], args[2][0]) if len(args) > 2 else asm.expr(stmt, "0", offset)
    if size and repeat * size > MAX_SPACE:
        raise LineError(f".fill of {repeat * size} bytes is too large", offset)
    if size:
        asm.emit(Data(size, [value], stmt.loc(), asm.section.size, repeat))


# ---------------------------------------------------------------- alignment and .org


def _align(kind: str) -> Handler:
    def handler(asm: Assembler, stmt: Stmt, operands: str, offset: int) -> None:
        args = _args(operands, offset, (1, 3), kind)
        n = asm.constant(stmt, args[0][1], args[0][0], "alignment")
        if kind == "balign":
            if n <= 0 or n & (n - 1) or n > 1 << 16:
                raise LineError(f"alignment {n} is not a power of two up to 65536", args[0][0])
            align = n
        else:
            if not 0 <= n <= 16:
                raise LineError(f"alignment 2**{n} is out of range (0..16)", args[0][0])
            align = 1 << n
        fill = None
        if len(args) > 1 and args[1][1]:
            fill = asm.constant(stmt, args[1][1], args[1][0], "fill value") & 0xFF
        limit = asm.constant(stmt, args[2][1], args[2][0], "max skip") if len(args) > 2 else None
        pad = -asm.section.size % align
        if limit is not None and pad > limit:
            return
        asm.section.align = max(asm.section.align, align)
        if pad:
            asm.emit(Blob(_padding(pad, fill, "x" in asm.section.flags), stmt.loc(), asm.section.size))
    return handler


def _padding(pad: int, fill: int | None, code: bool) -> bytes:
    """Alignment bytes: the fill byte, or in code (as GNU as does) zeros, a 2-byte c.nop, then nops."""
    if fill is not None or not code:
        return bytes([fill or 0]) * pad
    head = pad % 4
    out = b"\0" * (head % 2) + (b"\x01\x00" if head >= 2 else b"")
    return out + b"\x13\x00\x00\x00" * (pad // 4)


directive(".align", ".p2align")(_align("p2align"))
directive(".balign")(_align("balign"))


@directive(".org")
def _org(asm: Assembler, stmt: Stmt, operands: str, offset: int) -> None:
    args = _args(operands, offset, (1, 2), ".org")
    e = asm.expr(stmt, args[0][1], args[0][0])
    value = asm.try_value(e)
    if value is None or value.section not in (None, asm.section.name):
        raise LineError(".org needs a constant or an address in this section, known at this point",
                        args[0][0])
    target = value.offset
    here = asm.section.size
    if target < here:
        raise LineError(f".org cannot move backwards (from {here:#x} to {target:#x})", args[0][0])
    if target - here > MAX_SPACE:
        raise LineError(f".org moves {target - here} bytes ahead, too far", args[0][0])
    fill = asm.constant(stmt, args[1][1], args[1][0], "fill value") & 0xFF if len(args) > 1 else 0
    asm.emit(Blob(bytes([fill]) * (target - here), stmt.loc(), here))


# ---------------------------------------------------------------- include, macro, rept


@directive(".include")
def _include(asm: Assembler, stmt: Stmt, operands: str, offset: int) -> None:
    from isa.asm.source import display_name, find_include
    args = _args(operands, offset, (1, 1), ".include")
    name = parse_string(args[0][1]).decode("utf-8", "replace")
    including = stmt.line.loc
    path, searched = find_include(name, asm.paths.get(including.file), asm.include_dirs)
    chain_here = f"{including.file}:{including.line}"
    if path is None:
        chain = "".join(f", included from {c}" for c in including.chain)
        raise LineError(f"include file '{name}' not found (searched {', '.join(searched)}){chain}",
                        args[0][0])
    if asm.include_depth >= MAX_INCLUDE_DEPTH:
        raise LineError(f"includes nested more than {MAX_INCLUDE_DEPTH} deep (is '{name}' including itself?)",
                        args[0][0])
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise LineError(f"cannot read include file '{path}': {exc}", args[0][0]) from None
    shown = display_name(path)
    asm.paths[shown] = path
    asm.include_depth += 1
    try:
        asm.run_text(text, shown, (chain_here, *including.chain))
    finally:
        asm.include_depth -= 1


@directive(".macro")
def _macro(asm: Assembler, stmt: Stmt, operands: str, offset: int) -> None:
    macro = parse_header(operands)
    if macro is None:
        raise LineError(".macro needs a name", offset)
    if macro.name in asm.macros:
        raise LineError(f"macro {macro.name} is already defined", offset)
    macro.loc = stmt.loc()
    asm.begin_collect(Collect("macro", stmt, macro=macro))


@directive(".rept")
def _rept(asm: Assembler, stmt: Stmt, operands: str, offset: int) -> None:
    args = _args(operands, offset, (1, 1), ".rept")
    count = _count(asm, stmt, args[0][1], args[0][0], ".rept count", 1 << 20)
    asm.begin_collect(Collect("rept", stmt, count=count))


@directive(".irp")
def _irp(asm: Assembler, stmt: Stmt, operands: str, offset: int) -> None:
    args = _args(operands, offset)
    if not args or not re.match(r"^[A-Za-z_.$][A-Za-z0-9_.$]*$", args[0][1]):
        raise LineError(".irp needs a parameter name, then values", offset)
    asm.begin_collect(Collect("rept", stmt, irp=(args[0][1], [text for _, text in args[1:]])))


@directive(".endm", ".endr", ".exitm")
def _stray_end(asm: Assembler, stmt: Stmt, operands: str, offset: int) -> None:
    word = asm.directive_name
    opener = {".endm": ".macro", ".endr": ".rept", ".exitm": ".macro"}[word]
    raise LineError(f"{word} without {opener}")


@directive(".purgem")
def _purgem(asm: Assembler, stmt: Stmt, operands: str, offset: int) -> None:
    name = operands.strip()
    if asm.macros.pop(name, None) is None:
        raise LineError(f"no macro named '{name}'", offset)


@directive(".error")
def _error(asm: Assembler, stmt: Stmt, operands: str, offset: int) -> None:
    text = operands.strip()
    raise LineError(parse_string(text).decode("utf-8", "replace") if text else ".error directive", offset)
