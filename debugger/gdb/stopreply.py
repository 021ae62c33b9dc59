"""A Session `StopEvent` as gdb's stop reply (`T05…`, `W…`, `X…`) and the console text to send first.

gdb knows its own breakpoints and watchpoints, steps and Ctrl-C, and prints its own
messages for them; for the stops only the debugger understands (idle, traps,
catchpoints, a halted core, the shell's own stop points, the host program's end)
the event's text goes to gdb's console first as `O` output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from debugger.gdb.rsp import le_hex
from isa.registers import GDB_PC, register_table

if TYPE_CHECKING:
    from debugger.stops import StopEvent

# gdb's own signal numbers (the protocol's, whatever the host's are)
SIGINT, SIGILL, SIGTRAP, SIGKILL, SIGBUS, SIGSEGV = 0x02, 0x04, 0x05, 0x09, 0x0A, 0x0B
THREAD_ID = 1  # the one thread: the control core
_WATCH_WORDS = {2: "watch", 3: "rwatch", 4: "awatch"}  # Z type -> stop reason word
_GDB_KNOWS = ("step", "interrupt")


def trap_signal(cause: int | None) -> int:
    """The signal gdb shows for a trap, by the cause's kind in the register table, as a
    Linux target would raise it: an illegal instruction SIGILL, a misaligned access SIGBUS,
    an access fault SIGSEGV, anything else (ebreak, ecall, unknown) SIGTRAP."""
    found = register_table().cause(cause) if cause is not None else None
    if found is None:
        return SIGTRAP
    if found.name == "illegal_instruction":
        return SIGILL
    if found.name.endswith("_misaligned"):
        return SIGBUS
    if found.name.endswith("_fault"):
        return SIGSEGV
    return SIGTRAP


def stop_reply(ev: StopEvent | None, pc: int, why: str = "") -> str:
    """The reply for a stop; `ev` None means "stopped, nothing happened yet" (the answer to `?`).

    `why` is the stop-reason field gdb asked for, e.g. `swbreak:` or `watch:100010`
    (see `why_field`); the pc is sent along so that gdb need not ask for it.
    """
    if ev is not None and ev.reason == "exited":
        return exit_reply(ev.exit_code)
    if ev is None:
        signal = SIGTRAP
    elif ev.reason == "interrupt":
        signal = SIGINT
    else:  # a trap, caught or not, as its cause; every other stop SIGTRAP
        signal = trap_signal(ev.cause)
    return f"T{signal:02x}{why + ';' if why else ''}{GDB_PC:02x}:{le_hex(pc)};thread:{THREAD_ID:x};"


def why_field(ev: StopEvent, ztype: int | None, zaddr: int = 0, zlen: int = 0) -> str:
    """The reason field for a stop at one of gdb's own points (its Z type, address and length):
    `swbreak:`/`hwbreak:` for breakpoints, `watch:`/`rwatch:`/`awatch:` with the data address."""
    if ev.reason == "breakpoint" and ztype in (0, 1):
        return "swbreak:" if ztype == 0 else "hwbreak:"
    if ev.reason == "watchpoint" and ztype in _WATCH_WORDS and ev.addr is not None:
        # an access that starts below the watched range still names an address inside it
        addr = min(max(ev.addr, zaddr), zaddr + max(zlen, 1) - 1)
        return f"{_WATCH_WORDS[ztype]}:{addr:x}"
    return ""


def exit_reply(exit_code: int | None) -> str:
    """The host program's end: `Wnn` with its exit status (1 when it raised), `X09` when it was killed."""
    if exit_code is None:
        return f"X{SIGKILL:02x}"
    return f"W{exit_code & 0xFF:02x}"


def console_text(ev: StopEvent, gdb_own: bool, report: str = "") -> str:
    """What to show in gdb's console before the reply: the Session's report of the stop (its text,
    location, displays, a command list's output), or "" when gdb says it itself (a step, Ctrl-C,
    a stop at one of its own points)."""
    if gdb_own or ev.reason in _GDB_KNOWS:
        return ""
    if report:
        return report
    return f"{ev.text}\n" if ev.text else f"{ev}\n"
