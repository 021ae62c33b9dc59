"""The ELF writer's output read back with pyelftools, GNU readelf/objdump, and `isa.elfread`."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess

import pytest
from elftools.elf.elffile import ELFFile

from isa.elfread import ElfError, load_elf
from isa.elfwrite import write_elf
from isa.image import LineRow, ObjectImage, Section, Symbol
from isa.spec import instruction_set

TEXT_WORDS = 12


def _text() -> bytearray:
    iset = instruction_set()
    addi = iset.by_key["addi"]
    words = [iset.encode(addi, {"rd": 10, "rs1": 10, "imm_i": i}) for i in range(TEXT_WORDS)]
    return bytearray(b"".join(struct.pack("<I", w) for w in words))


def sample_image(manifest: dict[str, str] | None = None) -> ObjectImage:
    """A program from three files: main.S includes lib/util.inc and lib/npu.inc."""
    text = _text()
    return ObjectImage(
        sections=[Section(".text", 0x0, text, len(text), "ax"),
                  Section(".rodata", 0x100000, bytearray(b"npu\0"), 4, "a"),
                  Section(".data", 0x100004, bytearray(b"\x01\x00\x00\x00\x02\x00\x00\x00"), 8, "aw"),
                  Section(".bss", 0x10000C, bytearray(), 0x100, "aw", nobits=True)],
        symbols=[Symbol("main.S", 0, kind="file"),
                 Symbol("_start", 0x0, 16, "func", "global", ".text"),
                 Symbol("loop", 0x8, 0, "notype", "local", ".text"),
                 Symbol("handle_matmul", 0x10, 32, "func", "global", ".text"),
                 Symbol("name", 0x100000, 4, "object", "local", ".rodata"),
                 Symbol("counters", 0x100004, 8, "object", "global", ".data"),
                 Symbol("stack", 0x10000C, 0x100, "object", "weak", ".bss"),
                 Symbol("QUEUE_DEPTH", 64)],
        lines=[LineRow(0x0, "main.S", 10, 5), LineRow(0x4, "main.S", 11, 5), LineRow(0x8, "main.S", 13, 1),
               LineRow(0xC, "main.S", 14, 5),
               LineRow(0x10, "lib/util.inc", 3, 5), LineRow(0x14, "lib/util.inc", 4, 5),
               LineRow(0x18, "lib/npu.inc", 200, 5), LineRow(0x1C, "lib/npu.inc", 2, 5),
               LineRow(0x20, "main.S", 40, 5), LineRow(0x24, "main.S", 41, 5),
               LineRow(0x28, "main.S", 1000, 5), LineRow(0x2C, "main.S", 1000, 9)],
        entry=0x0, manifest=manifest, comp_dir=".")


@pytest.fixture(scope="module")
def elf_bytes() -> bytes:
    return write_elf(sample_image({"fw_version": "1.0.0"}))


@pytest.fixture(scope="module")
def elf(elf_bytes: bytes) -> ELFFile:
    return ELFFile(io.BytesIO(elf_bytes))


def test_header_is_riscv_elf32_little_endian_executable(elf: ELFFile) -> None:
    assert elf.elfclass == 32 and elf.little_endian
    assert elf.header["e_machine"] == "EM_RISCV"
    assert elf.header["e_type"] == "ET_EXEC"
    assert elf.header["e_flags"] == 0
    assert elf.header["e_entry"] == 0


def test_segments_group_contiguous_sections_with_equal_permissions(elf: ELFFile) -> None:
    loads = [(s["p_vaddr"], s["p_filesz"], s["p_memsz"], s["p_flags"]) for s in elf.iter_segments()
             if s["p_type"] == "PT_LOAD"]
    assert loads == [(0x0, 48, 48, 5), (0x100000, 4, 4, 4), (0x100004, 8, 8 + 0x100, 6)]
    data = [s.data() for s in elf.iter_segments()]
    assert data[0] == bytes(_text())
    assert data[2] == b"\x01\x00\x00\x00\x02\x00\x00\x00"


def test_manifest_note_is_in_no_segment_and_not_allocated(elf: ELFFile) -> None:
    note = elf.get_section_by_name(".note.npu")
    assert note["sh_type"] == "SHT_NOTE" and note["sh_flags"] == 0
    for seg in elf.iter_segments():
        assert not seg.section_in_segment(note)


def test_section_headers(elf: ELFFile) -> None:
    names = [s.name for s in elf.iter_sections()]
    assert names == ["", ".text", ".rodata", ".data", ".bss", ".note.npu", ".debug_line", ".debug_info",
                     ".debug_abbrev", ".debug_aranges", ".symtab", ".strtab", ".shstrtab"]
    bss = elf.get_section_by_name(".bss")
    assert (bss["sh_type"], bss["sh_addr"], bss["sh_size"]) == ("SHT_NOBITS", 0x10000C, 0x100)
    assert elf.get_section_by_name(".text")["sh_flags"] == 0x6  # ALLOC | EXECINSTR
    assert elf.get_section_by_name(".data")["sh_flags"] == 0x3  # WRITE | ALLOC


def test_symbols_locals_first_with_kinds_sizes_and_sections(elf: ELFFile) -> None:
    symtab = elf.get_section_by_name(".symtab")
    rows = [(s.name, s["st_value"], s["st_size"], s["st_info"]["type"], s["st_info"]["bind"], s["st_shndx"])
            for s in symtab.iter_symbols()][1:]
    assert rows == [
        ("main.S", 0, 0, "STT_FILE", "STB_LOCAL", "SHN_ABS"),
        ("loop", 0x8, 0, "STT_NOTYPE", "STB_LOCAL", 1),
        ("name", 0x100000, 4, "STT_OBJECT", "STB_LOCAL", 2),
        ("QUEUE_DEPTH", 64, 0, "STT_NOTYPE", "STB_LOCAL", "SHN_ABS"),
        ("_start", 0x0, 16, "STT_FUNC", "STB_GLOBAL", 1),
        ("handle_matmul", 0x10, 32, "STT_FUNC", "STB_GLOBAL", 1),
        ("counters", 0x100004, 8, "STT_OBJECT", "STB_GLOBAL", 3),
        ("stack", 0x10000C, 0x100, "STT_OBJECT", "STB_WEAK", 4),
    ]
    assert symtab["sh_info"] == 5  # index of the first non-local symbol
    assert elf.get_section(symtab["sh_link"]).name == ".strtab"


def test_line_table_reads_back_exactly_with_every_file(elf: ELFFile) -> None:
    dwarf = elf.get_dwarf_info()
    cu = next(dwarf.iter_CUs())
    program = dwarf.line_program_for_CU(cu)
    files = [e.name.decode() for e in program.header["file_entry"]]
    assert files == ["main.S", "lib/util.inc", "lib/npu.inc"]
    rows = [(e.state.address, files[e.state.file - 1], e.state.line, e.state.column)
            for e in program.get_entries() if e.state and not e.state.end_sequence]
    assert rows == [(r.addr, r.file, r.line, r.col) for r in sample_image().lines]
    ends = [e.state.address for e in program.get_entries() if e.state and e.state.end_sequence]
    assert ends == [TEXT_WORDS * 4]


def test_compile_unit_and_aranges(elf: ELFFile) -> None:
    dwarf = elf.get_dwarf_info()
    die = next(dwarf.iter_CUs()).get_top_DIE()
    attrs = {name: a.value for name, a in die.attributes.items()}
    assert die.tag == "DW_TAG_compile_unit"
    assert attrs["DW_AT_name"] == b"main.S"
    assert attrs["DW_AT_comp_dir"] == b"."
    assert attrs["DW_AT_producer"].startswith(b"npudbg")
    assert attrs["DW_AT_language"] == 0x8001  # DW_LANG_Mips_Assembler
    assert (attrs["DW_AT_low_pc"], attrs["DW_AT_high_pc"]) == (0, TEXT_WORDS * 4)
    aranges = dwarf.get_aranges()
    assert aranges.cu_offset_at_addr(0x10) == 0
    assert [(e.begin_addr, e.length) for e in aranges.entries] == [(0, TEXT_WORDS * 4)]


def test_output_is_deterministic_and_holds_no_host_paths() -> None:
    a = write_elf(sample_image({"fw_version": "1.0.0"}))
    assert a == write_elf(sample_image({"fw_version": "1.0.0"}))
    assert b"/home" not in a and b"/tmp" not in a


def test_gaps_start_new_sequences_and_image_without_lines_has_no_dwarf() -> None:
    image = sample_image()
    image.lines = [LineRow(0x0, "a.S", 1), LineRow(0x4, "a.S", 2), LineRow(0x20, "a.S", 90)]
    program = load_elf(write_elf(image))
    assert program.line_ranges == [(0x0, 0x8), (0x20, 0x24)]
    assert program.line_for(0x10) is None
    assert program.line_for(0x20).line == 90
    image.lines = []
    elf = ELFFile(io.BytesIO(write_elf(image)))
    assert not elf.has_dwarf_info()


# ------------------------------------------------------------- isa.elfread


def test_load_elf_reads_segments_symbols_lines_and_manifest(elf_bytes: bytes) -> None:
    program = load_elf(elf_bytes)
    assert [(s.addr, s.memsz, len(s.data), s.flags) for s in program.segments] == [
        (0x0, 48, 48, "r-x"), (0x100000, 4, 4, "r--"), (0x100004, 0x108, 8, "rw-")]
    assert [(s.name, s.value, s.size, s.kind, s.binding, s.section) for s in program.symbols][4] == (
        "_start", 0, 16, "func", "global", ".text")
    assert [(r.addr, r.file, r.line) for r in program.lines] == [
        (r.addr, r.file, r.line) for r in sample_image().lines]
    assert program.manifest is not None and program.manifest.entries == {"fw_version": "1.0.0"}


def test_lookups(elf_bytes: bytes) -> None:
    program = load_elf(elf_bytes)
    sym, offset = program.symbol_at(0x18)
    assert (sym.name, offset) == ("handle_matmul", 8)
    sym, offset = program.symbol_at(0xC)
    assert (sym.name, offset) == ("_start", 0xC)  # the sized function wins over the label `loop`
    sym, offset = program.symbol_at(0x100010)
    assert (sym.name, offset) == ("stack", 4)
    assert program.symbol_at(0x10000004) is None  # an MMIO address belongs to no symbol
    assert program.address_of("handle_matmul") == 0x10
    assert program.address_of("QUEUE_DEPTH") == 64
    assert program.address_of("nope") is None
    assert program.line_for(0x1C).file == "lib/npu.inc" and program.line_for(0x1C).line == 2
    assert program.line_for(0x30) is None
    assert program.addresses_for("util.inc", 4) == [0x14]
    assert program.addresses_for("lib/util.inc", 3) == [0x10]
    assert program.addresses_for("main.S", 1000) == [0x28, 0x2C]
    assert program.addresses_for("main.S", 12) == []


def test_load_elf_from_path(tmp_path, elf_bytes: bytes) -> None:
    path = tmp_path / "fw.elf"
    path.write_bytes(elf_bytes)
    assert load_elf(path).address_of("_start") == 0
    assert load_elf(str(path)).entry == 0
    with pytest.raises(ElfError, match=r"missing\.elf: cannot read") as info:
        load_elf(tmp_path / "missing.elf")
    assert info.value.reason == "unreadable"


def _header(elf_class: int = 1, data: int = 1, machine: int = 243) -> bytes:
    ident = b"\x7fELF" + bytes([elf_class, data, 1]) + bytes(9)
    fmt = "<HHI" if data == 1 else ">HHI"
    return ident + struct.pack(fmt, 2, machine, 1) + bytes(52 - 24)


@pytest.mark.parametrize(("data", "reason", "message"), [
    (b"#!/bin/sh\n", "not-elf", r"^not an ELF file \(bad magic number\)$"),
    (_header(machine=62), "wrong-arch", r"^not a RISC-V ELF32 little-endian file: machine is x86-64$"),
    (_header(elf_class=2), "wrong-arch", r"^not a RISC-V ELF32 little-endian file: class is ELF64$"),
    (_header(data=2), "wrong-arch", r"^not a RISC-V ELF32 little-endian file: data is big-endian$"),
    (_header()[:30], "truncated", r"^truncated ELF file: 30 bytes, shorter than an ELF header$"),
])
def test_bad_files_are_one_line_errors(data: bytes, reason: str, message: str) -> None:
    with pytest.raises(ElfError, match=message) as info:
        load_elf(data)
    assert info.value.reason == reason


def test_truncated_and_segment_outside_the_file(elf_bytes: bytes) -> None:
    with pytest.raises(ElfError, match=r"^truncated ELF file: headers extend past its 200 bytes$"):
        load_elf(elf_bytes[:200])
    broken = bytearray(elf_bytes)
    struct.pack_into("<I", broken, 52 + 4, len(elf_bytes) - 8)  # p_offset of the first PT_LOAD
    with pytest.raises(ElfError, match=r"^segment 0 at 0x00000000 lies outside the file") as info:
        load_elf(bytes(broken))
    assert info.value.reason == "truncated"


# ------------------------------------------------------------- GNU binutils as oracles

READELF = shutil.which("riscv64-unknown-elf-readelf")
OBJDUMP = shutil.which("riscv64-unknown-elf-objdump")


@pytest.mark.skipif(READELF is None, reason="riscv64-unknown-elf-readelf is not installed")
def test_readelf_reads_everything_without_warnings(tmp_path, elf_bytes: bytes) -> None:
    path = tmp_path / "fw.elf"
    path.write_bytes(elf_bytes)
    result = subprocess.run([READELF, "-a", "-W", "--debug-dump=info,line,aranges", str(path)],
                            capture_output=True, text=True, check=True)
    assert result.stderr == ""
    out = result.stdout
    assert "Machine:                           RISC-V" in out
    assert "LOAD           0x" in out and out.count("LOAD  ") == 3
    assert "     5: 00000000    16 FUNC    GLOBAL DEFAULT    1 _start" in out
    assert "DW_AT_language    : (data2) 32769\t(MIPS assembler)" in out
    assert "DW_AT_comp_dir    : (string) ." in out
    assert "NPU                  0x" in out


@pytest.mark.skipif(OBJDUMP is None, reason="riscv64-unknown-elf-objdump is not installed")
def test_objdump_decoded_lines_agree(tmp_path, elf_bytes: bytes) -> None:
    path = tmp_path / "fw.elf"
    path.write_bytes(elf_bytes)
    result = subprocess.run([OBJDUMP, "--dwarf=decodedline", str(path)], capture_output=True, text=True,
                            check=True)
    assert result.stderr == ""
    rows = []
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0].endswith((".S", ".inc")) and parts[1].isdigit():
            rows.append((int(parts[2], 16), parts[0], int(parts[1])))
    assert rows == [(r.addr, r.file, r.line) for r in sample_image().lines]


def test_writer_refuses_inconsistent_images() -> None:
    image = sample_image()
    image.sections[1].addr = 0x20  # .rodata now overlaps .text
    with pytest.raises(ElfError, match=r"^sections \.text and \.rodata overlap at 0x00000020$"):
        write_elf(image)
    image = sample_image()
    image.symbols.append(Symbol("ghost", 0, 0, "notype", "local", ".nowhere"))
    with pytest.raises(ElfError, match=r"^symbol ghost names section \.nowhere, which the image lacks$"):
        write_elf(image)


GNU_AS = shutil.which("riscv64-unknown-elf-as")
GNU_LD = shutil.which("riscv64-unknown-elf-ld")


@pytest.mark.skipif(GNU_AS is None or GNU_LD is None, reason="riscv64-unknown-elf binutils are not installed")
@pytest.mark.parametrize("version", [4, 5])
def test_reader_takes_gnu_line_tables_with_directories(tmp_path, monkeypatch, version: int) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lib").mkdir()
    (tmp_path / "m.S").write_text('.text\n.globl _start\n_start:\n  nop\n  .include "lib/x.inc"\n  ret\n')
    (tmp_path / "lib" / "x.inc").write_text("  addi a0,a0,1\n")
    subprocess.run([GNU_AS, "-g", f"-gdwarf-{version}", "-march=rv32im", "m.S", "-o", "m.o"], check=True)
    subprocess.run([GNU_LD, "-m", "elf32lriscv", "-Ttext=0", "m.o", "-o", "m.elf"], check=True)
    program = load_elf(tmp_path / "m.elf")
    rows = [(r.addr, r.file, r.line) for r in program.lines]
    assert rows == [(0, "m.S", 4), (4, "lib/x.inc", 1), (8, "m.S", 6)]
    assert program.line_ranges == [(0, 12)]
    assert program.symbol_at(8)[0].name == "_start"
