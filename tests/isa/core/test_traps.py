"""Traps, interrupts, wfi and CSRs: every cause with its mcause/mtval/mepc, direct and vectored mtvec."""

from __future__ import annotations

import pytest
from programs import DTCM, load, run_to

from isa.core import Core, StopReason
from isa.memmap import Region, memory_map

UNMAPPED = 0x50000000

# Each case: the faulting code (after `fault:`), mcause, and mtval (a callable of the symbols).
CASES = {
    "fetch_misaligned": ("la t0, fault\n addi t0, t0, 6\n jalr zero, 0(t0)", 0, lambda s: s["fault"] + 6),
    "fetch_fault_non_executable": (f"li t0, {DTCM}\n jr t0", 1, lambda s: DTCM),
    "fetch_fault_unmapped": (f"li t0, {UNMAPPED}\n jr t0", 1, lambda s: UNMAPPED),
    "illegal_word": (".word 0xffffffff", 2, lambda s: 0xFFFFFFFF),
    "illegal_unknown_csr": ("csrr a0, 0x7c0", 2, lambda s: 0x7C002573),
    "illegal_write_read_only_csr": ("csrw misa, a0", 2, lambda s: 0x30151073),
    "illegal_xnpu_without_handler": ("npu.cfg a0, a1, mm_m", 2, lambda s: 0x0005B52B),
    "breakpoint": ("ebreak", 3, lambda s: s["trap_pc"]),
    "load_misaligned": (f"li t0, {DTCM + 2}\n lw a0, 0(t0)", 4, lambda s: DTCM + 2),
    "load_fault": (f"li t0, {UNMAPPED}\n lb a0, 0(t0)", 5, lambda s: UNMAPPED),
    "store_misaligned": (f"li t0, {DTCM + 1}\n sh a0, 0(t0)", 6, lambda s: DTCM + 1),
    "store_fault": (f"li t0, {UNMAPPED}\n sw a0, 0(t0)", 7, lambda s: UNMAPPED),
    "ecall": ("ecall", 11, lambda s: 0),
}


def trap_program(code: str) -> str:
    # trap_pc: the faulting instruction (the last line of `code`), except for fetch faults
    lines = code.strip().split("\n")
    body = "\n".join(lines[:-1]) + "\ntrap_pc:\n" + lines[-1]
    return f"""
    _start:
        la   t0, handler
        csrw mtvec, t0
    fault:
        {body}
        nop
    handler:
        csrr s1, mcause
        csrr s2, mtval
        csrr s3, mepc
        csrr s4, mstatus
    done:
        j    done
    """


@pytest.mark.parametrize("name", CASES)
def test_each_trap_cause_sets_mcause_mtval_mepc(name: str) -> None:
    code, cause, tval = CASES[name]
    core = Core()
    core.set_csr("mstatus", 1 << 3)  # MIE: the trap moves it to MPIE
    sym = load(core, trap_program(code))
    run_to(core, sym)
    r = core.regs
    fetch = cause in (0, 1) and name != "fetch_misaligned"
    assert r["s1"] == cause
    assert r["s2"] == tval(sym)
    assert r["s3"] == (tval(sym) if fetch else sym["trap_pc"])
    assert r["s4"] == (1 << 7) | (3 << 11)  # MPIE set, MIE clear, MPP = M
    assert core.instret == core.cycles - 1  # the trapping instruction does not retire


def test_store_to_a_read_only_region_is_a_store_fault() -> None:
    regions = [*memory_map(), Region("rom", 0x30000000, 4096, "ram", "r--", "read-only data")]
    core = Core(regions=regions)
    sym = load(core, trap_program("li t0, 0x30000010\n sw a0, 0(t0)"))
    run_to(core, sym)
    assert (core.regs["s1"], core.regs["s2"]) == (7, 0x30000010)


