"""A corpus of standard instructions and pseudo-instructions gives GNU as's exact bytes."""

from __future__ import annotations

import pytest

from isa.asm import assemble
from tests.isa.asm.gnu import gnu_text, needs_binutils

LI_VALUES = ["0", "-1", "1", "2047", "2048", "-2048", "-2049", "0x7fffffff", "0x80000000", "0xfffff800",
             "0x12345678", "0xfffff000", "0x800", "0x7ff", "0x1000", "0xffffffff", "-0x80000000",
             "0x7ffff800", "4096+2047", "'A'"]

CORPUS = {
    "li": "\n".join(f"li a{i % 8}, {v}" for i, v in enumerate(LI_VALUES)),
    "la_call_tail": """
        _start: la a0, target
        la t3, _start
        lla a1, target
        call target
        call t0, target
        tail target
        lw a2, target
        lbu a3, target
        sw a2, target, t4
        sb a2, _start, t5
        .p2align 3
        target: ret
        jal target
        j _start
        jal x0, target
        """,
    "branches": """
        back: nop
        beq a0, a1, back
        bne a0, a1, fwd
        blt s0, s1, back
        bge t0, t1, fwd
        bltu a0, zero, back
        bgeu a5, a4, fwd
        beqz a0, back
        bnez a1, fwd
        blez a2, back
        bgez a3, fwd
        bltz a4, back
        bgtz a5, fwd
        bgt a0, a1, back
        ble a0, a1, fwd
        bgtu a0, a1, back
        bleu a0, a1, fwd
        1: beq x0, x0, 1b
        bne x1, x2, 1f
        1: nop
        fwd: ret
        """,
    "alu": """
        add a0, a1, a2; sub s0, s1, s2; sll t0, t1, t2; slt x1, x2, x3; sltu x4, x5, x6
        xor a0, a0, a0; srl a1, a1, a1; sra a2, a3, a4; or ra, sp, gp; and tp, fp, s1
        addi a0, a0, -2048; slti a1, a2, 2047; sltiu a3, a4, 1; xori a5, a6, -1
        ori a7, s2, 0x7ff; andi s3, s4, 0xff; slli s5, s6, 31; srli s7, s8, 1; srai s9, s10, 17
        lui s11, 0xfffff; auipc t3, 0x12345; lui t4, %hi(0x12345678); addi t4, t4, %lo(0x12345678)
        mul a0, a1, a2; mulh a0, a1, a2; mulhsu a0, a1, a2; mulhu a0, a1, a2
        div a0, a1, a2; divu a0, a1, a2; rem a0, a1, a2; remu a0, a1, a2
        mv a0, a1; not a2, a3; neg a4, a5; nop; seqz a0, a1; snez a2, a3; sltz a4, a5; sgtz a6, a7
        """,
    "memory": """
        lb a0, 0(a1); lh a0, -4(sp); lw a0, 2047(a1); lbu a0, -2048(a1); lhu a0, (a1)
        sb a0, 1(a1); sh a0, -2(sp); sw ra, 12(sp); sw zero, %lo(0x100)(t0)
        1: auipc a0, %pcrel_hi(1b + 0x1000)
        lw a1, %pcrel_lo(1b)(a0)
        fence; fence rw, rw; fence iorw, o; fence.i
        """,
    "system": """
        ecall; ebreak; mret; wfi
        csrrw a0, mstatus, a1; csrrs a0, mie, zero; csrrc a0, 0x344, a2
        csrrwi a0, mtvec, 5; csrrsi a0, mepc, 31; csrrci a0, mcause, 1
        csrr a0, mcycle; csrw mscratch, a1; csrs mie, a2; csrc mip, a3
        csrwi mstatus, 8; csrsi mstatus, 8; csrci mstatus, 8
        rdcycle a0; rdcycleh a1; rdinstret a2; rdinstreth a3; unimp
        csrr t0, mhartid; csrr t1, misa; csrr t2, 0xf14
        """,
    "jumps": """
        f: jalr a0; jalr t0, a0; jalr t0, 4(a0); jalr t0, a0, -8; jr t1; ret
        jal ra, f; j f
        """,
    "to_data": """
        la a0, msg; lw a1, msg; sw a1, msg + 4, t0; lui a2, %hi(msg); addi a2, a2, %lo(msg)
        .data
        .word 0
        msg: .word 1, 2
        """,
}

DATA_CORPUS = {
    "directives": """
        .data
        .byte 1, 2, 3
        .balign 4
        .half 0x1234, -1
        .word 0xdeadbeef, 1f - .
        .ascii "ab\\n"
        .asciz "c\\x41\\101"
        .p2align 2
        .fill 3, 2, 0x0102
        .space 5, 0xaa
        .align 3
        1: .zero 4
        .set K, 3
        .rept K
        .word K
        .endr
        .macro push reg, off=0
        sw \\reg, \\off(sp)
        .endm
        push ra
        push s0, 4
        .if K == 3
        .word 7
        .else
        .word 8
        .endif
        .balign 8, 0xee
        .word msg
        msg: .string "x"
        .org 0x80
        .2byte 3; .4byte 4; .short 5; .long 6
        """,
}


@needs_binutils
@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_matches_gnu_as(name: str) -> None:
    _compare(CORPUS[name], ".text")


@needs_binutils
@pytest.mark.parametrize("name", sorted(DATA_CORPUS))
def test_data_corpus_matches_gnu_as(name: str) -> None:
    _compare(DATA_CORPUS[name], ".data")


def _compare(source: str, section: str) -> None:
    image = assemble(source)
    ours = bytes(next(s for s in image.sections if s.name == section).data)
    theirs = gnu_text(source, section)
    if ours != theirs:
        size = max(len(ours), len(theirs))
        words = [(i, ours[i:i + 4].hex(), theirs[i:i + 4].hex()) for i in range(0, size, 4)
                 if ours[i:i + 4] != theirs[i:i + 4]]
        pytest.fail(f"first differences (offset, ours, gnu): {words[:5]}")
