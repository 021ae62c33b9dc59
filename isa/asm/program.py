"""What pass 1 builds: sections of sized items, symbol definitions, statements.

Every item's size is fixed in pass 1, so layout can place sections before
pass 2 evaluates the expressions the items still hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from isa.asm.diagnostics import Loc
from isa.asm.expr import Node, Value
from isa.spec import Instruction


@dataclass(frozen=True)
class SourceLine:
    """A comment-free line; `expansion` is the macro/.rept use it came from, if any."""

    text: str
    loc: Loc  # col 1 of the physical line
    expansion: Loc | None = None


@dataclass(frozen=True)
class Stmt:
    """One `;`-separated statement of a line."""

    text: str
    line: SourceLine
    offset: int  # of `text` in the line

    def loc(self, offset: int = 0) -> Loc:
        """The location of character `offset` of this statement (the use site inside expansions)."""
        if self.line.expansion is not None:
            return self.line.expansion
        return self.line.loc.at(self.offset + offset + 1)


@dataclass(frozen=True)
class Expr:
    """A parsed expression with where it was written and the location counter there."""

    node: Node
    loc: Loc
    dot: Value
    in_expansion: bool = False  # loc is a macro/.rept use site: node positions do not apply to it


@dataclass
class Insn:
    """One 32-bit instruction word; field values are numbers or expressions."""

    row: Instruction
    fields: dict[str, int | Expr]
    loc: Loc
    offset: int
    size: int = 4


@dataclass
class Data:
    """`repeat` copies of each expression, `width` bytes each, little-endian."""

    width: int
    exprs: list[Expr]
    loc: Loc
    offset: int
    repeat: int = 1

    @property
    def size(self) -> int:
        return self.width * len(self.exprs) * self.repeat


@dataclass
class Blob:
    data: bytes
    loc: Loc
    offset: int

    @property
    def size(self) -> int:
        return len(self.data)


Item = Insn | Data | Blob


@dataclass
class SectionState:
    name: str
    flags: str
    nobits: bool
    items: list[Item] = field(default_factory=list)
    size: int = 0
    align: int = 1

    def add(self, item: Item) -> None:
        self.items.append(item)
        self.size += item.size


@dataclass
class SymbolDef:
    """A label (section + offset) or an assigned symbol (a value, or an expression for later)."""

    name: str
    kind: str  # "label" or "equ"
    loc: Loc
    value: Value | None = None
    expr: Expr | None = None
