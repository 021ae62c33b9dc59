"""Pass 1: statements in, sized items and symbol definitions out.

Owns the assembler's state and the statement loop: labels, assignments,
conditionals, macro and `.rept` collection, includes, and dispatch to the
directive and instruction handlers. Every problem becomes a diagnostic and the
loop goes on, so one run reports all of a file's errors.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from isa.asm.diagnostics import Diagnostics, LineError, Loc
from isa.asm.expr import Context, Node, NotConstant, Value, evaluate, hi20, lo12, parse
from isa.asm.layout import rule_for
from isa.asm.lexer import unclosed_quote
from isa.asm.macros import Macro
from isa.asm.program import Expr, Item, SectionState, SourceLine, Stmt, SymbolDef
from isa.asm.source import source_lines

MAX_MACRO_DEPTH = 100
MAX_INCLUDE_DEPTH = 32
MAX_STATEMENTS = 500_000
_LABEL = re.compile(r"\s*([A-Za-z_.$][A-Za-z0-9_.$]*|\d+)\s*:(?!=)")
_ASSIGN = re.compile(r"\s*([A-Za-z_.$][A-Za-z0-9_.$]*)\s*=(?!=)")
_WORD = re.compile(r"\s*(\S+)")
_OPENERS = {".macro": "macro", ".rept": "rept", ".irp": "rept"}
_CLOSERS = {".endm": "macro", ".endr": "rept"}


class Abort(Exception):
    """Internal: stop processing (the expansion budget ran out)."""


@dataclass
class Cond:
    active: bool  # this branch is being assembled
    done: bool  # some branch of this .if has been taken
    outer: bool  # the enclosing code is being assembled
    loc: Loc
    seen_else: bool = False


@dataclass
class Collect:
    """A `.macro` or `.rept` body being read."""

    kind: str
    start: Stmt
    depth: int = 1
    body: list[Stmt] = field(default_factory=list)
    macro: Macro | None = None
    count: int = 0
    irp: tuple[str, list[str]] | None = None  # .irp: the parameter and its values


class Pass1Context(Context):
    """Symbols as known so far: labels are section-relative, forward references are NotConstant."""

    def __init__(self, asm: Assembler, dot: Value) -> None:
        self.asm, self._dot = asm, dot

    def symbol(self, name: str, pos: int) -> Value:
        sym = self.asm.symbols.get(name)
        if sym is None or sym.value is None:
            raise NotConstant(name)
        return sym.value

    def dot(self) -> Value:
        return self._dot

    def modifier(self, name: str, arg: Node, pos: int) -> int:
        value = evaluate(arg, self)
        if name in ("hi", "lo") and value.absolute:
            return hi20(value.offset) if name == "hi" else lo12(value.offset)
        raise NotConstant(f"%{name}")


class Assembler:
    """Pass-1 state of one assembly run; `emit.link` turns it into an image."""

    def __init__(self, *, include_dirs: Sequence[str] = (), defines: Mapping[str, int] = ()) -> None:
        self.include_dirs = list(include_dirs)
        self.paths: dict[str, str] = {}  # file as shown -> path to open (for .include)
        self.diag = Diagnostics()
        self.sections: dict[str, SectionState] = {}
        self.section_stack: list[str] = []
        self.section = self.switch_section(".text")
        self.previous = self.section
        self.symbols: dict[str, SymbolDef] = {}
        self.globals: dict[str, tuple[str, Loc]] = {}
        self.types: dict[str, tuple[str, Loc]] = {}
        self.sizes: dict[str, Expr] = {}
        self.manifest: dict[str, str] | None = None
        self.entry: tuple[str, Loc] | None = None
        self.macros: dict[str, Macro] = {}
        self.conds: list[Cond] = []
        self.collect: Collect | None = None
        self.local_counts: dict[str, int] = {}
        self.macro_depth = 0
        self.include_depth = 0
        self.macro_counter = 0
        self.statements = 0
        self.directive_name = ""  # the directive being run (one handler may serve several names)
        self.max_statements = MAX_STATEMENTS
        self.internal = 0
        for name, value in dict(defines).items():
            self.symbols[name] = SymbolDef(name, "equ", Loc("<defsym>", 0, 0), Value(None, int(value)))

    # ------------------------------------------------------------ state helpers

    def switch_section(self, name: str, flags: str | None = None, nobits: bool | None = None) -> SectionState:
        sec = self.sections.get(name)
        if sec is None:
            rule = rule_for(name)
            sec = SectionState(name, flags if flags is not None else rule.flags,
                               nobits if nobits is not None else rule.nobits)
            self.sections[name] = sec
        self.section = sec
        return sec

    def dot(self) -> Value:
        return Value(self.section.name, self.section.size)

    def emit(self, item: Item) -> None:
        self.section.add(item)

    def local_name(self, ref: str) -> str:
        """`1b` -> the last `1:` so far; `1f` -> the next one (the label named for it)."""
        number, direction = ref[:-1], ref[-1].lower()
        count = self.local_counts.get(number, 0)
        index = count - 1 if direction == "b" else count
        if index < 0:
            raise LineError(f"no local label {number}: before '{ref}'")
        return f".L{number}\x02{index}"

    def expr(self, stmt: Stmt, text: str, offset: int) -> Expr:
        """Parse an expression of `stmt` at `offset`; constants assigned so far are folded in."""
        try:
            node = parse(text, self.local_name)
        except LineError as exc:
            raise LineError(exc.message, offset + (exc.col or 0)) from None
        return Expr(self._fold(node), stmt.loc(offset), self.dot(), stmt.line.expansion is not None)

    def _fold(self, node: Node) -> Node:
        """Assigned symbols take the value they have here, as in GNU as (`.set i, i+1`)."""
        if node.kind == "sym":
            sym = self.symbols.get(node.name)
            if sym and sym.kind == "equ" and sym.value is not None and sym.value.absolute:
                return Node("num", node.pos, value=sym.value.offset)
            return node
        if node.args:
            return Node(node.kind, node.pos, node.value, node.name, tuple(self._fold(a) for a in node.args))
        return node

    def constant(self, stmt: Stmt, text: str, offset: int, what: str) -> int:
        """An expression that must be known now (pass 1), e.g. a `.space` size."""
        e = self.expr(stmt, text, offset)
        try:
            value = evaluate(e.node, Pass1Context(self, e.dot))
        except NotConstant as exc:
            name = exc.args[0]
            detail = (f"{name} of an address is only known after layout" if name.startswith("%")
                      else f"'{name}' is not defined before it")
            raise LineError(f"{what} must be a constant known at this point; {detail}", offset) from None
        except LineError as exc:
            raise LineError(exc.message, offset + (exc.col or 0)) from None
        if not value.absolute:
            raise LineError(f"{what} must be a constant, not an address", offset)
        return value.offset

    def try_value(self, e: Expr) -> Value | None:
        try:
            return evaluate(e.node, Pass1Context(self, e.dot))
        except (NotConstant, LineError):
            return None

    def define_label(self, name: str, loc: Loc) -> None:
        if name.isdigit():
            index = self.local_counts.get(name, 0)
            self.local_counts[name] = index + 1
            name = f".L{name}\x02{index}"
        old = self.symbols.get(name)
        if old is not None:
            where = f" (first at {old.loc.file}:{old.loc.line})" if old.loc.line else ""
            raise LineError(f"symbol '{name}' is already defined{where}")
        self.symbols[name] = SymbolDef(name, "label", loc, self.dot())

    def internal_label(self, loc: Loc) -> str:
        """A hidden label at the current location (the anchor %pcrel_lo refers to)."""
        self.internal += 1
        name = f".Lpcrel\x02{self.internal}"
        self.symbols[name] = SymbolDef(name, "label", loc, self.dot())
        return name

    def assign(self, stmt: Stmt, name: str, text: str, offset: int, redefine: bool = True) -> None:
        old = self.symbols.get(name)
        if old is not None and (old.kind == "label" or not redefine):
            raise LineError(f"symbol '{name}' is already defined (at {old.loc.file}:{old.loc.line})")
        e = self.expr(stmt, text, offset)
        value = self.try_value(e)
        self.symbols[name] = SymbolDef(name, "equ", stmt.loc(), value, None if value else e)

    def all_names(self) -> list[str]:
        from isa.asm.instructions import known_mnemonics
        return known_mnemonics() + list(self.macros)

    # ------------------------------------------------------------ the statement loop

    def run_text(self, text: str, name: str, chain: tuple[str, ...] = ()) -> None:
        lines, unclosed = source_lines(text, name, chain)
        self.run_lines(lines)
        if unclosed is not None:
            self.diag.error(unclosed, "unterminated /* comment")

    def run_lines(self, lines: list[SourceLine]) -> None:
        from isa.asm.lexer import split_statements
        for line in lines:
            for offset, text in split_statements(line.text):
                self.run_stmt(Stmt(text, line, offset))

    def run_stmt(self, stmt: Stmt) -> None:
        self.statements += 1
        if self.statements > self.max_statements:
            self.diag.error(stmt.loc(), f"more than {self.max_statements} statements after expansion; "
                            "is a .rept or macro expanding without end?")
            raise Abort
        try:
            quote = unclosed_quote(stmt.text)
            if quote is not None:
                raise LineError("unterminated string", quote)
            self.statement(stmt)
        except LineError as exc:
            self.diag.error(stmt.loc(exc.col or 0), exc.message)
        except RecursionError:
            self.diag.error(stmt.loc(), "statement nested too deeply")

    def statement(self, stmt: Stmt) -> None:
        if self.collect is not None:
            self._collect(stmt)
            return
        text, pos = stmt.text, 0
        if not self.active():
            word = _WORD.match(text)
            if word and word.group(1).lower() in _COND_DIRECTIVES:
                rest = text[word.end():]
                at = word.end() + len(rest) - len(rest.lstrip())
                self.conditional(stmt, word.group(1).lower(), rest.lstrip(), at)
            return
        while True:
            m = _LABEL.match(text, pos)
            if not m:
                break
            try:
                self.define_label(m.group(1), stmt.loc(m.start(1)))
            except LineError as exc:
                raise LineError(exc.message, m.start(1)) from None
            pos = m.end()
        m = _ASSIGN.match(text, pos)
        if m:
            self.assign(stmt, m.group(1), text[m.end():], m.end())
            return
        word = _WORD.match(text, pos)
        if not word or not word.group(1):
            return
        name, start = word.group(1), word.start(1)
        rest_at = word.end() + len(text[word.end():]) - len(text[word.end():].lstrip())
        operands = text[rest_at:]
        lowered = name.lower()
        if lowered in _COND_DIRECTIVES:
            self.conditional(stmt, lowered, operands, rest_at)
        elif name in self.macros:
            self.expand_macro(stmt, self.macros[name], operands, rest_at)
        elif name.startswith("."):
            from isa.asm.directives import run_directive
            run_directive(self, stmt, lowered, operands, rest_at, start)
        else:
            from isa.asm.instructions import run_instruction
            run_instruction(self, stmt, lowered, operands, rest_at, start)

    # ------------------------------------------------------------ conditionals

    def active(self) -> bool:
        return not self.conds or self.conds[-1].active

    def conditional(self, stmt: Stmt, name: str, operands: str, offset: int) -> None:
        if name.startswith(".if"):
            outer = self.active()
            try:
                truth = outer and self._condition(stmt, name, operands, offset)
            except LineError:
                self.conds.append(Cond(False, True, outer, stmt.loc()))  # keep the nesting
                raise
            self.conds.append(Cond(truth, truth, outer, stmt.loc()))
            return
        if not self.conds:
            raise LineError(f"{name} without .if")
        top = self.conds[-1]
        if name == ".endif":
            self.conds.pop()
        elif name == ".else":
            if top.seen_else:
                raise LineError(".else after .else")
            top.seen_else = True
            top.active = top.outer and not top.done
            top.done = True
        else:  # .elseif
            if top.seen_else:
                raise LineError(".elseif after .else")
            truth = top.outer and not top.done and self._condition(stmt, ".if", operands, offset)
            top.active = truth
            top.done = top.done or truth

    def _condition(self, stmt: Stmt, name: str, operands: str, offset: int) -> bool:
        arg = operands.strip()
        lead = offset + len(operands) - len(operands.lstrip())
        if name in (".ifdef", ".ifndef"):
            if not re.fullmatch(r"[A-Za-z_.$][A-Za-z0-9_.$]*", arg):
                raise LineError(f"{name} needs a symbol name", lead)
            defined = arg in self.symbols
            return defined if name == ".ifdef" else not defined
        if name in (".ifb", ".ifnb"):
            return (arg == "") == (name == ".ifb")
        if name in (".ifc", ".ifnc"):
            parts = arg.split(",", 1)
            same = len(parts) == 2 and parts[0].strip() == parts[1].strip()
            return same == (name == ".ifc")
        value = self.constant(stmt, operands, offset, f"the condition of {name}")
        return {".if": value != 0, ".ifeq": value == 0, ".ifne": value != 0, ".ifgt": value > 0,
                ".ifge": value >= 0, ".iflt": value < 0, ".ifle": value <= 0}.get(name, value != 0)

    # ------------------------------------------------------------ macros and .rept

    def begin_collect(self, collect: Collect) -> None:
        self.collect = collect

    def _collect(self, stmt: Stmt) -> None:
        collect = self.collect
        assert collect is not None
        word = _WORD.match(stmt.text)
        head = word.group(1).lower() if word else ""
        if head in _OPENERS and _OPENERS[head] == collect.kind:
            collect.depth += 1
        elif head in _CLOSERS and _CLOSERS[head] == collect.kind:
            collect.depth -= 1
            if collect.depth == 0:
                self.collect = None
                self._finish_collect(collect)
                return
        collect.body.append(stmt)

    def _finish_collect(self, collect: Collect) -> None:
        if collect.kind == "macro":
            assert collect.macro is not None
            collect.macro.body = collect.body
            self.macros[collect.macro.name] = collect.macro
            return
        from isa.asm.macros import substitute
        use = collect.start.loc()
        rounds: list[dict[str, str]] = [{}] * collect.count
        if collect.irp is not None:
            rounds = [{collect.irp[0]: v} for v in collect.irp[1]]
        for values in rounds:
            lines = [SourceLine(substitute(s.text, values, self.macro_counter) if values else s.text,
                                s.line.loc, s.line.expansion or use) for s in collect.body]
            self.run_lines(lines)

    def expand_macro(self, stmt: Stmt, macro: Macro, operands: str, offset: int) -> None:
        from isa.asm.macros import bind_arguments, substitute
        if self.macro_depth >= MAX_MACRO_DEPTH:
            raise LineError(f"macro recursion limit ({MAX_MACRO_DEPTH}) reached expanding {macro.name}")
        try:
            values = bind_arguments(macro, operands)
        except LineError as exc:
            raise LineError(exc.message, offset) from None
        counter = self.macro_counter
        self.macro_counter += 1
        use = stmt.loc()
        lines = [SourceLine(substitute(s.text, values, counter), s.line.loc, use) for s in macro.body]
        self.macro_depth += 1
        try:
            self.run_lines(lines)
        finally:
            self.macro_depth -= 1

    def finish(self) -> None:
        """End-of-input checks: unterminated blocks."""
        if self.collect is not None:
            what = {"macro": ".macro without .endm", "rept": ".rept without .endr"}[self.collect.kind]
            self.diag.error(self.collect.start.loc(), what)
            self.collect = None
        for cond in self.conds:
            self.diag.error(cond.loc, ".if without .endif")
        self.conds = []

    def suggest(self, name: str) -> str:
        close = difflib.get_close_matches(name, self.all_names(), n=1, cutoff=0.7)
        return f"; did you mean '{close[0]}'?" if close else ""


_COND_DIRECTIVES = {".if", ".ifdef", ".ifndef", ".ifeq", ".ifne", ".ifgt", ".ifge", ".iflt", ".ifle",
                    ".ifb", ".ifnb", ".ifc", ".ifnc", ".elseif", ".else", ".endif"}
