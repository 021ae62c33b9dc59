"""Directives, expressions, symbols, layout and the manifest, checked on the ObjectImage."""

from __future__ import annotations

import pytest

from isa.asm import AsmError, assemble
from isa.memmap import region
from tests.isa.asm.helpers import section, symbol, words

ITCM, DTCM = region("itcm").base, region("dtcm").base


def test_data_directives_bytes() -> None:
    image = assemble("""
        .data
        .byte 1, -1, 'a'
        .half 0x1234
        .2byte -2
        .word 0xdeadbeef
        .4byte 1 << 31
        .ascii "ab", "c"
        .asciz "\\n\\t\\x41\\101"
        .string ""
        .zero 2
        .space 3, 0x7f
        .fill 2, 2, 0x0102
        .quad 0x1122334455667788
    """)
    assert bytes(section(image, ".data").data) == bytes.fromhex(
        "01ff61" "3412" "feff" "efbeadde" "00000080" "616263" "0a094141" "00" "00" "0000" "7f7f7f"
        "02010201" "8877665544332211")


def test_alignment_in_data_and_code() -> None:
    image = assemble("""
        .data
        .byte 1
        .balign 4
        .byte 2
        .p2align 3, 0xee
        .byte 3
        .align 2
        .balign 16, 0, 2
        .text
        nop
        .balign 16
        ret
    """)
    assert bytes(section(image, ".data").data) == bytes.fromhex("01000000" "02eeeeee" "03000000")
    assert words(image) == [0x13, 0x13, 0x13, 0x13, 0x8067]


def test_org_pads_within_the_section_and_rejects_going_back() -> None:
    image = assemble(".data\n.byte 1\n.org 4, 0xaa\n.byte 2\nhere: .org here + 2\n.byte 3")
    assert bytes(section(image, ".data").data) == bytes.fromhex("01aaaaaa020000" "03")
    with pytest.raises(AsmError, match=r":3:6: error: .org cannot move backwards \(from 0x8 to 0x4\)"):
        assemble(".word 1, 2\n\n.org 4")


def test_expressions_follow_c_precedence_and_gnu_values() -> None:
    image = assemble("""
        .data
        .word 1 + 2 * 3, (1 + 2) * 3, 7 / 2, -7 / 2, -7 % 3, 1 << 4 | 1, 0x0f & ~1, 6 ^ 3
        .word 3 > 2, 2 > 3, 1 && 0, 1 || 0, !0, 010, 0b101, 0o17, 'A' + 1, -(3)
        .equ A, 5
        .set B, A * 2
        C = B - 1
        .word A, B, C, end - start
        start: .word . - start
        end:
    """)
    assert words(image, ".data") == [
        7, 9, 3, 0xFFFFFFFD, 0xFFFFFFFF, 17, 14, 5,
        0xFFFFFFFF, 0, 0, 1, 1, 8, 5, 15, 66, 0xFFFFFFFD,
        5, 10, 9, 4, 0]


def test_set_takes_the_value_at_each_point() -> None:
    image = assemble(".data\n.set i, 0\n.rept 3\n.word i\n.set i, i + 1\n.endr\n.word i")
    assert words(image, ".data") == [0, 1, 2, 3]


def test_hi_lo_and_pcrel_modifiers() -> None:
    image = assemble("""
        lui a0, %hi(0x12345fff)
        addi a0, a0, %lo(0x12345fff)
        1: auipc a1, %pcrel_hi(data)
        addi a1, a1, %pcrel_lo(1b)
        .data
        data: .word 0
    """)
    hi, lo = (0x12346 << 12) | (10 << 7) | 0x37, (0xFFF << 20) | (10 << 15) | (10 << 7) | 0x13
    delta = DTCM - (ITCM + 8)
    auipc = (((delta + 0x800) >> 12) << 12) | (11 << 7) | 0x17
    low = delta & 0xFFF
    addi = (low << 20) | (11 << 15) | (11 << 7) | 0x13
    assert words(image) == [hi, lo, auipc, addi]


def test_local_labels_backward_and_forward() -> None:
    image = assemble("""
        1: nop
        j 1b
        j 1f
        1: j 1b
        2: j 2f
        2:
    """)
    assert words(image) == [0x13, 0xFFDFF06F, 0x0040006F, 0x0000006F, 0x0040006F]
    assert all(not s.name.startswith(".L") for s in image.symbols)


def test_numeric_branch_target_is_an_absolute_address() -> None:
    image = assemble(".org 0x100\njal ra, 0x0\nbeq a0, a1, 0x1f4")
    assert words(image)[0x40:] == [0xF01FF0EF, 0x0EB50863]


