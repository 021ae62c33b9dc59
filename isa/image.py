"""The object image: what the assembler produces and the ELF writer consumes.

A plain data model so that the assembler knows nothing of ELF and the ELF
writer nothing of assembly syntax.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Section:
    """A section placed at its final address (the assembler resolves layout)."""

    name: str  # ".text", ".data", ".rodata", ".bss", or another name
    addr: int
    data: bytearray  # contents; empty for .bss-like sections
    size: int  # memory size (equals len(data) unless nobits)
    flags: str  # ELF flags as letters: "a" alloc, "w" write, "x" exec
    nobits: bool = False  # True for .bss: occupies memory, not file bytes


@dataclass
class Symbol:
    name: str
    value: int
    size: int = 0
    kind: str = "notype"  # "func", "object", "notype", "section", "file"
    binding: str = "local"  # "local", "global", "weak"
    section: str | None = None  # None for absolute symbols (.equ)


@dataclass
class LineRow:
    """Instruction at `addr` came from `file:line:col` (file as the source named it)."""

    addr: int
    file: str
    line: int
    col: int = 0


@dataclass
class ObjectImage:
    sections: list[Section] = field(default_factory=list)
    symbols: list[Symbol] = field(default_factory=list)
    lines: list[LineRow] = field(default_factory=list)
    entry: int = 0
    # Firmware manifest entries (key -> value) asked for by the source; the ELF
    # writer stores them in a non-loadable note with the segments' SHA-256 added.
    manifest: dict[str, str] | None = None
    comp_dir: str = "."  # DWARF compilation directory (relative, for reproducible images)
