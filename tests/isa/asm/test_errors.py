"""Every kind of error: its message, its location, all of a file's errors in one run; fuzzed input."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from isa.asm import AsmError, assemble
from isa.errors import NpuError


def _errors(source: str) -> list[str]:
    with pytest.raises(AsmError) as info:
        assemble(source, filename="e.S")
    return [f"{d.loc.line}:{d.loc.col}: {d.message}" for d in info.value.diagnostics]


def test_error_text_is_location_message_source_and_caret() -> None:
    with pytest.raises(AsmError) as info:
        assemble("nop\n  addi a0, a1, 4096\n", filename="fw/main.S")
    assert str(info.value) == ("fw/main.S:2:16: error: immediate 4096 out of range for addi (-2048..2047)\n"
                               "  addi a0, a1, 4096\n"
                               "               ^")
    assert isinstance(info.value, NpuError)


@pytest.mark.parametrize(("line", "expected"), [
    ("frob a0", "1:1: unknown instruction 'frob'"),
    ("addd a0, a1, a2", "1:1: unknown instruction 'addd'; did you mean 'add'?"),
    ("npu.mmadd a0, a1, a2", "1:1: unknown instruction 'npu.mmadd'; did you mean 'npu.mmad'?"),
    ("add a0, a1", "1:1: wrong number of operands for add: got 2, expected 'add rd,rs1,rs2'"),
    ("jal", "1:1: wrong number of operands for jal: got 0, expected 'jal rd,imm_j' or 'jal imm_j'"),
    ("add a0, a1, x32", "1:13: bad register 'x32' (expected x0..x31, an ABI name or fp)"),
    ("lw a0, 4(q1)", "1:10: bad register 'q1' (expected x0..x31, an ABI name or fp)"),
    ("beq a0, a1, nowhere", "1:13: undefined symbol 'nowhere'"),
    ("x: nop\nx: nop", "2:1: symbol 'x' is already defined (first at e.S:1)"),
    ("addi a0, a0, -2049", "1:14: immediate -2049 out of range for addi (-2048..2047)"),
    ("slli a0, a0, 32", "1:14: shift amount 32 out of range for slli (0..31)"),
    ("csrrwi a0, mstatus, 32", "1:21: immediate 32 out of range for csrrwi (0..31)"),
    ("lui a0, 0x100000", "1:9: immediate 1048576 out of range for lui (0..1048575)"),
    ("beq a0, a1, 0x1002", "1:13: beq target 0x1002 is not 4-byte aligned"),
    ("beq a0, a1, 0x1000", "1:13: beq target 0x1000 is too far from 0x0 (offset 4096, reach ±4 KiB)"),
    ("jal 0x100000", "1:5: jal target 0x100000 is too far from 0x0 (offset 1048576, reach ±1024 KiB)"),
    ("csrr a0, mystery", "1:10: 'mystery' is not a CSR"),
    ("npu.barrier q", "1:13: 'q' is not a pipe (one of all, m, mte1, mte2, mte3, s, v)"),
    ("npu.cfg a0, a1, mm_x", "1:17: 'mm_x' is not an npu.cfg register (one of fault_pc, mm_dtype, mm_flags, "
     "mm_k, mm_m, mm_n, status, v_chan, v_dtype, v_len, v_scale, v_zero)"),
    ("fence rw, x", "1:11: bad fence set 'x' (letters from i, o, r, w)"),
    ("li a0, 0x100000000", "1:8: li value 0x100000000 does not fit in 32 bits"),
    (".byte 256", "1:7: value 0x100 does not fit in 1 byte"),
    (".word 1 +", "1:10: missing expression"),
    (".word 1 / 0", "1:9: division by zero"),
    (".word (1", "1:9: expected ')'"),
    (".ascii \"abc", "1:8: unterminated string"),
    (".ascii \"a\\qb\"", "1:8: unknown escape '\\q' in a string"),
    (".frobnicate", "1:1: unknown directive '.frobnicate'"),
    ("  .wrod 1", "1:3: unknown directive '.wrod'; did you mean '.word'?"),
    (".space -1", "1:8: size -1 is out of range (0..16777216)"),
    (".balign 3", "1:9: alignment 3 is not a power of two up to 65536"),
    (".equiv A, 1\n.equiv A, 2", "2:1: symbol 'A' is already defined (at e.S:1)"),
    (".globl ghost", "1:8: symbol 'ghost' is never defined"),
    (".entry ghost", "1:8: entry symbol 'ghost' is never defined"),
    ("j 1f", "1:3: no local label 1: after this reference"),
    ("j 1b", "1:3: no local label 1: before '1b'"),
    (".bss\nnop", "2:1: instruction in section .bss, which holds no data"),
    (".bss\n.word 1", "2:1: section .bss holds no data; only zeros may go in it"),
    ("a = b\nb = a\n.word a", "3:7: symbol 'a' is defined in terms of itself"),
    ("lw a0, %pcrel_lo(x)(a0)\nx: nop", "1:8: %pcrel_lo must name the label of an auipc with %pcrel_hi"),
    ("addi a0, a0, %foo(1)", "1:14: unknown modifier '%foo' (one of %hi %lo %pcrel_hi %pcrel_lo)"),
    ("/* open", "1:1: unterminated /* comment"),
], ids=lambda v: v if len(v) < 30 else v[:30])
def test_error_message_and_location(line: str, expected: str) -> None:
    assert any(e.startswith(expected) for e in _errors(line)), _errors(line)


def test_all_errors_of_a_file_in_one_run() -> None:
    errors = _errors("frob\nadd a0\n.word x\nok: nop\naddi a0, a0, 9999\n.if 1\n")
    assert [e.split(":")[0] for e in errors] == ["1", "2", "3", "5", "6"]


ASM_WORDS = ["nop", "add", "addi", "li", "la", "call", "beq", "j", "lw", "sw", "csrr", "npu.mmad",
             "npu.setflag", ".word", ".byte", ".ascii", ".macro", ".endm", ".rept", ".endr", ".if", ".else",
             ".endif", ".include", ".equ", ".org", ".align", ".section", ".space", ".fill", "%hi(", "%lo(",
             "%pcrel_lo(", "1b", "1f", "1:", "a0", "x31", "sp", "mstatus", "mte2", "mm_k", ",", "(", ")",
             "\"", "'", ":", ";", "#", "/*", "*/", "\\", "\\@", "=", "-", "<<", ".", "0x7ff", "99999999999",
             "\n", " "]


@given(st.lists(st.one_of(st.sampled_from(ASM_WORDS), st.text(max_size=6)), max_size=40))
def test_random_text_raises_only_asm_error(parts: list[str]) -> None:
    with contextlib.suppress(AsmError):
        assemble(" ".join(parts))


@given(st.text(max_size=200))
def test_random_characters_raise_only_asm_error(text: str) -> None:
    with contextlib.suppress(AsmError):
        assemble(text)


def test_error_list_is_capped() -> None:
    errors = _errors("frob\n" * 250)
    assert len(errors) == 201
    assert errors[-1] == "201:1: too many errors; only the first 200 are listed"
