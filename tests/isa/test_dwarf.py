"""The DWARF encoder: LEB128 values, sequences, and line programs that pyelftools decodes back."""

from __future__ import annotations

import io

import pytest
from elftools.elf.elffile import ELFFile
from hypothesis import given
from hypothesis import strategies as st

from isa import dwarfline
from isa.elfwrite import write_elf
from isa.image import LineRow, ObjectImage, Section


@pytest.mark.parametrize(("value", "encoded"), [
    (0, b"\x00"), (1, b"\x01"), (127, b"\x7f"), (128, b"\x80\x01"), (624485, b"\xe5\x8e\x26")])
def test_uleb128(value: int, encoded: bytes) -> None:
    assert dwarfline.uleb128(value) == encoded


@pytest.mark.parametrize(("value", "encoded"), [
    (0, b"\x00"), (2, b"\x02"), (-1, b"\x7f"), (63, b"\x3f"), (64, b"\xc0\x00"), (-64, b"\x40"),
    (-65, b"\xbf\x7f"), (-123456, b"\xc0\xbb\x78")])
def test_sleb128(value: int, encoded: bytes) -> None:
    assert dwarfline.sleb128(value) == encoded


def test_sequences_cut_at_gaps_and_sort_by_address() -> None:
    rows = [LineRow(0x10, "a.S", 3), LineRow(0x0, "a.S", 1), LineRow(0x4, "a.S", 2), LineRow(0x14, "a.S", 4)]
    runs = dwarfline.sequences(rows)
    assert [[r.addr for r in run] for run in runs] == [[0x0, 0x4], [0x10, 0x14]]


def _decode(rows: list[LineRow]) -> list[tuple[int, str, int, int]]:
    end = max(r.addr for r in rows) + 4
    image = ObjectImage(sections=[Section(".text", 0, bytearray(end), end, "ax")], lines=rows)
    elf = ELFFile(io.BytesIO(write_elf(image)))
    dwarf = elf.get_dwarf_info()
    program = dwarf.line_program_for_CU(next(dwarf.iter_CUs()))
    files = [e.name.decode() for e in program.header["file_entry"]]
    return [(e.state.address, files[e.state.file - 1], e.state.line, e.state.column)
            for e in program.get_entries() if e.state and not e.state.end_sequence]


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 100_000), st.integers(0, 200),
                          st.sampled_from(["main.S", "a/b.inc", "c.inc"])), min_size=1, max_size=40))
def test_any_rows_decode_back_exactly(spec: list[tuple[int, int, int, str]]) -> None:
    """Big and negative line steps, address gaps, file and column changes all survive."""
    rows, addr = [], 0
    for gap, line, col, file in spec:
        addr += 4 * gap
        rows.append(LineRow(addr, file, line, col))
        addr += 4
    expected = [(r.addr, r.file, r.line, r.col) for r in sorted(rows, key=lambda r: r.addr)]
    assert _decode(rows) == expected


def test_consecutive_rows_use_one_byte_each() -> None:
    rows = [LineRow(4 * i, "a.S", 1 + i) for i in range(100)]
    runs = dwarfline.sequences(rows)
    program = dwarfline.debug_line(runs, ["a.S"])
    header_and_files = 4 + 2 + 4 + 6 + 12 + 1 + len(b"a.S\0") + 3 + 1
    # set_address (7 bytes), 100 special opcodes, advance_pc (2), end_sequence (3)
    assert len(program) == header_and_files + 7 + 100 + 2 + 3
