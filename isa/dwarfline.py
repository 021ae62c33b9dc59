"""DWARF for assembled programs: `.debug_line`, a minimal `.debug_info`, `.debug_abbrev`, `.debug_aranges`.

The ELF writer calls `build_dwarf` with the image's line rows; what comes back
is the contents of the four sections. DWARF 4 with 32-bit offsets: every
consumer we care about (pyelftools, GNU objdump/readelf, gdb) reads it, and it
needs no string-offset tables. Output depends only on the input rows, so
images are reproducible.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from isa.image import LineRow

VERSION = 4
PRODUCER = "npudbg isa.asm"
DW_LANG_MIPS_ASSEMBLER = 0x8001
INSN_SIZE = 4  # every instruction of the core is one 32-bit word (no C extension)

# Line program parameters. The minimum instruction length stays 1 so that a row
# for a data directive at an odd address still encodes; consecutive
# instructions (4 bytes, line +0..+8) fit a one-byte special opcode.
_MIN_INSN = 1
_LINE_BASE = -3
_LINE_RANGE = 12
_OPCODE_BASE = 13
_STD_LENGTHS = (0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1)

# Standard and extended opcodes, tags, attributes and forms (DWARF 4, section 7).
_LNS_COPY, _LNS_ADVANCE_PC, _LNS_ADVANCE_LINE, _LNS_SET_FILE, _LNS_SET_COLUMN = 1, 2, 3, 4, 5
_LNE_END_SEQUENCE, _LNE_SET_ADDRESS = 1, 2
_TAG_COMPILE_UNIT = 0x11
_AT_NAME, _AT_STMT_LIST, _AT_LOW_PC, _AT_HIGH_PC = 0x03, 0x10, 0x11, 0x12
_AT_LANGUAGE, _AT_COMP_DIR, _AT_PRODUCER = 0x13, 0x1B, 0x25
_FORM_ADDR, _FORM_DATA2, _FORM_DATA4, _FORM_STRING, _FORM_SEC_OFFSET = 0x01, 0x05, 0x06, 0x08, 0x17


@dataclass(frozen=True)
class DwarfSections:
    """Contents of the DWARF sections, by section name, in the order they are written."""

    sections: tuple[tuple[str, bytes], ...]


def uleb128(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def sleb128(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        done = (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40)
        out.append(byte | (0 if done else 0x80))
        if done:
            return bytes(out)


def _cstr(text: str) -> bytes:
    return text.encode("utf-8") + b"\0"


def sequences(rows: Sequence[LineRow]) -> list[list[LineRow]]:
    """Rows sorted by address and cut where the addresses stop being contiguous."""
    ordered = sorted(rows, key=lambda r: r.addr)
    runs: list[list[LineRow]] = []
    for row in ordered:
        if runs and row.addr <= runs[-1][-1].addr + INSN_SIZE:
            runs[-1].append(row)
        else:
            runs.append([row])
    return runs


def _file_table(rows: Sequence[LineRow], main: str | None) -> list[str]:
    """The main file first (it names the compile unit), then the others by first appearance."""
    files = list(dict.fromkeys(r.file for r in rows))
    if main in files:
        files.remove(main)
        files.insert(0, main)
    return files


def _line_program(runs: list[list[LineRow]], files: list[str]) -> bytes:
    index = {name: number for number, name in enumerate(files, start=1)}
    out = bytearray()
    for run in runs:
        out += b"\0" + uleb128(5) + bytes([_LNE_SET_ADDRESS]) + struct.pack("<I", run[0].addr)
        addr, line, file, col = run[0].addr, 1, 1, 0
        for row in run:
            if index[row.file] != file:
                file = index[row.file]
                out += bytes([_LNS_SET_FILE]) + uleb128(file)
            if row.col != col:
                col = row.col
                out += bytes([_LNS_SET_COLUMN]) + uleb128(col)
            out += _advance(row.addr - addr, row.line - line)
            addr, line = row.addr, row.line
        out += bytes([_LNS_ADVANCE_PC]) + uleb128((run[-1].addr + INSN_SIZE - addr) // _MIN_INSN)
        out += b"\0" + uleb128(1) + bytes([_LNE_END_SEQUENCE])
    return bytes(out)


def _advance(addr_delta: int, line_delta: int) -> bytes:
    """One row: a special opcode when the deltas fit, else explicit advances and copy."""
    steps = addr_delta // _MIN_INSN
    if _LINE_BASE <= line_delta < _LINE_BASE + _LINE_RANGE:
        opcode = (line_delta - _LINE_BASE) + _LINE_RANGE * steps + _OPCODE_BASE
        if opcode <= 255:
            return bytes([opcode])
    out = bytearray()
    if line_delta:
        out += bytes([_LNS_ADVANCE_LINE]) + sleb128(line_delta)
    if steps:
        out += bytes([_LNS_ADVANCE_PC]) + uleb128(steps)
    return bytes(out + bytes([_LNS_COPY]))


def debug_line(runs: list[list[LineRow]], files: list[str]) -> bytes:
    header = bytearray()
    header += bytes([_MIN_INSN, 1, 1, _LINE_BASE & 0xFF, _LINE_RANGE, _OPCODE_BASE])
    header += bytes(_STD_LENGTHS)
    header += b"\0"  # include_directories: none beyond the compilation directory
    for name in files:
        header += _cstr(name) + uleb128(0) + uleb128(0) + uleb128(0)
    header += b"\0"
    program = _line_program(runs, files)
    body = struct.pack("<HI", VERSION, len(header)) + bytes(header) + program
    return struct.pack("<I", len(body)) + body


def debug_abbrev() -> bytes:
    attrs = [(_AT_STMT_LIST, _FORM_SEC_OFFSET), (_AT_LOW_PC, _FORM_ADDR), (_AT_HIGH_PC, _FORM_DATA4),
             (_AT_NAME, _FORM_STRING), (_AT_COMP_DIR, _FORM_STRING), (_AT_PRODUCER, _FORM_STRING),
             (_AT_LANGUAGE, _FORM_DATA2)]
    out = bytearray(uleb128(1) + uleb128(_TAG_COMPILE_UNIT) + b"\0")  # code 1, no children
    for attr, form in attrs:
        out += uleb128(attr) + uleb128(form)
    return bytes(out + b"\0\0" + b"\0")


def debug_info(name: str, comp_dir: str, low: int, high: int) -> bytes:
    die = uleb128(1) + struct.pack("<III", 0, low, high - low)
    die += _cstr(name) + _cstr(comp_dir) + _cstr(PRODUCER) + struct.pack("<H", DW_LANG_MIPS_ASSEMBLER)
    body = struct.pack("<HIB", VERSION, 0, 4) + die
    return struct.pack("<I", len(body)) + body


def debug_aranges(runs: list[list[LineRow]]) -> bytes:
    body = bytearray(struct.pack("<HIBB", 2, 0, 4, 0))
    body += bytes(4)  # pad the 12-byte header to a multiple of twice the address size
    for run in runs:
        body += struct.pack("<II", run[0].addr, run[-1].addr + INSN_SIZE - run[0].addr)
    body += struct.pack("<II", 0, 0)
    return struct.pack("<I", len(body)) + bytes(body)


def build_dwarf(rows: Sequence[LineRow], comp_dir: str, main: str | None = None) -> DwarfSections | None:
    """The DWARF sections for `rows`, or None when the image has no line rows.

    `main` is the primary source file (the compile unit's name); without it, the
    file of the first row in address order."""
    if not rows:
        return None
    runs = sequences(rows)
    files = _file_table(runs[0] + [r for run in runs[1:] for r in run], main)
    low = runs[0][0].addr
    high = max(run[-1].addr for run in runs) + INSN_SIZE
    return DwarfSections((
        (".debug_line", debug_line(runs, files)),
        (".debug_info", debug_info(files[0], comp_dir, low, high)),
        (".debug_abbrev", debug_abbrev()),
        (".debug_aranges", debug_aranges(runs)),
    ))


