"""The Core API: registers, memory access and views, snapshots, MMIO and Xnpu callbacks, bad input."""

from __future__ import annotations

import random

import numpy as np
import pytest
from programs import DTCM, load, run_to, word

from isa.core import Core, MemoryAccessError, StopReason
from isa.errors import NpuError
from isa.memmap import region
from isa.spec import instruction_set

MMIO = region("mmio").base
HBM = region("hbm").base


def test_registers_by_number_and_abi_name_and_x0() -> None:
    core = Core()
    core.regs["a0"] = 0x1_2345_6789  # truncated to 32 bits
    core.regs[0] = 5
    core.regs["fp"] = 7
    assert core.regs[10] == 0x23456789 and core.regs["x0"] == 0 and core.regs["s0"] == 7
    assert len(list(core.regs)) == 32
    with pytest.raises(NpuError, match="no register named 'q9'"):
        core.regs["q9"]


def test_read_and_write_memory_are_bounds_checked_and_name_the_address() -> None:
    core = Core()
    core.write_mem(DTCM + 8, b"\x01\x02\x03")
    assert core.read_mem(DTCM + 8, 4) == b"\x01\x02\x03\x00"
    with pytest.raises(MemoryAccessError, match="0x50000000"):
        core.read_mem(0x50000000, 4)
    end = region("dtcm").end
    with pytest.raises(MemoryAccessError, match="runs past the end of region dtcm"):
        core.write_mem(end - 2, b"1234")


def test_views_are_zero_copy_and_code_views_read_only() -> None:
    core = Core()
    dtcm = core.view("dtcm")
    dtcm[16:20] = [1, 2, 3, 4]
    assert core.read_mem(DTCM + 16, 4) == b"\x01\x02\x03\x04"
    core.write_mem(DTCM + 20, b"\x09")
    assert dtcm[20] == 9 and dtcm.dtype == np.uint8 and dtcm.size == region("dtcm").size
    with pytest.raises(ValueError):
        core.view("itcm")[0] = 1
    with pytest.raises(NpuError, match="MMIO"):
        core.view("mmio")


def test_lazy_hbm_is_usable_by_the_program() -> None:
    core = Core()
    sym = load(core, f"_start:\n li t0, {HBM + 0x1000_0000 - 4}\n li t1, 77\n sw t1, 0(t0)\n"
                     f" lw a0, 0(t0)\ndone:\n j done\n")
    run_to(core, sym)
    assert core.regs["a0"] == 77 and core.view("hbm")[-4] == 77


COUNTER = """
_start:
    la   t0, counter
loop:
    lw   t1, 0(t0)
    addi t1, t1, 1
    sw   t1, 0(t0)
    j    loop
.data
counter: .word 0
"""


def test_snapshot_and_restore_the_whole_core() -> None:
    core = Core()
    sym = load(core, COUNTER)
    core.write_mem(HBM + 0x123456, b"hbm!")
    core.set_interrupt("external", True)
    core.run(max_insns=400)
    snap = core.snapshot()
    state = (core.pc, list(core.regs), core.cycles, core.instret, word(core, sym["counter"]))
    core.write_mem(HBM + 0x123456, b"gone")
    core.write_mem(HBM + 0x200, b"new")
    core.set_interrupt("external", False)
    core.run(max_insns=1000)
    after = (core.pc, word(core, sym["counter"]))
    core.restore(snap)
    assert (core.pc, list(core.regs), core.cycles, core.instret, word(core, sym["counter"])) == state
    assert core.read_mem(HBM + 0x123456, 4) == b"hbm!" and core.read_mem(HBM + 0x200, 3) == b"\0\0\0"
    assert core.csr("mip") == 1 << 11
    core.run(max_insns=1000)
    assert (core.pc, word(core, sym["counter"])) == after


class Device:
    """An MMIO handler: register 0 counts reads; writes are recorded."""

    def __init__(self) -> None:
        self.reads = 0
        self.writes: list[tuple[int, int, int]] = []

    def read(self, addr: int, size: int) -> int:
        self.reads += 1
        return 0xA0 + self.reads

    def write(self, addr: int, size: int, value: int) -> None:
        self.writes.append((addr, size, value))


MMIO_PROGRAM = f"""
_start:
    li   t0, {MMIO}
first:
    lw   a0, 4(t0)
    lw   a1, 4(t0)
    li   t1, 0x1234
    sh   t1, 8(t0)
    lb   a2, 12(t0)
done:
    j    done
"""


def test_mmio_accesses_call_the_handler() -> None:
    core = Core()
    core.mmio = dev = Device()
    sym = load(core, MMIO_PROGRAM)
    run_to(core, sym)
    assert (core.regs["a0"], core.regs["a1"], core.regs["a2"]) == (0xA1, 0xA2, 0xFFFFFFA3)
    assert dev.writes == [(MMIO + 8, 2, 0x1234)]
    assert core.read_mem(MMIO, 4) == bytes([0xA4, 0, 0, 0])  # debugger reads go to the handler too


def test_without_an_mmio_handler_accesses_fault() -> None:
    core = Core()
    sym = load(core, MMIO_PROGRAM)
    core.catch_traps = {5}
    stop = core.run(max_insns=100)
    assert stop.reason == StopReason.TRAP and (stop.cause, stop.tval) == (5, MMIO + 4)
    assert stop.pc == sym["first"]


