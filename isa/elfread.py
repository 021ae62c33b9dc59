"""Reading firmware ELF files: the one reader the runner, the debugger and the driver use.

`load_elf` checks the header itself (so that a wrong file gets a one-line
reason) and reads the symbol table with struct (fast); segments, DWARF line rows
and the manifest note come from pyelftools, imported only when a file is loaded.
"""

from __future__ import annotations

import bisect
import io
import struct
from dataclasses import dataclass, field
from pathlib import Path

from isa import manifest as _manifest
from isa.errors import NpuError

EM_RISCV = 243
_MACHINES = {3: "x86", 8: "MIPS", 20: "PowerPC", 40: "ARM", 62: "x86-64", 183: "AArch64", 243: "RISC-V"}


class ElfError(NpuError):
    """A file is not a loadable RISC-V ELF32 image, or it is damaged.

    `reason` says which, for callers that react differently (the driver's loader):
    "not-elf", "wrong-arch", "truncated" (the file ends before its headers or a
    segment), "manifest" (the .note.npu note is malformed), "unreadable" (the
    path cannot be read), "malformed" (anything else), "image" (the writer was
    given an inconsistent image)."""

    REASONS = ("not-elf", "wrong-arch", "truncated", "manifest", "unreadable", "malformed", "image")

    def __init__(self, message: str, reason: str = "malformed") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Segment:
    """A loadable segment: `data` is its file bytes; memory beyond them up to `memsz` is zero."""

    addr: int
    memsz: int
    data: bytes
    flags: str  # "rwx" letters, "-" for absent, e.g. "r-x"

    @property
    def end(self) -> int:
        return self.addr + self.memsz


@dataclass(frozen=True)
class Symbol:
    name: str
    value: int
    size: int
    kind: str  # "func", "object", "notype", "section", "file"
    binding: str  # "local", "global", "weak"
    section: str | None  # None for absolute symbols


@dataclass(frozen=True)
class Line:
    """The instruction at `addr` came from `file:line` (file as the assembler named it)."""

    addr: int
    file: str
    line: int


@dataclass(frozen=True)
class SectionRange:
    name: str
    addr: int
    size: int
    flags: str  # letters "a", "w", "x"


