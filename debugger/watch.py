"""Watchpoints: on memory (the core's watch slots) and on device registers or fields (observers).

`watch`/`rwatch`/`awatch` take a memory reference (`*(int*)ADDR`, `*ADDR`, `{short}ADDR`,
a data symbol) or a device register or field by name (`DMA.ERR_CAUSE`,
`QUEUE0.SQ_TAIL.TAIL`). Memory watchpoints stop after the accessing instruction with
old and new values and the pc; `watch` (write) stops only when the value changes, as
in gdb. Register watchpoints observe the register file, so they see host, firmware
and unit accesses alike; a condition may use `value` (the new value of the register
or field).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from debugger.breakpoints import ObservesRegisters, Point
from debugger.errors import DebuggerError
from debugger.stops import StopEvent

if TYPE_CHECKING:
    from debugger.session import Session
    from isa.core import Stop

KINDS = {"write": "Hardware watchpoint", "read": "Hardware read watchpoint",
         "access": "Hardware access (read/write) watchpoint"}
_TYPE_SIZES = {"char": 1, "short": 2, "int": 4, "long": 4, "int8_t": 1, "uint8_t": 1, "int16_t": 2,
               "uint16_t": 2, "int32_t": 4, "uint32_t": 4, "unsigned": 4}
_CAST = re.compile(r"^\(\s*(?P<type>(?:unsigned\s+|signed\s+)?\w+)\s*\*\s*\)(?P<rest>.*)$")
_BRACE = re.compile(r"^\{\s*(?P<type>(?:unsigned\s+|signed\s+)?\w+)\s*\}(?P<rest>.*)$")


def _size_of(type_text: str) -> int:
    word = type_text.split()[-1]
    if word not in _TYPE_SIZES:
        raise DebuggerError(f"unknown type '{type_text}' (char, short, int, long, uint8_t, ...)")
    return _TYPE_SIZES[word]


def memory_reference(session: Session, text: str) -> tuple[int, int]:
    """(address, size) of `*(T*)ADDR`, `*ADDR`, `{T}ADDR` or a data symbol."""
    t = text.strip()
    if t.startswith("*"):
        rest = t[1:].strip()
        m = _CAST.match(rest)
        if m:
            return session.eval(m["rest"]) & 0xFFFFFFFF, _size_of(m["type"])
        return session.eval(rest) & 0xFFFFFFFF, 4
    m = _BRACE.match(t)
    if m:
        return session.eval(m["rest"]) & 0xFFFFFFFF, _size_of(m["type"])
    prog = session.target.program
    sym = next((s for s in prog.symbols if s.name == t and s.kind not in ("file", "section")), None)
    if sym is not None:
        return sym.value, sym.size if sym.size in (1, 2, 4, 8) else 4
    raise DebuggerError(f"cannot watch '{text}': give a memory reference (*(int*)ADDR, {{short}}ADDR, "
                        "a data symbol) or a device register name")


@dataclass
class MemoryWatch(Point):
    expr: str = ""
    addr: int = 0
    size: int = 4
    kind: str = "write"
    core_ids: list[int] = field(default_factory=list)

    @property
    def type_name(self) -> str:  # type: ignore[override]
        return {"write": "hw watchpoint", "read": "read watchpoint", "access": "acc watchpoint"}[self.kind]

    def install(self, session: Session) -> None:
        if not self.core_ids:
            self.core_ids = [session.target.device.core.add_watchpoint(self.addr, self.size, self.kind)]

    def uninstall(self, session: Session) -> None:
        for wp in self.core_ids:
            session.target.device.core.remove_watchpoint(wp)
        self.core_ids = []

    def address(self) -> int | None:
        return self.addr

    def what(self, session: Session) -> str:
        return self.expr

    def hit(self, session: Session, stop: Stop) -> StopEvent | None:
        old, new = stop.old, stop.new
        if self.kind == "write" and old is not None and old == new:
            return None
        if not self.should_stop(session, {"value": new or 0}):
            return None
        pc = stop.insn_pc if stop.insn_pc is not None else stop.pc
        lines = [f"\n{KINDS[self.kind]} {self.number}: {self.expr}", ""]
        if self.kind == "read" or stop.kind == "read":
            lines.append(f"Value = {new}")
        else:
            if old is not None:
                lines.append(f"Old value = {old}")
            lines.append(f"New value = {new}")
        lines.append(f"written by the instruction at {session.describe_code(pc)}" if stop.kind == "write"
                     else f"read by the instruction at {session.describe_code(pc)}")
        return session.runner.event("watchpoint", "\n".join(lines).lstrip("\n"), number=self.number,
                                    addr=stop.addr, old=old, new=new, site=f"pc 0x{pc:08x}")


@dataclass
class RegisterWatch(ObservesRegisters, Point):
    """A watch on a device register or one field of it, through the register file's observers."""

    name: str = ""  # display name as typed, canonicalised
    path: str = ""  # register path
    field_name: str | None = None
    kind: str = "write"
    _observer: Any = None

    @property
    def type_name(self) -> str:  # type: ignore[override]
        return {"write": "reg watchpoint", "read": "reg read watchpoint", "access": "reg acc watchpoint"}[
            self.kind]

    def what(self, session: Session) -> str:
        return self.name

    def _value(self, session: Session, raw: int) -> int:
        if self.field_name is None:
            return raw
        return session.target.device.regs.map.field(f"{self.path}.{self.field_name}").extract(raw)

    def install(self, session: Session) -> None:
        if self._observer is not None:
            return

        def observe(a: Any) -> None:
            if a.path != self.path or a.side == "debugger" or not session.runner.active:
                return
            if self.kind == "write":
                if a.kind != "change":
                    return
                old, new = self._value(session, a.old), self._value(session, a.new)
                if old == new:
                    return
            elif a.kind == "change" or (self.kind == "read" and a.kind != "read"):
                return
            else:  # a read or write: its bytes go back to their lanes before a field is taken out
                old, new = self._value(session, a.old), self._value(session, a.in_lanes())
            if not self.should_stop(session, {"value": new}):
                return
            site = session.access_site(a.side, a.origin)
            lines = [f"{KINDS[self.kind].replace('Hardware', 'Register')} {self.number}: {self.name}", ""]
            if self.kind == "read" or a.kind == "read":
                lines.append(f"Value = {_fmt(session, self, new)}")
            else:
                lines += [f"Old value = {_fmt(session, self, old)}",
                          f"New value = {_fmt(session, self, new)}"]
            lines.append(f"{'read' if a.kind == 'read' else 'changed'} by {site}")
            session.runner.note(session.runner.event("watchpoint", "\n".join(lines), number=self.number,
                                                     old=old, new=new, site=site))

        self.observe_registers(session, observe)


def _fmt(session: Session, w: RegisterWatch, value: int) -> str:
    rmap = session.target.device.regs.map
    if w.field_name is not None:
        f = rmap.field(f"{w.path}.{w.field_name}")
        name = f.enum.name_of(value) if f.enum else None
        return f"0x{value:x}" + (f" ({name})" if name else "")
    fields = ", ".join(f"{fv.field.upper()}={fv.enum or hex(fv.value)}" for fv in rmap.decode(w.path, value))
    return f"0x{value:08x}" + (f" [{fields}]" if fields else "")


def register_target(session: Session, name: str) -> tuple[str, str | None] | None:
    """(register path, field name or None) when `name` is a device register or field, else None."""
    from firmware.hw.regmap import Field, Register, RegisterError

    rmap = session.target.device.regs.map
    try:
        found = rmap.find(name)
    except RegisterError:
        return None
    if isinstance(found, Register):
        return found.path, None
    assert isinstance(found, Field)
    return found.register, found.name