def test_sections_go_to_regions_in_layout_order() -> None:
    image = assemble("""
        .bss
        buf: .space 16
        .data
        d: .word 1
        .rodata
        r: .byte 2
        .text
        _start: nop
        .section .text.more, "ax"
        more: nop
        .section .sdata, "aw", @progbits
        s: .word 3
    """)
    placed = {s.name: (s.addr, s.size, s.nobits) for s in image.sections}
    assert placed == {".text": (ITCM, 4, False), ".text.more": (ITCM + 4, 4, False),
                      ".rodata": (DTCM, 1, False), ".data": (DTCM + 4, 4, False),
                      ".sdata": (DTCM + 8, 4, False), ".bss": (DTCM + 12, 16, True)}
    assert section(image, ".bss").data == bytearray()
    assert symbol(image, "buf").value == DTCM + 12
    assert section(image, ".text").flags == "ax" and section(image, ".rodata").flags == "a"


def test_section_overflowing_its_region_is_an_error() -> None:
    size = region("itcm").size
    with pytest.raises(AsmError) as info:
        assemble(f".text\nnop\n.space {size}")
    expected = f"section .text ({size + 4} bytes) does not fit region itcm ({size} bytes at 0x0"
    assert expected in str(info.value)


def test_symbols_types_sizes_bindings() -> None:
    image = assemble("""
        .globl main, table
        .weak hook
        .type main, @function
        main: nop
        ret
        .size main, . - main
        hook: ret
        .equ LIMIT, 42
        .data
        .type table, %object
        table: .word 1, 2, 3
        .size table, 12
        .L_hidden: .word 0
    """)
    main, table, hook, limit = (symbol(image, n) for n in ("main", "table", "hook", "LIMIT"))
    assert (main.value, main.size, main.kind, main.binding) == (ITCM, 8, "func", "global")
    assert main.section == ".text"
    assert (table.value, table.size, table.kind, table.binding) == (DTCM, 12, "object", "global")
    assert (hook.binding, hook.kind) == ("weak", "notype")
    assert (limit.value, limit.section, limit.binding) == (42, None, "local")
    assert not any(s.name.startswith(".L") for s in image.symbols)


def test_entry_point_rules() -> None:
    assert assemble("nop\n_start: nop").entry == ITCM + 4
    assert assemble("nop\nboot: nop\n.entry boot\n_start: nop").entry == ITCM + 4
    assert assemble(".data\n.word 1\n.text\nnop").entry == ITCM


def test_manifest_entries_are_collected() -> None:
    image = assemble('.manifest version, "1.4.0"\n.manifest "abi", "2"\nnop')
    assert image.manifest == {"version": "1.4.0", "abi": "2"}
    assert assemble("nop").manifest is None
    with pytest.raises(AsmError, match="manifest key 'v' given twice"):
        assemble('.manifest v, "1"\n.manifest v, "2"')


def test_defines_and_ignored_directives() -> None:
    image = assemble('.option norvc\n.attribute arch, "rv32i"\n.file "x.c"\n.ident "t"\nli a0, N\n'
                     ".cfi_startproc\n.cfi_endproc", defines={"N": 7})
    assert words(image) == [0x00700513]


def test_pushsection_popsection_previous() -> None:
    image = assemble(".word 1\n.pushsection .data\n.word 2\n.popsection\n.word 3\n"
                     ".data\n.word 4\n.previous\n.word 5")
    assert words(image) == [1, 3, 5]
    assert words(image, ".data") == [2, 4]


def test_comments_and_separators() -> None:
    image = assemble("nop # comment ; not a statement\nnop // also a comment\n/* block\n nop */ nop; nop\n"
                     ".byte '#', ';'  # chars that look like comments\n")
    assert words(image)[:4] == [0x13] * 4
    assert section(image, ".text").data[16:18] == b"#;"


def test_line_rows_for_every_instruction_word() -> None:
    image = assemble("_start:\n  li a0, 0x12345678\n  nop; ret\n", filename="fw.S")
    assert [(r.addr, r.file, r.line, r.col) for r in image.lines] == [
        (0, "fw.S", 2, 3), (4, "fw.S", 2, 3), (8, "fw.S", 3, 3), (12, "fw.S", 3, 8)]


def test_call_tail_la_expansions_hand_checked() -> None:
    image = assemble("call f\ntail f\nla a0, f\nlw a1, f\nf: sw a1, f, t0")
    assert words(image) == [
        0x00000097, 0x020080E7,  # auipc ra, 0; jalr ra, 32(ra)     (f is at 0x20)
        0x00000317, 0x01830067,  # auipc t1, 0; jalr zero, 24(t1)
        0x00000517, 0x01050513,  # auipc a0, 0; addi a0, a0, 16
        0x00000597, 0x0085A583,  # auipc a1, 0; lw a1, 8(a1)
        0x00000297, 0x00B2A023,  # auipc t0, 0; sw a1, 0(t0)
    ]