def test_an_mmio_handler_can_stop_the_run_and_raise_a_trap() -> None:
    core = Core()

    class Stopping(Device):
        def write(self, addr: int, size: int, value: int) -> None:
            core.stop_with("doorbell")

        def read(self, addr: int, size: int) -> int:
            core.raise_trap(5, addr)
            return 0

    core.mmio = Stopping()
    load(core, MMIO_PROGRAM.replace("lw   a0, 4(t0)\n    lw   a1, 4(t0)\n", ""))
    stop = core.run(max_insns=100)
    assert stop.reason == StopReason.MMIO and stop.detail == "doorbell" and stop.addr == MMIO + 8
    assert stop.pc == stop.insn_pc + 4
    core.catch_traps = {5}
    stop = core.run(max_insns=100)
    assert stop.reason == StopReason.TRAP and stop.tval == MMIO + 12


def test_an_exception_in_an_mmio_handler_surfaces_from_run() -> None:
    core = Core()

    class Broken(Device):
        def read(self, addr: int, size: int) -> int:
            raise KeyError("no such register")

    core.mmio = Broken()
    sym = load(core, MMIO_PROGRAM)
    with pytest.raises(KeyError, match="no such register"):
        core.run(max_insns=100)
    assert core.pc == sym["first"] and core.instret == 1  # the load did not complete
    core.mmio = Device()
    run_to(core, sym)


XNPU_PROGRAM = """
_start:
    li   a1, 9
cfg:
    npu.cfg a0, a1, mm_k
barrier:
    npu.barrier all
    addi a2, a0, 1
done:
    j    done
"""


def test_xnpu_instructions_call_the_handler_once_each() -> None:
    core = Core()
    iset = instruction_set()
    calls = []

    def handler(c: Core, word: int, pc: int) -> None:
        row = iset.decode(word)
        calls.append((row.mnemonic, pc))
        if row.mnemonic == "npu.cfg":
            ops = iset.operand_values(row, word)
            c.regs[ops["rd"]] = 16
        else:
            c.add_stall(100)

    core.xnpu = handler
    sym = load(core, XNPU_PROGRAM)
    run_to(core, sym)
    assert calls == [("npu.cfg", sym["cfg"]), ("npu.barrier", sym["barrier"])]
    assert core.regs["a2"] == 17 and core.cycles == core.instret + 100


def test_xnpu_handler_can_trap_stop_or_raise() -> None:
    core = Core()
    sym = load(core, XNPU_PROGRAM)
    core.xnpu = lambda c, word, pc: c.raise_trap(2, word)
    core.catch_traps = {2}
    stop = core.run(max_insns=100)
    assert stop.reason == StopReason.TRAP and stop.pc == sym["cfg"] and stop.cause == 2

    core.pc = sym["cfg"]
    core.xnpu = lambda c, word, pc: c.stop_with({"pipe": "m"})
    stop = core.run(max_insns=100)
    assert stop.reason == StopReason.XNPU and stop.detail == {"pipe": "m"} and stop.pc == sym["barrier"]

    def broken(c: Core, word: int, pc: int) -> None:
        raise RuntimeError("unit fault")

    core.xnpu = broken
    with pytest.raises(RuntimeError, match="unit fault"):
        core.run(max_insns=100)
    assert core.pc == sym["barrier"]
    with pytest.raises(NpuError, match="only meaningful inside"):
        core.stop_with()
    core.xnpu = lambda c, word, pc: None
    run_to(core, sym)


def test_self_modifying_code_with_fence_i() -> None:
    iset = instruction_set()
    new = iset.encode(iset.by_key["addi"], {"rd": 10, "rs1": 10, "imm_i": 100})
    core = Core()
    sym = load(core, f"""
    _start:
        li   a0, 0
        li   s0, 2
    again:
    patch:
        addi a0, a0, 1
        la   t0, patch
        li   t1, {new}
        sw   t1, 0(t0)
        fence.i
        addi s0, s0, -1
        bnez s0, again
    done:
        j    done
    """)
    run_to(core, sym)
    assert core.regs["a0"] == 101  # first pass the original, second pass the stored instruction


def test_running_from_a_non_executable_region_or_outside_memory_traps() -> None:
    core = Core()
    core.catch_traps = {1}
    for pc in (DTCM, 0x50000000, 0xFFFFFFFC):
        core.pc = pc
        stop = core.run(max_insns=10)
        assert stop.reason == StopReason.TRAP and (stop.cause, stop.tval) == (1, pc)
    core.pc = 2
    core.catch_traps = {0}
    assert core.run(max_insns=10).cause == 0


def _run_random_words(seed: int) -> None:
    rng = random.Random(seed)
    core = Core()
    core.mmio = Device()
    core.xnpu = lambda c, word, pc: None
    code = bytes(rng.getrandbits(8) for _ in range(4096))
    core.write_mem(0, code)
    core.write_mem(DTCM, code)
    for i in range(1, 32):
        core.regs[i] = rng.choice([0, DTCM + 4 * rng.randrange(1024), MMIO, HBM, rng.getrandbits(32)])
    core.set_csr("mtvec", 4 * rng.randrange(1024))
    for _ in range(20):
        stop = core.run(max_insns=5000)
        assert isinstance(stop.reason, StopReason)
        if stop.reason == StopReason.DOUBLE_FAULT:
            core.pc = 0
    assert core.instret <= core.cycles


@pytest.mark.parametrize("seed", range(8))
def test_random_words_never_crash_the_host(seed: int) -> None:
    _run_random_words(seed)


@pytest.mark.long
@pytest.mark.parametrize("chunk", range(20))
def test_many_random_word_programs_never_crash_the_host(chunk: int) -> None:
    for seed in range(1000 + 100 * chunk, 1100 + 100 * chunk):
        _run_random_words(seed)
