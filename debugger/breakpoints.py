"""Breakpoints, and the one numbered table of every stop point (breakpoints, watchpoints, catchpoints).

gdb numbers all three kinds from one counter and manages them with the same
commands (enable, disable, delete, condition, ignore, commands, info breakpoints);
`Points` is that table. A `Breakpoint` is on an address, a symbol, `symbol+offset`,
`file:line` or a line of the current file, possibly temporary; each stop at one
checks its condition and ignore count before it counts as a hit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from debugger.errors import DebuggerError
from debugger.stops import StopEvent

if TYPE_CHECKING:
    from debugger.session import Session
    from isa.core import Stop

_FILE_LINE = re.compile(r"^(?P<file>[^:\s]+):(?P<line>\d+)$")
_SYM_OFF = re.compile(r"^(?P<sym>[A-Za-z_.$][\w.$]*)\s*(?P<sign>[+-])\s*(?P<off>\w+)$")
LINE_SEARCH = 50  # lines after a code-less line searched for the next one with code (as gdb does)


@dataclass
class Point:
    """What every stop point has: number, state, condition, ignore count, hits, command list."""

    number: int
    enabled: bool = True
    condition: str | None = None
    ignore: int = 0
    hits: int = 0
    temporary: bool = False
    commands: list[str] = field(default_factory=list)

    type_name = "point"

    def install(self, session: Session) -> None:
        """Arm it in the target (enabled)."""

    def uninstall(self, session: Session) -> None:
        """Disarm it (disabled or deleted)."""

    def what(self, session: Session) -> str:
        return ""

    def address(self) -> int | None:
        return None

    def should_stop(self, session: Session, names: dict[str, int] | None = None) -> bool:
        """Condition true and ignore count used up: this stop counts (and is counted)."""
        if not self.enabled:
            return False
        if self.condition is not None:
            try:
                if not session.eval(self.condition, names):
                    return False
            except DebuggerError as exc:
                session.out.line(f"Error in testing condition for {self.type_name} {self.number}: {exc}")
                return True
        if self.ignore > 0:
            self.ignore -= 1
            return False
        self.hits += 1
        return True


@dataclass
class Breakpoint(Point):
    spec: str = ""
    addrs: tuple[int, ...] = ()
    core_ids: list[int] = field(default_factory=list)

    @property
    def type_name(self) -> str:  # type: ignore[override]
        return "breakpoint"

    def install(self, session: Session) -> None:
        if not self.core_ids:
            core = session.target.device.core
            self.core_ids = [core.add_breakpoint(a) for a in self.addrs]

    def uninstall(self, session: Session) -> None:
        core = session.target.device.core
        for bp in self.core_ids:
            core.remove_breakpoint(bp)
        self.core_ids = []

    def address(self) -> int | None:
        return self.addrs[0] if self.addrs else None

    def what(self, session: Session) -> str:
        if not self.addrs:
            return self.spec
        return session.code.where(self.addrs[0])


class ObservesRegisters:
    """A stop point armed as a register-file observer (device register watches and catches):
    while armed, the runner ends a slice at every firmware register access it might stop at."""

    _observer: Any

    def observe_registers(self, session: Session, observe: Callable[[Any], None]) -> None:
        self._observer = session.target.device.regs.observe(observe)
        session.runner.watching += 1

    def uninstall(self, session: Session) -> None:
        if self._observer is not None:
            session.target.device.regs.unobserve(self._observer)
            self._observer = None
            session.runner.watching -= 1


class Points:
    """Every stop point by number."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self.items: dict[int, Point] = {}
        self._next = 1

    def number(self) -> int:
        n, self._next = self._next, self._next + 1
        return n

    def add(self, point: Point) -> Point:
        if point.enabled:
            point.install(self.s)
        self.items[point.number] = point
        return point

    def get(self, number: int) -> Point:
        point = self.items.get(number)
        if point is None:
            raise DebuggerError(f"no breakpoint number {number}")
        return point

    def delete(self, number: int) -> None:
        point = self.get(number)
        point.uninstall(self.s)
        del self.items[number]

    def enable(self, number: int, on: bool) -> None:
        point = self.get(number)
        if on and not point.enabled:
            point.enabled = True
            point.install(self.s)
        elif not on and point.enabled:
            point.enabled = False
            point.uninstall(self.s)

    def of_type(self, cls: type) -> list[Point]:
        return [p for p in self.items.values() if isinstance(p, cls)]

    def reinstall(self) -> None:
        """After a device reset: arm everything enabled again (the core keeps its breakpoints)."""
        for p in self.items.values():
            if p.enabled:
                p.uninstall(self.s)
                p.install(self.s)

    # ------------------------------------------------------------ hits
    def breakpoint_hit(self, pc: int) -> StopEvent | None:
        hit = [p for p in self.of_type(Breakpoint) if pc in p.addrs and p.should_stop(self.s)]  # type: ignore
        if not hit:
            return None
        bp = hit[0]
        if bp.temporary:
            self.delete(bp.number)
        where = self.s.frame_line(pc)
        label = "Temporary breakpoint" if bp.temporary else "Breakpoint"
        return self.s.runner.event("breakpoint", f"{label} {bp.number}, {where}", number=bp.number)

    def memory_watch_hit(self, stop: Stop) -> StopEvent | None:
        from debugger.watch import MemoryWatch

        for p in self.of_type(MemoryWatch):
            if stop.watchpoint in p.core_ids:  # type: ignore[attr-defined]
                return p.hit(self.s, stop)  # type: ignore[attr-defined]
        return None

    def trap_hit(self, stop: Stop) -> StopEvent | None:
        from debugger.catch import TrapCatch

        for p in self.of_type(TrapCatch):
            ev = p.hit(self.s, stop)  # type: ignore[attr-defined]
            if ev is not None:
                return ev
        text = f"The core trapped: mcause 0x{stop.cause:x}, mtval 0x{stop.tval:x}."
        return self.s.runner.event("trap", text, cause=stop.cause)


# ---------------------------------------------------------------- locations


def resolve_location(session: Session, spec: str) -> list[int]:
    """Addresses of a location: `*EXPR`, `FILE:LINE`, `LINE`, `SYMBOL`, `SYMBOL+OFF`, else an expression."""
    text = spec.strip()
    if not text:
        raise DebuggerError("a location is required")
    if text.startswith("*"):
        return [session.eval(text[1:]) & 0xFFFFFFFF]
    m = _FILE_LINE.match(text)
    if m:
        return [line_address(session, m["file"], int(m["line"]))]
    if text.isdigit():
        current = session.current_file()
        if current is None:
            raise DebuggerError(f"line {text}: no current source file (give FILE:LINE)")
        return [line_address(session, current, int(text))]
    prog = session.target.program
    m = _SYM_OFF.match(text)
    if m and prog.address_of(m["sym"]) is not None:
        off = session.eval(m["off"])
        base = prog.address_of(m["sym"])
        assert base is not None
        return [base + off if m["sign"] == "+" else base - off]
    addr = prog.address_of(text)
    if addr is not None:
        return [addr]
    return [session.eval(text) & 0xFFFFFFFF]


def line_address(session: Session, file: str, line: int) -> int:
    """The first instruction of `file:line`, or of the next line with code (gdb's rule)."""
    prog = session.target.program
    if not any(r.file == file or r.file.endswith("/" + file) for r in prog.lines):
        raise DebuggerError(f"no source file named {file} in the firmware's line table")
    for n in range(line, line + LINE_SEARCH):
        addrs = prog.addresses_for(file, n)
        if addrs:
            return addrs[0]
    raise DebuggerError(f"line {line} in {file} has no code")
