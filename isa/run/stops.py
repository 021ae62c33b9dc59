"""What each of the core's stops means to the bare-metal runner: go on, or end the run and how."""

from __future__ import annotations

from typing import TYPE_CHECKING

from isa.run import (
    CAUSES,
    EXIT_SYSCALL,
    ILLEGAL_INSTRUCTION,
    RESULT_REG,
    SYSCALL_REG,
)

if TYPE_CHECKING:
    from isa.core import Stop
    from isa.run import Runner

# (status, code, pc of the instruction that ended the run, message), or None to keep running
Outcome = tuple[str, int, int, str] | None


def _fault(runner: Runner, what: str, pc: int, tail: str = "") -> Outcome:
    return "fault", -1, pc, f"{what} at pc {runner.where(pc)}{tail}"


def _ecall(runner: Runner, pc: int) -> Outcome:
    core = runner.core
    number = core.regs[SYSCALL_REG] & 0xFFFFFFFF
    if number != EXIT_SYSCALL:
        return _fault(runner, f"unsupported ecall {number}", pc, " (only a7 = 93, exit, is served)")
    code = core.regs[RESULT_REG] & 0xFFFFFFFF
    code = code - (1 << 32) if code & 0x80000000 else code
    return "exit", code, pc, f"exit (ecall 93) with code {code} after {core.instret} instructions"


def _tohost(runner: Runner, pc: int) -> Outcome:
    core = runner.core
    assert runner.tohost is not None
    value = int.from_bytes(core.read_mem(runner.tohost, 4), "little")
    if value == 0:
        return None  # clearing tohost is no command (HTIF)
    if value == 1:
        return "pass", 0, pc, f"tohost = 1: pass after {core.instret} instructions"
    if value & 1:
        n = value >> 1
        return "fail", n, pc, f"tohost = {value:#x}: fail {n} after {core.instret} instructions"
    return _fault(runner, f"tohost written with {value:#x} (neither 1 nor (n << 1) | 1)", pc)


def _describe_trap(runner: Runner, cause: int, tval: int, pc: int) -> str:
    name = CAUSES.get(cause, f"exception {cause}")
    if cause == ILLEGAL_INSTRUCTION:
        word = int.from_bytes(runner.core.read_mem(pc, 4), "little")
        return f"illegal instruction 0x{word:08x}"
    if cause in (4, 5, 6, 7):
        return f"{name} at address 0x{tval:08x}"
    if cause in (0, 1):
        return f"{name} (target 0x{tval:08x})"
    return name


def _trap(runner: Runner, cause: int, tval: int, pc: int) -> Outcome:
    mtvec = runner.core.csr("mtvec")
    what = _describe_trap(runner, cause, tval, pc)
    if mtvec == 0:
        return _fault(runner, what, pc, " (no trap handler)")
    if pc == mtvec & ~3:  # delivering it would fault again at once, forever
        return _fault(runner, f"{what} in the trap handler's first instruction", pc,
                      f" (mtvec 0x{mtvec:08x})")
    return None  # the program has a handler: the core delivers the caught trap on resume


def classify(runner: Runner, stop: Stop, max_insns: int) -> Outcome:
    """The outcome of one `core.run` stop, or None when the run goes on."""
    from isa.core import StopReason

    core = runner.core
    reason = stop.reason
    pc = stop.pc if stop.insn_pc is None else stop.insn_pc
    if reason == StopReason.ECALL:
        return _ecall(runner, pc)
    if reason == StopReason.WATCHPOINT:
        return _tohost(runner, pc)
    if reason == StopReason.TRAP:
        return _trap(runner, stop.cause, stop.tval, pc)
    if reason == StopReason.BUDGET:
        where = runner.where(core.pc)
        return "budget", -1, core.pc, f"budget of {max_insns} instructions exhausted at pc {where}"
    if reason == StopReason.WFI:
        return _fault(runner, "wfi", pc, " waits forever (no device can raise an interrupt)")
    if reason == StopReason.TRACE_FULL:
        return None
    if reason == StopReason.DOUBLE_FAULT:  # only when the cause is not caught; kept for completeness
        what = _describe_trap(runner, stop.cause or 0, stop.tval or 0, pc)
        return _fault(runner, f"{what} in the trap handler's first instruction", pc,
                      f" (mtvec 0x{core.csr('mtvec'):08x})")
    if reason == StopReason.STOP_REQUESTED:
        return "interrupted", -1, core.pc, f"interrupted at pc {runner.where(core.pc)}"
    return _fault(runner, f"unexpected stop ({reason.name.lower()})", pc)