def test_caught_trap_stops_before_it_is_taken_and_resuming_takes_it() -> None:
    core = Core()
    sym = load(core, trap_program(".word 0"))
    core.catch_traps = {2}
    stop = core.run(max_insns=100)
    assert stop.reason == StopReason.TRAP and (stop.cause, stop.tval) == (2, 0)
    assert stop.pc == sym["trap_pc"] == stop.insn_pc and core.csr("mcause") == 0
    core.catch_traps = set()
    run_to(core, sym)
    assert (core.regs["s1"], core.regs["s3"]) == (2, sym["trap_pc"])


def test_a_trap_handler_that_itself_faults_stops_with_double_fault() -> None:
    core = Core()
    core.set_csr("mtvec", DTCM)  # not executable
    sym = load(core, "_start:\n .word 0\n")
    stop = core.run(max_insns=100)
    assert stop.reason == StopReason.DOUBLE_FAULT and stop.pc == DTCM and stop.cause == 1
    assert core.csr("mepc") == sym["_start"]


IRQ_PROGRAM = """
_start:
    la   t0, {vector}
    csrw mtvec, t0
    li   t0, {enable}
    csrw mie, t0
    csrsi mstatus, 8
    li   s0, 0
spin:
    addi s0, s0, 1
    j    spin
handler:
    csrr s1, mcause
    csrr s2, mepc
    csrr s3, mstatus
done:
    j    done
vectors:
    j    done
    j    done
    j    done
    j    done          # 3: software
    j    done
    j    done
    j    done
    j    timer         # 7: timer
timer:
    csrr s1, mcause
    j    done
"""


@pytest.mark.parametrize(("line", "code"), [("software", 3), ("timer", 7), ("external", 11)])
def test_interrupt_enters_the_direct_handler_at_the_next_boundary(line: str, code: int) -> None:
    core = Core()
    sym = load(core, IRQ_PROGRAM.format(vector="handler", enable=1 << code))
    assert core.run(max_insns=100).reason == StopReason.BUDGET
    core.set_interrupt(line, True)
    run_to(core, sym)
    assert core.regs["s1"] == 0x80000000 | code
    assert core.regs["s2"] in (sym["spin"], sym["spin"] + 4)
    assert core.regs["s3"] == (1 << 7) | (3 << 11)


def test_vectored_mtvec_sends_interrupts_to_base_plus_4_cause() -> None:
    core = Core()
    sym = load(core, IRQ_PROGRAM.format(vector="vectors + 1", enable=1 << 7))
    core.run(max_insns=50)
    core.set_interrupt("timer", True)
    run_to(core, sym)
    assert core.regs["s1"] == 0x80000007
    assert core.csr("mtvec") == sym["vectors"] | 1


def test_interrupts_wait_for_mstatus_mie_and_mie_bits() -> None:
    core = Core()
    sym = load(core, IRQ_PROGRAM.format(vector="handler", enable=1 << 7))
    core.run(max_insns=50)
    core.set_interrupt("external", True)  # not enabled in mie
    core.run(max_insns=50)
    assert core.pc in (sym["spin"], sym["spin"] + 4)
    assert core.csr("mip") == 1 << 11


def test_mret_returns_and_restores_mie() -> None:
    core = Core()
    sym = load(core, """
    _start:
        la   t0, handler
        csrw mtvec, t0
        li   t0, 8
        csrw mie, t0                 # MSIE
        csrsi mstatus, 8
        li   s0, 0
        li   s1, 0
    loop:
        addi s0, s0, 1
        li   t1, 200
        blt  s0, t1, loop
        csrr s2, mstatus
    done:
        j    done
    handler:
        addi s1, s1, 1
        csrci mip, 8                 # acknowledge: clear MSIP
        mret
    """)
    core.run(max_insns=40)
    core.set_interrupt("software", True)
    run_to(core, sym)
    assert core.regs["s0"] == 200 and core.regs["s1"] == 1
    assert core.regs["s2"] & 0x88 == 0x88  # MIE back on, MPIE = 1


