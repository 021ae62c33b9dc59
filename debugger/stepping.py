"""Stepping: by instruction (stepi, nexti), by source line (step, next), finish and until/advance.

Instruction steps run the device one core instruction at a time; anything bigger
(stepping over a call, finishing a function, running to a location) plants an
internal breakpoint and resumes, so it costs no Python per instruction. A call is an
instruction the table decodes as `jal`/`jalr` writing `ra`. Source lines come from the
image's DWARF line table: a line step stops at the first instruction of another line.
`finish` puts the returned a0 in the stop event (`new`); the session shows it and
records it in the value history, as gdb's "Value returned is $N".
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from debugger.breakpoints import resolve_location
from debugger.errors import DebuggerError
from debugger.stops import StopEvent

if TYPE_CHECKING:
    from debugger.session import Session

MAX_LINE_STEPS = 100_000  # instructions one source-line step may take before it gives up


def _one(s: Session) -> StopEvent | None:
    """One instruction (or, with the core asleep or waiting, the next event); a stop or None."""
    r = s.runner
    if not r.core_runnable() and r.idle():
        return r.event("idle", r._idle_text())
    return r.classify(r.dev.step())


def stepi(s: Session, count: int) -> StopEvent | None:
    for _ in range(max(1, count)):
        ev = _one(s)
        if ev is not None:
            return ev
    return None


def _is_call(s: Session, pc: int) -> bool:
    from isa.registers import register_table
    from isa.spec import instruction_set

    iset = instruction_set()
    word = s.read_int(pc, 4)
    row = iset.decode(word)
    if row is None or row.mnemonic not in ("jal", "jalr"):
        return False
    return iset.operand_values(row, word).get("rd") == register_table().gpr_number("ra")


def _over_call(s: Session) -> StopEvent | None:
    """At a call: run until it returns to the next instruction in this frame."""
    core = s.target.device.core
    sp, ret = core.regs["sp"], core.pc + 4
    s.runner.add_internal(ret, "step", lambda: core.regs["sp"] >= sp)
    ev = s._resume()
    s.runner.clear_internal()
    return None if ev is not None and ev.reason == "step" and not ev.text else ev


def nexti(s: Session, count: int) -> StopEvent | None:
    for _ in range(max(1, count)):
        ev = _over_call(s) if _is_call(s, s.target.device.core.pc) else _one(s)
        if ev is not None:
            return ev
    return None


def step_line(s: Session, count: int, over: bool) -> StopEvent | None:
    prog = s.target.program
    core = s.target.device.core
    for _ in range(max(1, count)):
        start = prog.line_for(core.pc)
        if start is None:
            raise DebuggerError(f"no line information at 0x{core.pc:08x}; use stepi")
        for _ in range(MAX_LINE_STEPS):
            ev = _over_call(s) if over and _is_call(s, core.pc) else _one(s)
            if ev is not None:
                return ev
            row = prog.line_for(core.pc)
            if row is not None and row.addr == core.pc and (row.file, row.line) != (start.file, start.line):
                break
        else:
            return s.runner.event("step", f"Line step gave up after {MAX_LINE_STEPS} instructions.")
    return None


def finish(s: Session) -> StopEvent | None:
    frames = s.code.frames()
    if len(frames) < 2:
        raise DebuggerError('"finish" not meaningful in the outermost frame')
    caller = frames[1]
    core = s.target.device.core
    sp = core.regs["sp"]
    s.out.line(f"Run till exit from #0  {frames[0].where()}")
    s.runner.add_internal(caller.pc, "finish", lambda: core.regs["sp"] >= sp)
    ev = s._resume()
    if ev is not None and ev.reason == "finish":  # returned: the value is in a0 (the ABI's return register)
        ev = dataclasses.replace(ev, new=core.regs["a0"])
    return ev


def until(s: Session, location: str) -> StopEvent | None:
    addrs = resolve_location(s, location)
    for addr in addrs:
        s.runner.add_internal(addr, "until")
    return s._resume()
