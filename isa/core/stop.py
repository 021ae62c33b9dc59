"""Why `Core.run()` returned: the StopReason enum and the Stop record with its details."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from isa.core._core import lib


class StopReason(enum.IntEnum):
    """Reasons the C loop returns (values shared with core.h's `enum stop_reason`)."""

    BREAKPOINT = lib.STOP_BREAKPOINT  # before the instruction at a breakpoint runs
    WATCHPOINT = lib.STOP_WATCHPOINT  # after the instruction whose access hit a watchpoint
    MMIO = lib.STOP_MMIO  # an MMIO handler called core.stop_with(); pc is after the access
    XNPU = lib.STOP_XNPU  # an Xnpu handler called core.stop_with(); pc is after the instruction
    TRAP = lib.STOP_TRAP  # a trap in core.catch_traps, before it is taken (resuming takes it)
    ECALL = lib.STOP_ECALL  # stop_on_ecall: pc is after the ecall (the host served it)
    EBREAK = lib.STOP_EBREAK  # stop_on_ebreak: pc is at the ebreak (it has not run)
    WFI = lib.STOP_WFI  # wfi with no enabled interrupt pending; pc is after the wfi
    BUDGET = lib.STOP_BUDGET  # max_insns or until_cycle reached
    STEP = 100  # step() completed its one instruction
    TRACE_FULL = lib.STOP_TRACE_FULL  # the trace ring is full (mode "stop"): drain and continue
    STOP_REQUESTED = lib.STOP_STOP_REQUESTED  # request_stop() was called
    DOUBLE_FAULT = lib.STOP_DOUBLE_FAULT  # the trap handler's first instruction itself traps
    EXCEPTION = lib.STOP_EXCEPTION  # a Python callback raised (run() re-raises it)


ACCESS_KINDS = {lib.ACC_READ: "read", lib.ACC_WRITE: "write", lib.ACC_EXEC: "exec"}


@dataclass(frozen=True)
class Stop:
    """One stop: the reason, the pc the core will run next, and the reason's details.

    `insn_pc` is the instruction that caused the stop when it differs from `pc`
    (watchpoint, ecall, wfi, Xnpu). Breakpoints give `breakpoint` (the lowest id
    at that address); watchpoints `watchpoint`, `addr`, `size`, `kind`, `old`, `new`
    (`old` is None for MMIO); traps `cause` and `tval`; XNPU the handler's `detail`.
    """

    reason: StopReason
    pc: int
    insn_pc: int | None = None
    breakpoint: int | None = None
    watchpoint: int | None = None
    addr: int | None = None
    size: int | None = None
    kind: str | None = None
    old: int | None = None
    new: int | None = None
    cause: int | None = None
    tval: int | None = None
    detail: object = None

    def __str__(self) -> str:
        extra = {k: v for k, v in self.__dict__.items() if v is not None and k not in ("reason", "pc")}
        shown = ", ".join(f"{k}={v:#x}" if isinstance(v, int) else f"{k}={v}" for k, v in extra.items())
        return f"{self.reason.name} at {self.pc:#010x}" + (f" ({shown})" if shown else "")