def test_wfi_stops_the_run_and_an_interrupt_wakes_it() -> None:
    core = Core()
    sym = load(core, """
    _start:
        la   t0, handler
        csrw mtvec, t0
        li   t0, 128
        csrw mie, t0                 # MTIE
        csrsi mstatus, 8
    sleep:
        wfi
    after:
        li   a0, 1
    done:
        j    done
    handler:
        csrr s1, mepc
        csrw mie, zero               # the timer line stays high: mask it
        mret
    """)
    stop = core.run(max_insns=1000)
    assert stop.reason == StopReason.WFI and stop.pc == sym["after"] and stop.insn_pc == sym["sleep"]
    core.set_interrupt("timer", True)
    run_to(core, sym)
    assert core.regs["s1"] == sym["after"] and core.regs["a0"] == 1


def test_wfi_with_an_enabled_pending_interrupt_and_mie_clear_falls_through() -> None:
    core = Core()
    sym = load(core, "_start:\n li t0, 2048\n csrw mie, t0\n wfi\n li a0, 5\ndone:\n j done\n")
    core.set_interrupt("external", True)
    run_to(core, sym)
    assert core.regs["a0"] == 5


def test_csr_read_modify_write_semantics() -> None:
    core = Core()
    sym = load(core, """
    _start:
        li    t0, 0xF0
        csrw  mscratch, t0           # csrrw rd=x0
        li    t1, 0x0F
        csrrs a0, mscratch, t1       # a0 = 0xF0, mscratch = 0xFF
        csrrc a1, mscratch, t0       # a1 = 0xFF, mscratch = 0x0F
        csrrs a2, mscratch, zero     # read only
        csrrwi a3, mscratch, 21      # a3 = 0x0F, mscratch = 21
        csrrsi a4, mscratch, 10      # a4 = 21, mscratch = 31
        csrrci a5, mscratch, 1       # a5 = 31, mscratch = 30
        csrrsi a6, misa, 0           # read-only CSR, no write: allowed
        csrr  a7, mhartid
        csrr  s0, mscratch
        csrr  s1, mstatus            # MPP reads 3
        rdinstret s2
        rdcycle s3
        li    t0, -1
        csrw  mepc, t0               # WARL: low bits zero
        csrr  s4, mepc
        csrw  mie, t0
        csrr  s5, mie
    done:
        j     done
    """)
    run_to(core, sym)
    r = core.regs
    assert [r[n] for n in ("a0", "a1", "a2", "a3", "a4", "a5")] == [0xF0, 0xFF, 0x0F, 0x0F, 21, 31]
    assert r["s0"] == 30 and r["a6"] == 0x40001100 and r["a7"] == 0
    assert r["s1"] == 3 << 11
    assert r["s2"] == 13 and r["s3"] == 14  # counts before the reading instruction retires
    assert r["s4"] == 0xFFFFFFFC and r["s5"] == 0x888


def test_counters_are_64_bit_and_writable_through_the_machine_csrs() -> None:
    core = Core()
    core.cycles = (5 << 32) | 0xFFFFFFF0
    sym = load(core, """
    _start:
        csrr a0, mcycleh
        csrr a1, cycleh
        li   t0, 100
        csrw minstret, t0
        csrr a2, minstret
    done:
        j    done
    """)
    run_to(core, sym)
    assert core.regs["a0"] == 5 and core.regs["a1"] == 5 and core.regs["a2"] == 100
    assert core.instret == 101  # the csrr that read 100 retired too


def test_csr_access_from_python_by_name_and_number() -> None:
    core = Core()
    core.set_csr("mscratch", 0x1234)
    assert core.csr(0x340) == 0x1234
    with pytest.raises(Exception, match="read-only"):
        core.set_csr("misa", 0)
    with pytest.raises(Exception, match="no CSR named"):
        core.csr("nonsense")
