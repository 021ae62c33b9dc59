"""A whole ELF file as an objdump-style listing: executable sections, function headers, source lines."""

from __future__ import annotations

from pathlib import Path

from isa.disasm import disassemble
from isa.elfread import Program


def _bytes_at(program: Program, addr: int, size: int) -> bytes:
    """Memory contents of [addr, addr+size) as the segments load it (zero past file bytes)."""
    out = bytearray(size)
    for seg in program.segments:
        lo, hi = max(addr, seg.addr), min(addr + size, seg.addr + len(seg.data))
        if lo < hi:
            out[lo - addr:hi - addr] = seg.data[lo - seg.addr:hi - seg.addr]
    return bytes(out)


class _Sources:
    """Source text by file name, looked up next to the ELF file, then in the working directory."""

    def __init__(self, roots: list[Path]) -> None:
        self._roots = roots
        self._cache: dict[str, list[str] | None] = {}

    def line(self, file: str, number: int) -> str | None:
        if file not in self._cache:
            self._cache[file] = None
            for root in self._roots:
                try:
                    text = (root / file).read_text(encoding="utf-8", errors="replace")
                except OSError:
                    continue
                self._cache[file] = text.splitlines()
                break
        lines = self._cache[file]
        return lines[number - 1] if lines and 0 < number <= len(lines) else None


def listing(program: Program, name: str = "", source: bool = False,
            source_roots: list[Path] | None = None) -> str:
    """The disassembly of every executable section; with `source`, the source lines before
    the instructions they produced (text when the file is found, else `file:line`)."""
    sources = _Sources(source_roots or [Path.cwd()])
    out = [f"\n{name}:     file format elf32-littleriscv\n"] if name else []
    for sec in program.sections:
        if "x" not in sec.flags or not sec.size:
            continue
        out.append(f"\nDisassembly of section {sec.name}:")
        data = _bytes_at(program, sec.addr, sec.size)
        last = None
        for row in disassemble(data, sec.addr, program.symbols, program.lines):
            if row.labels:
                out.append(f"\n{row.addr:08x} <{row.labels[0]}>:")
            if source and row.line is not None and (row.line.file, row.line.line) != last:
                last = (row.line.file, row.line.line)
                text = sources.line(row.line.file, row.line.line)
                out.append(f"{row.line.file}:{row.line.line}" + (f"\t{text.strip()}" if text else ""))
            out.append(f"{row.addr:8x}:\t{row.bytes_.hex() if row.word is None else f'{row.word:08x}'}"
                       f"\t{row.text}")
    return "\n".join(out) + "\n"
