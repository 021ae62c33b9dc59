"""Catchpoints: MMIO accesses by register or block, host interrupts, traps, device faults.

- `catch mmio [read|write] NAME [host|firmware]`: a register-file observer; it stops
  after the firmware instruction that made the access, or with a host program paused
  at the call that made it (observers see a write before its side effects run, so a
  doorbell catch stops with the ring filled and the firmware not yet told).
- `catch irq [CAUSE]`: a host interrupt cause latched in HOST_IRQ.STATUS.
- `catch trap [CAUSE]`: the core's own trap catching (`Core.catch_traps`); it stops
  before the trap is taken, and resuming takes it.
- `catch fault`: any device error (the device's `on_error` hook).
- `catch race`: a race the device reports between pipes (its `on_race` hook).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from debugger.breakpoints import ObservesRegisters, Point
from debugger.errors import DebuggerError
from debugger.stops import StopEvent
from isa.registers import register_table

if TYPE_CHECKING:
    from debugger.session import Session
    from isa.core import Stop

# RISC-V privileged spec, table "Machine cause register (mcause) values after trap"
# (exception codes the core raises).
# Exception causes by name, from the register table (the one list of causes); the core runs
# in machine mode only, so an ecall from U-mode cannot happen and is not offered.
TRAP_CAUSES = {c.name: c.code for c in register_table().exceptions() if c.name != "ecall_u"}
SIDES = ("host", "firmware")


def trap_name(cause: int) -> str:
    if cause & 0x80000000:
        return f"interrupt {cause & 0x7FFFFFFF}"
    return next((n for n, c in TRAP_CAUSES.items() if c == cause), f"cause {cause}")


@dataclass
class Catch(Point):
    @property
    def type_name(self) -> str:  # type: ignore[override]
        return "catchpoint"


@dataclass
class MmioCatch(ObservesRegisters, Catch):
    direction: str = "access"  # read, write or access
    name: str = ""  # register or block display name
    paths: frozenset[str] = frozenset()
    side: str | None = None
    _observer: Any = None

    def what(self, session: Session) -> str:
        side = f" {self.side}" if self.side else ""
        return f"mmio {self.direction} {self.name}{side}"

    def install(self, session: Session) -> None:
        if self._observer is not None:
            return

        def observe(a: Any) -> None:
            if a.path not in self.paths or a.kind == "change" or not session.runner.active:
                return
            if a.side not in SIDES or (self.side is not None and a.side != self.side):
                return
            if self.direction != "access" and a.kind != self.direction:
                return
            if not self.should_stop(session, {"value": a.new}):
                return
            site = session.access_site(a.side, a.origin)
            name = a.path.upper()
            text = (f"Catchpoint {self.number} (mmio {a.kind}): {a.side} {a.kind} {name} = 0x{a.new:08x}"
                    f"\n  by {site}")
            session.runner.note(session.runner.event("catchpoint", text, number=self.number,
                                                     addr=session.target.device.regs.map.register(a.path).address,
                                                     new=a.new, site=site))

        self.observe_registers(session, observe)


@dataclass
class IrqCatch(ObservesRegisters, Catch):
    cause: str | None = None  # a field of host_irq.status, or any
    _observer: Any = None

    def what(self, session: Session) -> str:
        return f"irq {self.cause.upper() if self.cause else '(any cause)'}"

    def install(self, session: Session) -> None:
        if self._observer is not None:
            return
        status = session.target.device.regs.map.register("host_irq.status")
        mask = sum(f.mask for f in status.fields if self.cause is None or f.name == self.cause)

        def observe(a: Any) -> None:
            if a.path != status.path or a.kind != "change" or not session.runner.active:
                return
            raised = a.new & ~a.old & mask
            if not raised or not self.should_stop(session, {"value": a.new}):
                return
            names = ", ".join(f.name.upper() for f in status.fields if raised & f.mask)
            text = f"Catchpoint {self.number} (irq): host interrupt {names} raised"
            session.runner.note(session.runner.event("catchpoint", text, number=self.number, new=a.new))

        self.observe_registers(session, observe)


@dataclass
class TrapCatch(Catch):
    cause: int | None = None  # None: every exception cause

    def causes(self) -> set[int]:
        return set(TRAP_CAUSES.values()) if self.cause is None else {self.cause}

    def what(self, session: Session) -> str:
        return f"trap {trap_name(self.cause) if self.cause is not None else '(any exception)'}"

    def _sync(self, session: Session) -> None:
        core = session.target.device.core
        wanted: set[int] = set()
        for p in session.points.of_type(TrapCatch):
            if p.enabled and p is not self:
                wanted |= p.causes()  # type: ignore[attr-defined]
        if self.enabled:
            wanted |= self.causes()
        core.catch_traps = wanted

    def install(self, session: Session) -> None:
        self._sync(session)

    def uninstall(self, session: Session) -> None:
        self.enabled, was = False, self.enabled
        self._sync(session)
        self.enabled = was

    def hit(self, session: Session, stop: Stop) -> StopEvent | None:
        if stop.cause not in self.causes() or not self.should_stop(session):
            return None
        pc = stop.insn_pc if stop.insn_pc is not None else stop.pc
        text = (f"Catchpoint {self.number} (trap {trap_name(stop.cause or 0)}), mtval 0x{stop.tval or 0:x}"
                f"\n  at {session.describe_code(pc)}")
        return session.runner.event("catchpoint", text, number=self.number, addr=stop.tval, cause=stop.cause)


@dataclass
class DeviceHookCatch(Catch):
    """A catchpoint on one of the device's hook lists (`hooks`), which call each hook with one
    keyword argument: the error or race, shown in the stop and addressed by `address_of`."""

    hooks: ClassVar[str] = ""
    label: ClassVar[str] = ""
    _hook: Any = None

    def address_of(self, item: Any) -> int | None:
        return None

    def install(self, session: Session) -> None:
        if self._hook is not None:
            return

        def hook(**reported: Any) -> None:
            (item,) = reported.values()
            if session.runner.active and self.should_stop(session):
                text = f"Catchpoint {self.number} ({self.label}): {item}"
                session.runner.note(session.runner.event("catchpoint", text, number=self.number,
                                                         addr=self.address_of(item)))

        self._hook = hook
        getattr(session.target.device, self.hooks).append(hook)

    def uninstall(self, session: Session) -> None:
        if self._hook is not None:
            getattr(session.target.device, self.hooks).remove(self._hook)
            self._hook = None


@dataclass
class FaultCatch(DeviceHookCatch):
    """Stops at any device error (the device's `on_error` hook)."""

    hooks: ClassVar[str] = "on_error"
    label: ClassVar[str] = "fault"

    def what(self, session: Session) -> str:
        return "fault (any device error)"

    def address_of(self, item: Any) -> int | None:
        return item.addr


def mmio_paths(session: Session, name: str) -> frozenset[str]:
    """Register paths a catch names: one register, or every register of a block."""
    from firmware.hw.regmap import RegisterError

    rmap = session.target.device.regs.map
    try:
        return frozenset({rmap.register(name).path})
    except RegisterError:
        pass
    try:
        return frozenset(r.path for r in rmap.block(name).registers)
    except RegisterError:
        pass
    rmap.register(name)  # raises with a suggestion
    raise DebuggerError(f"no register or block named '{name}'")


def trap_cause(text: str) -> int:
    key = text.strip().lower().replace("-", "_")
    if key in TRAP_CAUSES:
        return TRAP_CAUSES[key]
    try:
        return int(key, 0)
    except ValueError:
        raise DebuggerError(f"unknown trap cause '{text}' (one of {', '.join(TRAP_CAUSES)}, or a number)") \
            from None


@dataclass
class RaceCatch(DeviceHookCatch):
    """Stops when the device reports a race between pipes (unordered overlapping accesses)."""

    hooks: ClassVar[str] = "on_race"
    label: ClassVar[str] = "race"

    def what(self, session: Session) -> str:
        return "race (unordered accesses between pipes)"

    def address_of(self, item: Any) -> int | None:
        return item.lo
