"""`python -m isa.asm`: exit codes, diagnostics on stderr, the ELF it writes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from isa.asm.__main__ import main


def test_success_writes_an_elf_with_segments_symbols_and_lines(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "util.S").write_text(".globl helper\n.type helper, @function\nhelper:\n  ret\n"
                                             ".size helper, .-helper\n")
    (tmp_path / "fw.S").write_text(".globl _start\n_start:\n  li a0, N\n  call helper\n"
                                   '.include "util.S"\n.data\nvalue: .word 7\n')
    assert main(["fw.S", "-I", "inc", "--defsym", "N=0x55", "-o", "fw.elf"]) == 0
    with open("fw.elf", "rb") as handle:
        elf = ELFFile(handle)
        assert elf["e_machine"] == "EM_RISCV" and elf.elfclass == 32
        loads = [(s["p_vaddr"], s["p_filesz"]) for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
        assert loads == [(0x0, 16), (0x100000, 4)]
        symtab = elf.get_section_by_name(".symtab")
        helper = symtab.get_symbol_by_name("helper")[0]
        assert (helper["st_value"], helper["st_size"], helper["st_info"]["type"]) == (12, 4, "STT_FUNC")
        text = elf.get_section_by_name(".text").data()
        assert int.from_bytes(text[:4], "little") == 0x05500513
        dwarf = elf.get_dwarf_info()
        rows = []
        for cu in dwarf.iter_CUs():
            program = dwarf.line_program_for_CU(cu)
            names = {i + 1: f.name.decode() for i, f in enumerate(program["file_entry"])}
            names.update({i: f.name.decode() for i, f in enumerate(program["file_entry"])}
                         if program["version"] >= 5 else {})
            rows += [(e.state.address, names[e.state.file].rsplit("/", 1)[-1], e.state.line)
                     for e in program.get_entries() if e.state and not e.state.end_sequence]
        assert rows == [(0, "fw.S", 3), (4, "fw.S", 4), (8, "fw.S", 4), (12, "util.S", 4)]


def test_errors_exit_1_with_every_diagnostic(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.S").write_text("nop\nfrob a0\naddi a0, a0, 5000\n")
    assert main(["bad.S", "-o", "out.elf"]) == 1
    err = capsys.readouterr().err
    assert err == ("bad.S:2:1: error: unknown instruction 'frob'\nfrob a0\n^\n"
                   "bad.S:3:14: error: immediate 5000 out of range for addi (-2048..2047)\n"
                   "addi a0, a0, 5000\n             ^\n")
    assert not (tmp_path / "out.elf").exists()


def test_missing_input_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "isa.asm", str(tmp_path / "none.S"), "-o", str(tmp_path / "x.elf")]
    result = subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).parents[3])
    assert result.returncode == 1
    assert result.stderr.startswith(f"{tmp_path / 'none.S'}: error: cannot read")
    assert "Traceback" not in result.stderr


def test_bad_defsym_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["x.S", "--defsym", "N", "-o", "x.elf"])
    assert info.value.code == 2
    assert "expected NAME=VALUE" in capsys.readouterr().err
