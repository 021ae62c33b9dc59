"""Writing an `ObjectImage` as an ELF32 little-endian RISC-V executable.

Layout: ELF header, program headers, the allocated sections' bytes (each at a
file offset congruent to its address modulo 4), then the non-loadable parts
(manifest note, DWARF, symbol and string tables) and the section headers.
Nothing depends on the clock or the host, so one image gives one file.
"""

from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass, field

from isa import dwarfline, manifest
from isa.elfread import ElfError, Segment
from isa.image import ObjectImage, Section, Symbol

EM_RISCV = 243
ET_EXEC = 2
EF_RISCV_FLOAT_ABI_SOFT = 0  # ilp32, soft-float
PT_LOAD = 1
PF_X, PF_W, PF_R = 1, 2, 4
SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_NOTE, SHT_NOBITS = 1, 2, 3, 7, 8
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 1, 2, 4
SHN_ABS = 0xFFF1
SEGMENT_ALIGN = 4
_EHDR = struct.Struct("<16sHHIIIIIHHHHHH")
_PHDR = struct.Struct("<IIIIIIII")
_SHDR = struct.Struct("<IIIIIIIIII")
_SYM = struct.Struct("<IIIBBH")
_KINDS = {"notype": 0, "object": 1, "func": 2, "section": 3, "file": 4}
_BINDINGS = {"local": 0, "global": 1, "weak": 2}


@dataclass
class _Shdr:
    name: str
    type: int
    flags: int = 0
    addr: int = 0
    offset: int = 0
    size: int = 0
    link: int = 0
    info: int = 0
    align: int = 1
    entsize: int = 0


@dataclass
class _StrTab:
    data: bytearray = field(default_factory=lambda: bytearray(b"\0"))
    index: dict[str, int] = field(default_factory=dict)

    def add(self, text: str) -> int:
        if not text:
            return 0
        if text not in self.index:
            self.index[text] = len(self.data)
            self.data += text.encode("utf-8") + b"\0"
        return self.index[text]


def _section_flags(flags: str) -> int:
    return ((SHF_ALLOC if "a" in flags else 0) | (SHF_WRITE if "w" in flags else 0)
            | (SHF_EXECINSTR if "x" in flags else 0))


def _segment_flags(flags: str) -> int:
    return PF_R | (PF_W if "w" in flags else 0) | (PF_X if "x" in flags else 0)


def _group(sections: list[Section]) -> list[list[Section]]:
    """Allocated, non-empty sections in address order, grouped into segments.

    Neighbours share a segment when they are contiguous in memory, have the same
    permissions, and the earlier one has file bytes (a .bss may only end one).
    """
    alloc = sorted((s for s in sections if "a" in s.flags and s.size), key=lambda s: s.addr)
    groups: list[list[Section]] = []
    for sec in alloc:
        prev = groups[-1][-1] if groups else None
        if (prev is not None and prev.addr + prev.size == sec.addr and prev.flags == sec.flags
                and not prev.nobits):
            groups[-1].append(sec)
        else:
            groups.append([sec])
    for a, b in itertools.pairwise(alloc):
        if a.addr + a.size > b.addr:
            raise ElfError(f"sections {a.name} and {b.name} overlap at 0x{b.addr:08x}", "image")
    return groups


def _segment(group: list[Section]) -> Segment:
    data = b"".join(bytes(s.data) for s in group if not s.nobits)
    memsz = group[-1].addr + group[-1].size - group[0].addr
    flags = "r" + ("w" if "w" in group[0].flags else "-") + ("x" if "x" in group[0].flags else "-")
    return Segment(group[0].addr, memsz, data, flags)


def _symtab(symbols: list[Symbol], shndx: dict[str, int], strtab: _StrTab) -> tuple[bytes, int]:
    """The symbol table (locals first, as ELF requires) and the index of the first non-local."""
    ordered = ([s for s in symbols if s.binding == "local"]
               + [s for s in symbols if s.binding != "local"])
    out = bytearray(_SYM.size)
    for sym in ordered:
        if sym.kind not in _KINDS or sym.binding not in _BINDINGS:
            raise ElfError(f"symbol {sym.name}: unknown kind '{sym.kind}' or binding '{sym.binding}'",
                           "image")
        if sym.section is None or sym.kind == "file":
            index = SHN_ABS
        elif sym.section in shndx:
            index = shndx[sym.section]
        else:
            raise ElfError(f"symbol {sym.name} names section {sym.section}, which the image lacks", "image")
        info = _BINDINGS[sym.binding] << 4 | _KINDS[sym.kind]
        out += _SYM.pack(strtab.add(sym.name), sym.value & 0xFFFFFFFF, sym.size, info, 0, index)
    first_global = 1 + sum(1 for s in ordered if s.binding == "local")
    return bytes(out), first_global


