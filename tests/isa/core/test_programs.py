"""Whole programs on the core: sorting, a checksum, recursion with a stack, M-extension corners, x0."""

from __future__ import annotations

import pytest
from programs import DTCM, STACK_TOP, load, run_to, signed, word, words

from isa.core import Core

VALUES = [93, -7, 12, 0, 45, 2_000_000_000, -2_000_000_000, 8, 8, 1, -1, 77, 300, 5, 64, 3]


def test_insertion_sort_orders_signed_words() -> None:
    core = Core()
    data = ", ".join(str(v) for v in VALUES)
    sym = load(core, f"""
    _start:
        la   a0, array
        li   a1, {len(VALUES)}
        li   t0, 1                   # i
    outer:
        bge  t0, a1, done
        slli t1, t0, 2
        add  t1, a0, t1
        lw   t2, 0(t1)               # key
        addi t3, t0, -1              # j
    inner:
        bltz t3, place
        slli t4, t3, 2
        add  t4, a0, t4
        lw   t5, 0(t4)
        ble  t5, t2, place
        sw   t5, 4(t4)
        addi t3, t3, -1
        j    inner
    place:
        addi t4, t3, 1
        slli t4, t4, 2
        add  t4, a0, t4
        sw   t2, 0(t4)
        addi t0, t0, 1
        j    outer
    done:
        j    done
    .data
    array: .word {data}
    """)
    run_to(core, sym)
    assert [signed(v) for v in words(core, sym["array"], len(VALUES))] == sorted(VALUES)


def test_fletcher32_checksum_of_bytes() -> None:
    payload = bytes((i * 37 + 11) & 0xFF for i in range(200))
    core = Core()
    sym = load(core, f"""
    _start:
        la   a0, blob
        li   a1, {len(payload)}
        li   s0, 0                   # sum1
        li   s1, 0                   # sum2
        li   t1, 65535
    loop:
        lbu  t0, 0(a0)
        add  s0, s0, t0
        remu s0, s0, t1
        add  s1, s1, s0
        remu s1, s1, t1
        addi a0, a0, 1
        addi a1, a1, -1
        bnez a1, loop
        slli s1, s1, 16
        or   a0, s1, s0
    done:
        j    done
    .data
    blob: .byte {", ".join(str(b) for b in payload)}
    """)
    run_to(core, sym)
    s1 = s2 = 0
    for b in payload:
        s1 = (s1 + b) % 65535
        s2 = (s2 + s1) % 65535
    assert core.regs["a0"] == (s2 << 16) | s1


def test_recursive_fibonacci_uses_the_stack() -> None:
    core = Core()
    sym = load(core, f"""
    _start:
        li   sp, {STACK_TOP}
        li   a0, 15
        call fib
        mv   s5, sp
    done:
        j    done
    fib:                             # a0 = fib(a0)
        li   t0, 2
        blt  a0, t0, leaf
        addi sp, sp, -12
        sw   ra, 8(sp)
        sw   s0, 4(sp)
        sw   s1, 0(sp)
        mv   s0, a0
        addi a0, s0, -1
        call fib
        mv   s1, a0
        addi a0, s0, -2
        call fib
        add  a0, a0, s1
        lw   s1, 0(sp)
        lw   s0, 4(sp)
        lw   ra, 8(sp)
        addi sp, sp, 12
    leaf:
        ret
    """)
    run_to(core, sym, max_insns=10_000_000)
    assert core.regs["a0"] == 610
    assert core.regs["s5"] == STACK_TOP  # balanced
    assert core.instret == core.cycles  # no stalls: one instruction per cycle


MIN = -(1 << 31)


@pytest.mark.parametrize(("op", "a", "b", "expected"), [
    ("div", 7, 0, -1), ("divu", 7, 0, 0xFFFFFFFF), ("rem", 7, 0, 7), ("remu", 7, 0, 7),
    ("div", MIN, -1, MIN), ("rem", MIN, -1, 0), ("div", -7, 2, -3), ("rem", -7, 2, -1),
    ("divu", -7, 2, 0x7FFFFFFC), ("remu", -7, 2, 1), ("div", 7, -2, -3), ("rem", 7, -2, 1),
    ("mul", MIN, -1, MIN), ("mulh", MIN, -1, 0), ("mulh", -1, -1, 0), ("mulhu", -1, -1, 0xFFFFFFFE),
    ("mulhsu", -1, -1, -1), ("mulhsu", 2, -1, 1), ("mulh", 0x40000000, 4, 1),
    ("sra", MIN, 33, MIN >> 1), ("srl", MIN, 31, 1), ("sll", 1, 32 + 4, 16), ("sltu", 1, -1, 1),
    ("slt", 1, -1, 0),
])
def test_m_extension_and_shift_corners(op: str, a: int, b: int, expected: int) -> None:
    core = Core()
    sym = load(core, f"""
    _start:
        li   a1, {a}
        li   a2, {b}
        {op} a0, a1, a2
    done:
        j    done
    """)
    run_to(core, sym)
    assert core.regs["a0"] == expected & 0xFFFFFFFF


def test_x0_ignores_writes_but_a_load_into_it_still_accesses_memory() -> None:
    core = Core()
    sym = load(core, f"""
    _start:
        addi zero, zero, 5
        lui  zero, 0x12345
        mv   a0, zero
        li   t0, {DTCM + 2}
        lw   zero, 0(t0)             # misaligned: traps even though rd is x0
    done:
        j    done
    handler:
        csrr a1, mcause
        j    done
    """)
    core.set_csr("mtvec", sym["handler"])
    run_to(core, sym)
    assert core.regs[0] == 0 and core.regs["a0"] == 0 and core.regs["a1"] == 4


def test_sub_word_loads_extend_and_stores_truncate() -> None:
    core = Core()
    sym = load(core, """
    _start:
        la   t0, buf
        li   t1, 0x89ABCDEF
        sw   t1, 0(t0)
        lb   a0, 0(t0)
        lbu  a1, 0(t0)
        lh   a2, 2(t0)
        lhu  a3, 2(t0)
        li   t2, 0x1FF
        sb   t2, 4(t0)
        sh   t2, 6(t0)
        lw   a4, 4(t0)
    done:
        j    done
    .data
    buf: .word 0, 0
    """)
    run_to(core, sym)
    r = core.regs
    assert (r["a0"], r["a1"], r["a2"], r["a3"]) == (0xFFFFFFEF, 0xEF, 0xFFFF89AB, 0x89AB)
    assert r["a4"] == 0x01FF00FF
    assert word(core, sym["buf"]) == 0x89ABCDEF