@dataclass
class Program:
    """What a loader, debugger or driver needs of an ELF image, with the lookups they use."""

    entry: int
    segments: list[Segment]
    symbols: list[Symbol]
    lines: list[Line]
    manifest: _manifest.Manifest | None
    sections: list[SectionRange] = field(default_factory=list)
    # Half-open address ranges covered by line sequences (so a gap is not attributed).
    line_ranges: list[tuple[int, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._line_addrs = [row.addr for row in self.lines]
        labels = [s for s in self.symbols if s.kind in ("func", "object", "notype")
                  and s.section and not s.name.startswith("$")]  # $x/$d: GNU mapping symbols
        rank = {"global": 0, "weak": 1, "local": 2}
        # Preferred name at one address: global before local, sized before unsized, then by name.
        self._labels = sorted(labels, key=lambda s: (s.value, rank[s.binding], s.size == 0, s.name))
        self._label_addrs = [s.value for s in self._labels]

    def address_of(self, name: str) -> int | None:
        """The value of the symbol called `name` (a global one when several share it)."""
        found = [s for s in self.symbols if s.name == name and s.kind not in ("file", "section")]
        found.sort(key=lambda s: s.binding != "global")
        return found[0].value if found else None

    def section_at(self, addr: int) -> SectionRange | None:
        return next((s for s in self.sections if s.addr <= addr < s.addr + max(s.size, 1)), None)

    def symbol_at(self, addr: int) -> tuple[Symbol, int] | None:
        """The function or object containing `addr`, else the nearest label before it in
        the same section; with the offset of `addr` from it."""
        for sym in self._labels:
            if sym.size and sym.value <= addr < sym.value + sym.size and sym.kind != "notype":
                return sym, addr - sym.value
        i = bisect.bisect_right(self._label_addrs, addr)
        if i == 0:
            return None
        sym = self._labels[bisect.bisect_left(self._label_addrs, self._label_addrs[i - 1])]
        here = self.section_at(addr)
        if self.sections and (here is None or here.name != sym.section):
            return None  # outside every section, or in one without a label before addr
        return sym, addr - sym.value

    def labels_at(self, addr: int) -> list[Symbol]:
        """Symbols that start at `addr`, preferred name first."""
        lo = bisect.bisect_left(self._label_addrs, addr)
        hi = bisect.bisect_right(self._label_addrs, addr)
        return self._labels[lo:hi]

    def line_for(self, addr: int) -> Line | None:
        """The source line of the instruction at (or covering) `addr`."""
        if not any(lo <= addr < hi for lo, hi in self.line_ranges):
            return None
        i = bisect.bisect_right(self._line_addrs, addr)
        return self.lines[i - 1] if i else None

    def addresses_for(self, file: str, line: int) -> list[int]:
        """Addresses of the instructions from `file:line`; `file` may be a trailing part of the path."""
        want = file.replace("\\", "/")
        hits = {row.addr for row in self.lines
                if row.line == line and (row.file == want or row.file.endswith("/" + want))}
        return sorted(hits)


def _describe_header(data: bytes) -> None:
    """Raise ElfError with the reason when `data` is not a RISC-V ELF32 little-endian file."""
    if len(data) < 4 or data[:4] != b"\x7fELF":
        raise ElfError("not an ELF file (bad magic number)", "not-elf")
    if len(data) < 52:
        raise ElfError(f"truncated ELF file: {len(data)} bytes, shorter than an ELF header", "truncated")
    problems = []
    if data[4] != 1:
        problems.append("class is ELF64" if data[4] == 2 else f"class is {data[4]}")
    if data[5] != 1:
        problems.append("data is big-endian" if data[5] == 2 else f"data encoding is {data[5]}")
    machine = struct.unpack_from("<H" if data[5] != 2 else ">H", data, 18)[0]
    if machine != EM_RISCV:
        problems.append(f"machine is {_MACHINES.get(machine, f'e_machine {machine}')}")
    if problems:
        raise ElfError(f"not a RISC-V ELF32 little-endian file: {', '.join(problems)}", "wrong-arch")
    phoff, shoff = struct.unpack_from("<II", data, 28)
    phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", data, 42)
    if phoff + phentsize * phnum > len(data) or shoff + shentsize * shnum > len(data):
        raise ElfError(f"truncated ELF file: headers extend past its {len(data)} bytes", "truncated")


def _segments(elf, size: int) -> list[Segment]:
    out = []
    for i, seg in enumerate(elf.iter_segments()):
        if seg["p_type"] != "PT_LOAD":
            continue
        if seg["p_offset"] + seg["p_filesz"] > size:
            raise ElfError(f"segment {i} at 0x{seg['p_vaddr']:08x} lies outside the file "
                           f"(offset {seg['p_offset']} + {seg['p_filesz']} bytes > {size})", "truncated")
        if seg["p_filesz"] > seg["p_memsz"]:
            raise ElfError(f"segment {i} at 0x{seg['p_vaddr']:08x} has more file bytes than memory")
        f = seg["p_flags"]
        flags = ("r" if f & 4 else "-") + ("w" if f & 2 else "-") + ("x" if f & 1 else "-")
        out.append(Segment(seg["p_vaddr"], seg["p_memsz"], seg.data(), flags))
    return sorted(out, key=lambda s: s.addr)


_KIND_CODES = {0: "notype", 1: "object", 2: "func", 3: "section", 4: "file"}
_BINDING_CODES = {0: "local", 1: "global", 2: "weak"}
SHT_SYMTAB = 2
SHN_LORESERVE = 0xFF00  # st_shndx from here up is special (absolute, common, ...): no section


def _symbols(data: bytes) -> list[Symbol]:
    """`.symtab` read with struct (pyelftools builds an object per symbol: slow for the ~1000
    absolute `.equ` symbols of the generated includes). Bad offsets raise ElfError."""
    shoff = struct.unpack_from("<I", data, 32)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 46)
    if shoff == 0 or shnum == 0:
        return []
    if shentsize < 40 or shstrndx >= shnum:
        raise ElfError(f"malformed ELF file: section header entries of {shentsize} bytes, "
                       f"names in section {shstrndx} of {shnum}")
    headers = [struct.unpack_from("<10I", data, shoff + i * shentsize) for i in range(shnum)]

    def body(index: int, what: str) -> bytes:
        if index >= shnum:
            raise ElfError(f"malformed ELF file: {what} is section {index} of {shnum}")
        offset, size = headers[index][4], headers[index][5]
        if offset + size > len(data):
            raise ElfError(f"malformed ELF file: {what} (section {index}) lies outside the file", "truncated")
        return data[offset:offset + size]

    shstr = body(shstrndx, "the section name table")
    names = [_cstring(shstr, h[0]) for h in headers]
    symtab = next((i for i, h in enumerate(headers) if names[i] == ".symtab" and h[1] == SHT_SYMTAB), None)
    if symtab is None:
        return []
    entsize = headers[symtab][9] or 16
    if entsize < 16:
        raise ElfError(f"malformed ELF file: .symtab entries of {entsize} bytes")
    table, strings = body(symtab, ".symtab"), body(headers[symtab][6], "the .symtab string table")
    out = []
    for off in range(entsize, len(table) - 15, entsize):  # entry 0 is the null symbol
        name, value, size, info, _, shndx = struct.unpack_from("<IIIBBH", table, off)
        section = names[shndx] if 0 < shndx < min(shnum, SHN_LORESERVE) else None
        out.append(Symbol(_cstring(strings, name), value, size, _KIND_CODES.get(info & 0xF, "notype"),
                          _BINDING_CODES.get(info >> 4, "local"), section))
    return out


def _cstring(table: bytes, offset: int) -> str:
    end = table.find(b"\0", offset)
    return table[offset:end if end >= 0 else len(table)].decode("utf-8", "replace")


def _lines(elf) -> tuple[list[Line], list[tuple[int, int]]]:
    if not elf.has_dwarf_info():
        return [], []
    dwarf = elf.get_dwarf_info()
    rows: list[Line] = []
    ranges: list[tuple[int, int]] = []
    for cu in dwarf.iter_CUs():
        program = dwarf.line_program_for_CU(cu)
        if program is None:
            continue
        header = program.header
        version = header["version"]
        dirs = [d.decode("utf-8") if isinstance(d, bytes) else d for d in header["include_directory"]]
        files = []
        for entry in header["file_entry"]:
            name = entry.name.decode("utf-8") if isinstance(entry.name, bytes) else entry.name
            # Directory 0 is the compilation directory: names in it stay relative. Before
            # DWARF 5 it is implicit and the listed directories start at index 1.
            d = entry.dir_index if version >= 5 else entry.dir_index - 1
            inside = entry.dir_index > 0 and 0 <= d < len(dirs) and not name.startswith("/")
            files.append(f"{dirs[d]}/{name}" if inside else name)
        start = None
        for entry in program.get_entries():
            state = entry.state
            if state is None:
                continue
            if start is None:
                start = state.address
            if state.end_sequence:
                ranges.append((start, state.address))
                start = None
                continue
            index = state.file if version >= 5 else state.file - 1
            name = files[index] if 0 <= index < len(files) else f"<file {state.file}>"
            rows.append(Line(state.address, name, state.line))
    rows.sort(key=lambda r: r.addr)
    return rows, sorted(ranges)


def _manifest_of(elf) -> _manifest.Manifest | None:
    note = elf.get_section_by_name(_manifest.NOTE_SECTION)
    if note is None:
        return None
    data = note.data()
    if len(data) < 12:
        raise ElfError(f"{_manifest.NOTE_SECTION} is too short for a note", "manifest")
    namesz, descsz, kind = struct.unpack_from("<III", data)
    owner = data[12:12 + namesz].rstrip(b"\0")
    start = 12 + namesz + (-namesz % 4)
    if owner != _manifest.NOTE_OWNER.encode() or kind != _manifest.NT_NPU_MANIFEST:
        raise ElfError(f"{_manifest.NOTE_SECTION} holds a note of owner {owner!r} type {kind}, "
                       "not an NPU manifest", "manifest")
    if start + descsz > len(data):
        raise ElfError(f"{_manifest.NOTE_SECTION}: note runs past the end of its section", "manifest")
    try:
        return _manifest.decode_desc(data[start:start + descsz])
    except NpuError as exc:
        raise ElfError(str(exc), "manifest") from None


def load_elf(source: bytes | bytearray | str | Path) -> Program:
    """Read an ELF image from bytes or a path; raises ElfError with a one-line reason."""
    where = ""
    if isinstance(source, str | Path):
        where = f"{source}: "
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise ElfError(f"{where}cannot read: {exc.strerror}", "unreadable") from None
    else:
        data = bytes(source)
    try:
        return _parse(data)
    except ElfError as exc:
        raise ElfError(f"{where}{exc}", exc.reason) from None


def _parse(data: bytes) -> Program:
    _describe_header(data)
    from elftools.elf.elffile import ELFFile

    try:
        elf = ELFFile(io.BytesIO(data))
        segments = _segments(elf, len(data))
        sections = [SectionRange(s.name, s["sh_addr"], s["sh_size"], _section_letters(s["sh_flags"]))
                    for s in elf.iter_sections() if s["sh_flags"] & 2]
        symbols = _symbols(data)
        lines, ranges = _lines(elf)
        note = _manifest_of(elf)
    except ElfError:
        raise
    except Exception as exc:  # pyelftools raises many types on damaged input; all mean "malformed"
        raise ElfError(f"malformed ELF file: {type(exc).__name__}: {exc}") from None
    return Program(elf.header["e_entry"], segments, symbols, lines, note, sections, ranges)


def _section_letters(flags: int) -> str:
    return ("a" if flags & 2 else "") + ("w" if flags & 1 else "") + ("x" if flags & 4 else "")