def _main_file(image: ObjectImage) -> str | None:
    """The primary source: the STT_FILE symbol when there is one, else the file holding the entry."""
    named = next((s.name for s in image.symbols if s.kind == "file"), None)
    if named is not None:
        return named
    return next((row.file for row in image.lines if row.addr == image.entry), None)


def write_elf(image: ObjectImage) -> bytes:
    """The ELF file for `image` (deterministic: the same image gives the same bytes)."""
    groups = _group(image.sections)
    segments = [_segment(g) for g in groups]
    phoff = _EHDR.size
    out = bytearray(phoff + _PHDR.size * len(groups))
    shdrs: list[_Shdr] = [_Shdr("", 0)]
    offsets: dict[str, int] = {}
    for group in groups:
        out += bytes(-(len(out) - group[0].addr) % SEGMENT_ALIGN)
        for sec in group:
            offsets[sec.name] = len(out)
            if not sec.nobits:
                out += bytes(sec.data)
    for sec in image.sections:
        if sec.name not in offsets:  # empty or non-allocated: its bytes go after the segments
            out += bytes(-len(out) % 4)
            offsets[sec.name] = len(out)
            if not sec.nobits:
                out += bytes(sec.data)
        shdrs.append(_Shdr(sec.name, SHT_NOBITS if sec.nobits else SHT_PROGBITS,
                           _section_flags(sec.flags), sec.addr, offsets[sec.name],
                           sec.size if sec.nobits else len(sec.data), align=4))
    shndx = {sec.name: i for i, sec in enumerate(image.sections, start=1)}

    def extra(name: str, kind: int, data: bytes, align: int = 1) -> _Shdr:
        nonlocal out
        out += bytes(-len(out) % align)
        shdr = _Shdr(name, kind, offset=len(out), size=len(data), align=align)
        out += data
        shdrs.append(shdr)
        return shdr

    if image.manifest is not None:
        digest = manifest.segment_digest(segments)
        extra(manifest.NOTE_SECTION, SHT_NOTE, manifest.encode_note(image.manifest, digest), 4)
    dwarf = dwarfline.build_dwarf(image.lines, image.comp_dir, _main_file(image))
    for name, data in dwarf.sections if dwarf else ():
        extra(name, SHT_PROGBITS, data)
    strtab = _StrTab()
    symdata, first_global = _symtab(image.symbols, shndx, strtab)
    symtab = extra(".symtab", SHT_SYMTAB, symdata, 4)
    symtab.entsize, symtab.info, symtab.link = _SYM.size, first_global, len(shdrs)
    extra(".strtab", SHT_STRTAB, bytes(strtab.data))
    shstrtab = _StrTab()
    names = [shstrtab.add(s.name) for s in shdrs]
    names.append(shstrtab.add(".shstrtab"))
    extra(".shstrtab", SHT_STRTAB, bytes(shstrtab.data))
    out += bytes(-len(out) % 4)
    shoff = len(out)
    for shdr, name in zip(shdrs, names, strict=True):
        out += _SHDR.pack(name, shdr.type, shdr.flags, shdr.addr, shdr.offset, shdr.size,
                          shdr.link, shdr.info, shdr.align, shdr.entsize)
    for i, (group, seg) in enumerate(zip(groups, segments, strict=True)):
        _PHDR.pack_into(out, phoff + i * _PHDR.size, PT_LOAD, offsets[group[0].name], seg.addr, seg.addr,
                        len(seg.data), seg.memsz, _segment_flags(group[0].flags), SEGMENT_ALIGN)
    ident = b"\x7fELF" + bytes([1, 1, 1, 0]) + bytes(8)  # ELF32, little-endian, version 1, SysV ABI
    _EHDR.pack_into(out, 0, ident, ET_EXEC, EM_RISCV, 1, image.entry, phoff if groups else 0, shoff,
                    EF_RISCV_FLOAT_ABI_SOFT, _EHDR.size, _PHDR.size, len(groups), _SHDR.size,
                    len(shdrs), len(shdrs) - 1)
    return bytes(out)
