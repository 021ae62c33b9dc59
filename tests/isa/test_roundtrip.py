"""Assemble -> bytes -> disassemble -> reassemble the `.source` form gives the same bytes,
for every row of the table and for a multi-file program (whose ELF is also read back)."""

from __future__ import annotations

import io
import random
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from isa.asm import assemble, assemble_elf
from isa.disasm import disassemble
from isa.elfread import load_elf
from isa.memmap import region
from isa.spec import Field, Instruction, instruction_set

BASE = 0x8000  # where the row words sit in .text (room for backward jumps)
EXAMPLES = 12


def _rows() -> list[Instruction]:
    iset = instruction_set()
    return iset.instructions + [a for a in iset.aliases if a.use == "both"]


def _value(f: Field, addr: int, rng: random.Random) -> int:
    lo, hi = f.value_range()
    if f.kind == "pcrel":
        # targets the assembler accepts: 4-byte aligned and inside the code region
        lo = max(lo, -addr)
        hi = min(hi, region("itcm").size - 4 - addr)
        return rng.randint(-(-lo // 4), hi // 4) * 4
    return rng.randint(-(-lo // f.align), hi // f.align) * f.align


def _row_words(row: Instruction, first_addr: int) -> list[int]:
    iset = instruction_set()
    base = next(r for r in iset.by_mnemonic[row.base or row.mnemonic] if not r.is_alias)
    rng = random.Random(row.key + str(row.line))
    words = []
    for i in range(EXAMPLES):
        values = {name: _value(iset.fields[name], first_addr + 4 * i, rng) for name in row.operands}
        words.append(iset.encode(base, values | dict(row.fixed_fields)))
    return words


def _reassemble(sources: list[str], addr: int) -> bytes:
    image = assemble(".text\n.org " + hex(addr) + "\n" + "\n".join(sources) + "\n")
    (text,) = [s for s in image.sections if s.name == ".text"]
    return bytes(text.data[addr - text.addr:])


def test_every_row_round_trips_through_the_source_form() -> None:
    words: list[int] = []
    owner: list[str] = []
    for row in _rows():
        words += _row_words(row, BASE + 4 * len(words))
        owner += [row.mnemonic] * EXAMPLES
    data = b"".join(struct.pack("<I", w) for w in words)
    lines = disassemble(data, BASE)
    again = _reassemble([line.source for line in lines], BASE)
    mismatches = [(owner[i], lines[i].source, f"{w:08x}") for i, w in enumerate(words)
                  if again[4 * i:4 * i + 4] != data[4 * i:4 * i + 4]]
    assert mismatches == []
    printed = {line.mnemonic for line in lines}
    assert {r.mnemonic for r in _rows()} <= printed  # every row was printed as itself


MAIN = """\
# the firmware's entry and main loop
    .include "lib/util.inc"
    .text
    .globl _start
    .type _start, @function
_start:
    li sp, 0x100400
    la a0, table
    call scale
main_loop:
    lw a1, 0(a0)
    beqz a1, done
    npu.mmad t0, t1, t2
    npu.setflag m, v, 3
    npu.waitflag m, v, 3
    npu.cfg a2, a3, mm_k
    addi a0, a0, 4
    j main_loop
done:
    wfi
    j done
    .size _start, .-_start

    .data
    .globl table
    .type table, @object
table:
    .word 1, 2, 3, 0
    .size table, .-table
    .bss
    .type buf, @object
buf: .space 64
    .size buf, 64
"""
UTIL = """\
    .text
    .type scale, @function
scale:
    slli a1, a1, 2
    .include "npu.inc"
    ret
    .size scale, .-scale
"""
NPU = """\
    npu.barrier all
"""


@pytest.fixture
def program_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "lib").mkdir()
    (tmp_path / "main.S").write_text(MAIN)
    (tmp_path / "lib" / "util.inc").write_text(UTIL)
    (tmp_path / "lib" / "npu.inc").write_text(NPU)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_multi_file_program_reads_back_and_round_trips(program_dir: Path) -> None:
    data = assemble_elf(path="main.S")
    program = load_elf(data)
    elf = ELFFile(io.BytesIO(data))
    text = elf.get_section_by_name(".text")
    assert [(s.addr, s.flags) for s in program.segments] == [(0x0, "r-x"), (0x100000, "rw-")]
    assert program.segments[1].memsz == 16 + 64 and len(program.segments[1].data) == 16
    assert program.entry == program.address_of("_start") == 12
    sizes = {s.name: (s.value, s.size, s.kind, s.binding) for s in program.symbols}
    assert sizes["scale"] == (0, 12, "func", "local")
    assert sizes["_start"] == (12, text["sh_size"] - 12, "func", "global")
    assert sizes["table"] == (0x100000, 16, "object", "global")
    assert sizes["buf"] == (0x100010, 64, "object", "local")
    where = [(r.addr, r.file, r.line) for r in program.lines]
    assert where[:4] == [(0, "lib/util.inc", 4), (4, "lib/npu.inc", 1), (8, "lib/util.inc", 6),
                         (12, "main.S", 7)]
    assert program.addresses_for("main.S", 13) == [program.address_of("main_loop") + 8]
    assert program.line_for(program.address_of("done")).line == 20
    unit = next(elf.get_dwarf_info().iter_CUs()).get_top_DIE()
    assert unit.attributes["DW_AT_name"].value == b"main.S"  # the file holding the entry point
    # every instruction has a row, and the rows sit on instruction boundaries
    assert [r.addr for r in program.lines][-1] == text["sh_size"] - 4
    listing = disassemble(text.data(), text["sh_addr"], program.symbols, program.lines)
    assert listing[0].labels == ("scale",)
    assert [x.text for x in listing if x.mnemonic.startswith("npu.")] == [
        "npu.barrier all", "npu.mmad t0,t1,t2", "npu.setflag m,v,3", "npu.waitflag m,v,3",
        "npu.cfg a2,a3,mm_k"]
    assert _reassemble([x.source for x in listing], 0)[:text["sh_size"]] == text.data()


OBJDUMP = shutil.which("riscv64-unknown-elf-objdump")


@pytest.mark.skipif(OBJDUMP is None, reason="riscv64-unknown-elf-objdump is not installed")
def test_objdump_reads_the_multi_file_line_table(program_dir: Path) -> None:
    (program_dir / "fw.elf").write_bytes(assemble_elf(path="main.S"))
    out = subprocess.run([OBJDUMP, "--dwarf=decodedline", "fw.elf"], capture_output=True, text=True,
                         check=True).stdout
    rows = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0].endswith((".S", ".inc")) and parts[1].isdigit():
            rows.append((int(parts[2], 16), parts[0], int(parts[1])))
    program = load_elf(program_dir / "fw.elf")
    assert rows == [(r.addr, r.file, r.line) for r in program.lines]


GDB = shutil.which("gdb-multiarch") or shutil.which("riscv64-unknown-elf-gdb") or shutil.which("gdb")


@pytest.mark.skipif(GDB is None, reason="gdb is not installed")
def test_gdb_finds_lines_and_symbols(program_dir: Path) -> None:
    (program_dir / "fw.elf").write_bytes(assemble_elf(path="main.S"))
    commands = ["info line main_loop", "info line main.S:13", "info line scale"]
    argv = [GDB, "-nx", "-batch", *(arg for c in commands for arg in ("-ex", c)), "fw.elf"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if "not in executable format" in result.stderr:
        pytest.skip("this gdb cannot read RISC-V ELF files")
    out = result.stdout
    program = load_elf(program_dir / "fw.elf")
    loop = program.address_of("main_loop")
    assert out.splitlines() == [
        f'Line 11 of "main.S" starts at address {loop:#x} <_start+{loop - 12}> and ends at {loop + 4:#x} '
        f"<_start+{loop - 8}>.",
        f'Line 13 of "main.S" starts at address {loop + 8:#x} <_start+{loop - 4}> and ends at {loop + 12:#x} '
        f"<_start+{loop}>.",
        'Line 4 of "lib/util.inc" starts at address 0x0 <scale> and ends at 0x4 <scale+4>.']
