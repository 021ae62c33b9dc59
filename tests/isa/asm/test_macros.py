"""Macros, .rept, conditionals and includes: expansion results, line rows, and their errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from isa.asm import AsmError, assemble
from tests.isa.asm.helpers import words


def test_macro_arguments_defaults_keywords_and_counter() -> None:
    image = assemble("""
        .macro store reg, off=0, base=sp
        sw \\reg, \\off(\\base)
        .endm
        .macro label_each
        lab\\@: .word lab\\@ - .
        .endm
        store ra
        store s0, 4
        store a0, base=t0
        store a1 8 gp
        .data
        label_each
        label_each
    """)
    assert words(image) == [0x00112023, 0x00812223, 0x00A2A023, 0x00B1A423]
    assert words(image, ".data") == [0, 0]
    assert {s.name for s in image.symbols} >= {"lab4", "lab5"}  # \@ counts every expansion so far


def test_nested_macros_and_rept() -> None:
    image = assemble("""
        .macro inc reg
        addi \\reg, \\reg, 1
        .endm
        .macro inc2 reg
        inc \\reg
        inc \\reg
        .endm
        .rept 2
        inc2 a0
        .endr
        .rept 0
        ebreak
        .endr
    """)
    assert words(image) == [0x00150513] * 4


def test_macro_lines_are_the_use_site() -> None:
    image = assemble(".macro two\nnop\nnop\n.endm\n\n  two\n", filename="m.S")
    assert [(r.file, r.line, r.col) for r in image.lines] == [("m.S", 6, 3), ("m.S", 6, 3)]


@pytest.mark.parametrize(("source", "expected"), [
    (".if 1\n.word 1\n.else\n.word 2\n.endif", [1]),
    (".if 0\n.word 1\n.elseif 1\n.word 2\n.else\n.word 3\n.endif", [2]),
    (".if 0\n.word 1\n.elseif 0\n.word 2\n.else\n.word 3\n.endif", [3]),
    (".if 1\n.if 0\n.word 1\n.else\n.word 2\n.endif\n.word 3\n.endif", [2, 3]),
    (".if 0\n.if 1\n.word 1\n.endif\n.else\n.word 4\n.endif", [4]),
    ("X = 1\n.ifdef X\n.word 1\n.endif\n.ifndef Y\n.word 2\n.endif\n.ifdef Y\n.word 3\n.endif", [1, 2]),
    (".ifeq 0\n.word 1\n.endif\n.ifne 0\n.word 2\n.endif\n.ifgt 1\n.word 3\n.endif", [1, 3]),
    (".if 0\n.bogus directive is skipped\n.word 1\n.endif\n.word 5", [5]),
    (".macro m a\n.ifb \\a\n.word 0\n.else\n.word \\a\n.endif\n.endm\n.data\nm\nm 7", [0, 7]),
], ids=["if-else", "elseif", "else", "nested", "nested-skip", "ifdef", "ifeq-family", "skip-unknown", "ifb"])
def test_conditionals(source: str, expected: list[int]) -> None:
    image = assemble(".data\n" + source)
    assert words(image, ".data") == expected


def _write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def test_multi_file_program_line_rows_name_each_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "src" / "main.S",
           '.include "defs.inc"\n_start:\n  li a0, VALUE\n  .include "body.S"\n  ret\n')
    _write(tmp_path / "src" / "defs.inc", ".equ VALUE, 42\n")
    _write(tmp_path / "lib" / "body.S", "nop\n\n  nop\n")
    image = assemble(path="src/main.S", include_dirs=["lib"])
    assert words(image) == [0x02A00513, 0x13, 0x13, 0x8067]
    rows = [(r.addr, r.file, r.line, r.col) for r in image.lines]
    assert rows == [(0, "src/main.S", 3, 3), (4, os.path.join("lib", "body.S"), 1, 1),
                    (8, os.path.join("lib", "body.S"), 3, 3), (12, "src/main.S", 5, 3)]


def test_include_searches_own_directory_before_include_dirs(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "a" / "main.S", '.include "x.inc"\n')
    _write(tmp_path / "a" / "x.inc", ".word 1\n")
    _write(tmp_path / "b" / "x.inc", ".word 2\n")
    assert words(assemble(path="a/main.S", include_dirs=["b"])) == [1]


def test_include_not_found_names_the_include_chain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "main.S", 'nop\n.include "mid.inc"\n')
    _write(tmp_path / "mid.inc", '\n.include "missing.inc"\n')
    with pytest.raises(AsmError) as info:
        assemble(path="main.S")
    text = str(info.value)
    assert text.startswith("mid.inc:2:10: error: include file 'missing.inc' not found (searched .), "
                           "included from main.S:2\n")
    assert text.endswith('.include "missing.inc"\n         ^')


def test_recursive_include_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "self.S", '.include "self.S"\n')
    with pytest.raises(AsmError, match="includes nested more than 32 deep"):
        assemble(path="self.S")


@pytest.mark.parametrize(("source", "message"), [
    (".macro m\nnop\n", "1:1: error: .macro without .endm"),
    (".rept 2\nnop\n", "1:1: error: .rept without .endr"),
    ("nop\n.if 1\nnop\n", "2:1: error: .if without .endif"),
    (".endif", "1:1: error: .endif without .if"),
    (".else", "1:1: error: .else without .if"),
    (".if 1\n.else\n.else\n.endif", "3:1: error: .else after .else"),
    (".endm", "1:1: error: .endm without .macro"),
    (".macro m\nm\n.endm\n\nm", "5:1: error: macro recursion limit (100) reached expanding m"),
    (".macro m a\n.endm\nm 1, 2", "3:3: error: too many arguments for macro m (it takes 1)"),
    (".macro m\n.endm\n.macro m\n.endm", "3:8: error: macro m is already defined"),
    (".rept 1 << 30\n.endr", "1:7: error: .rept count 1073741824 is out of range"),
    (".if undefined_yet\n.endif\nundefined_yet = 1", "1:5: error: the condition of .if must be a constant"),
], ids=["macro", "rept", "if", "endif", "else", "else-else", "endm", "recursion", "args", "redefine",
        "rept-count", "if-forward"])
def test_block_errors(source: str, message: str) -> None:
    with pytest.raises(AsmError) as info:
        assemble(source, filename="b.S")
    assert message in str(info.value)


def test_expansion_budget_stops_runaway_rept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("isa.asm.assembler.MAX_STATEMENTS", 5000)
    with pytest.raises(AsmError) as info:
        assemble(".rept 1000\n.rept 1000\n.rept 1000\nnop\n.endr\n.endr\n.endr", filename="b.S")
    assert "b.S:1:1: error: more than 5000 statements after expansion" in str(info.value)


def test_main_file_under_the_current_directory_is_named_relative(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = _write(tmp_path / "fw" / "boot.S", "nop\n")
    assert assemble(path=str(Path(path).resolve())).lines[0].file == os.path.join("fw", "boot.S")


def test_error_inside_a_macro_points_at_its_use() -> None:
    with pytest.raises(AsmError) as info:
        assemble(".macro bad x\naddi a0, a0, \\x\n.endm\nnop\n  bad 5000\n", filename="u.S")
    assert str(info.value) == ("u.S:5:3: error: immediate 5000 out of range for addi (-2048..2047)\n"
                               "  bad 5000\n  ^")


def test_irp_repeats_with_each_value() -> None:
    image = assemble(".data\n.irp reg, 1, 2, 3\n.word \\reg * 2\n.endr")
    assert words(image, ".data") == [2, 4, 6]
