"""Stop events and the CPU register numbering every front end shares.

A `StopEvent` says why the target stopped, where (pc, tick) and what happened, in
one line a person can read (`text`) and as fields a program can use. The Session
posts each one to its `StopEvents`, which any front end (the shell, a script, a gdb
remote-protocol server on another thread) can wait on or subscribe to.
CPU registers are numbered as gdb's RISC-V target numbers them, from the register
table (`isa/registers.tbl`): x0..x31, pc, then CSRs at 65 + number.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from isa.registers import GDB_PC, register_table

if TYPE_CHECKING:
    from isa.core import Core

# Why the target stopped (gdb's words where gdb has them).
REASONS = (
    "breakpoint",  # a breakpoint was hit (number)
    "watchpoint",  # a memory or device-register watchpoint triggered (number, old, new)
    "catchpoint",  # a catchpoint: MMIO access, IRQ, trap, fault (number)
    "step",  # stepi/nexti/step/next finished
    "finish",  # the current function returned
    "until",  # until/advance reached its location
    "interrupt",  # Ctrl-C or Session.interrupt()
    "idle",  # firmware asleep with nothing scheduled and no host program running
    "trap",  # the core trapped or double-faulted (not caught)
    "halted",  # the device halted the core (watchdog, host halt, deadlock)
    "exited",  # the host program ended (or raised)
    "time",  # a run with a time or instruction budget used it up
)


@dataclass(frozen=True)
class StopEvent:
    """One stop: reason, pc, tick, and the details of what caused it."""

    reason: str
    pc: int
    tick: int
    text: str = ""  # one line for people: "Breakpoint 1, handle_nop () at cmd_basic.S:10"
    number: int | None = None  # breakpoint / watchpoint / catchpoint number
    addr: int | None = None
    old: int | None = None
    new: int | None = None
    site: str | None = None  # the host call site, or "pc 0x..." for a firmware access
    cause: int | None = None  # a trap (or a trap catchpoint): the mcause the core trapped with
    exit_code: int | None = None  # "exited": the host program's status (None when it was killed)

    def __str__(self) -> str:
        return self.text or f"stopped ({self.reason}) at pc 0x{self.pc:08x}, tick {self.tick}"


Listener = Callable[[StopEvent], None]


class StopEvents:
    """Stop events as they happen: wait for the next one, or be called for each (thread-safe)."""

    def __init__(self, keep: int = 64) -> None:
        self._cond = threading.Condition()
        self._queue: deque[StopEvent] = deque(maxlen=keep)
        self._listeners: tuple[Listener, ...] = ()
        self.last: StopEvent | None = None
        self.count = 0

    def post(self, event: StopEvent) -> None:
        with self._cond:
            self._queue.append(event)
            self.last = event
            self.count += 1
            self._cond.notify_all()
        for listener in self._listeners:
            listener(event)

    def wait(self, timeout: float | None = None) -> StopEvent | None:
        """The oldest event not yet taken, waiting up to `timeout` seconds for one."""
        with self._cond:
            if not self._queue:
                self._cond.wait_for(lambda: bool(self._queue), timeout)
            return self._queue.popleft() if self._queue else None

    def subscribe(self, listener: Listener) -> Listener:
        self._listeners = (*self._listeners, listener)
        return listener

    def unsubscribe(self, listener: Listener) -> None:
        self._listeners = tuple(x for x in self._listeners if x is not listener)


# ---------------------------------------------------------------- gdb register numbering


def gdb_registers() -> list[tuple[int, str]]:
    """(gdb number, name) of every CPU register, in gdb's order: x0..x31 by ABI name, pc, CSRs."""
    table = register_table()
    regs = [(g.gdb_number, g.abi) for g in table.gprs]
    regs.append((GDB_PC, "pc"))
    regs += [(c.gdb_number, c.name) for c in table.csrs]
    return regs


def read_gdb_register(core: Core, number: int) -> int:
    """A CPU register by its gdb number."""
    if 0 <= number < 32:
        return core.regs[number]
    if number == GDB_PC:
        return core.pc
    for gdb, name in gdb_registers():
        if gdb == number:
            return core.csr(name)
    from debugger.errors import DebuggerError

    raise DebuggerError(f"no CPU register with gdb number {number}")


def write_gdb_register(core: Core, number: int, value: int) -> None:
    if 0 <= number < 32:
        core.regs[number] = value
        return
    if number == GDB_PC:
        core.pc = value
        return
    for gdb, name in gdb_registers():
        if gdb == number:
            core.set_csr(name, value)
            return
    from debugger.errors import DebuggerError

    raise DebuggerError(f"no CPU register with gdb number {number}")
