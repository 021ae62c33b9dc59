"""Source locations and the assembler's error type.

Every problem the assembler finds becomes a `Diagnostic` at a `Loc`; the
assembler collects them all and raises one `AsmError` at the end of a pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from isa.errors import NpuError


@dataclass(frozen=True)
class Loc:
    """A place in the source: file as named, 1-based line and column, the line's text."""

    file: str
    line: int
    col: int
    source: str = ""
    chain: tuple[str, ...] = ()  # "file:line" of each .include that led here, innermost first

    def at(self, col: int) -> Loc:
        return Loc(self.file, self.line, col, self.source, self.chain)


@dataclass(frozen=True)
class Diagnostic:
    loc: Loc
    message: str

    def __str__(self) -> str:
        loc = self.loc
        where = f"{loc.file}:{loc.line}:{loc.col}" if loc.line else loc.file
        head = f"{where}: error: {self.message}"
        lines = [head]
        if loc.source:
            lines.append(loc.source)
            lines.append(" " * max(loc.col - 1, 0) + "^")
        return "\n".join(lines)


class AsmError(NpuError):
    """The source has errors; carries every diagnostic of the file."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = list(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class LineError(Exception):
    """Internal: one statement's problem, turned into a Diagnostic by the assembler."""

    def __init__(self, message: str, col: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.col = col


@dataclass
class Diagnostics:
    """Collects problems so that one run reports all of them."""

    items: list[Diagnostic] = field(default_factory=list)
    limit: int = 200

    def error(self, loc: Loc, message: str) -> None:
        if len(self.items) < self.limit:
            self.items.append(Diagnostic(loc, message))
        elif len(self.items) == self.limit:
            self.items.append(Diagnostic(loc, f"too many errors; only the first {self.limit} are listed"))

    def raise_if_any(self) -> None:
        """Raise every problem, in source order within each file (files in order of first report)."""
        if self.items:
            files: dict[str, int] = {}
            for d in self.items:
                files.setdefault(d.loc.file, len(files))
            raise AsmError(sorted(self.items, key=lambda d: (files[d.loc.file], d.loc.line, d.loc.col)))
