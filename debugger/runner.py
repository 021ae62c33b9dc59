"""Execution control: resume the target, and turn what the device did into one `StopEvent`.

The device runs in chunks of virtual time. A chunk ends on a debugger stop of the
core (breakpoint, watchpoint, caught trap, requested stop), on an event an observer
noted (`note()`: device-register watchpoints, MMIO catchpoints, faults), or when the
chunk is used up; `classify` decides whether that is a stop the user sees (a
breakpoint whose condition is false, or whose ignore count is not used up, is run
through). With no host program, `continue` ends with reason "idle" as soon as the
firmware sleeps and nothing is scheduled: the device ends the chunk at that tick.
With a host program the program's thread runs the device through the same
`run_device` and parks on a stop (see hostprog).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from debugger.stops import StopEvent
from isa.core import StopReason
from isa.errors import NpuError

if TYPE_CHECKING:
    from debugger.session import Session
    from firmware.hw.device import Device, DeviceStop

CHUNK_TICKS = 1_000_000_000  # one second of virtual time per chunk (interrupt checks in between)
CoreStopHandler = Callable[["Session", object], "StopEvent | bool | None"]


class Runner:
    """Runs the device for the Session; one run at a time."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self.pending: list[StopEvent] = []
        self.active = False
        self.watching = 0  # observers that need every firmware register write to end a slice
        # core breakpoint id -> (addr, reason, check) of finish/until/next's own breakpoints
        self.internal: dict[int, tuple[int, str, Callable[[], bool]]] = {}
        self.core_stop_handlers: list[CoreStopHandler] = []  # other modules' stops (trace ring full, ...)
        self._interrupt = threading.Event()
        self._requested = False  # a core.request_stop() the core may not have seen yet
        self._last_core: StopReason | None = None
        self._was_halted: str | None = None

    @property
    def dev(self) -> Device:
        return self.s.target.device

    # ------------------------------------------------------------ observers' side
    def note(self, event: StopEvent) -> None:
        """An observer saw a stop condition: end the run at the next instruction boundary."""
        if not self.active:
            return
        self.pending.append(event)
        # Inside a firmware access: stop after this instruction. Outside the core (a host access),
        # the core stops before its next instruction, so the firmware does not run on during the
        # access's latency; the run loop or the host program then reports `pending`.
        try:
            self.dev.core.stop_with(("debugger", event))
        except NpuError:
            self._requested = True
            self.dev.core.request_stop()

    def take_pending(self) -> StopEvent:
        """The first noted stop, with the pc and tick where the target actually stopped."""
        ev = self.pending.pop(0)
        self.pending.clear()
        return dataclasses.replace(ev, pc=self.dev.core.pc, tick=self.dev.now)

    @property
    def interrupted(self) -> bool:
        return self._interrupt.is_set()

    def interrupt(self) -> None:
        """Ctrl-C: thread- and signal-safe."""
        self._interrupt.set()
        self._requested = True
        self.dev.core.request_stop()

    # ------------------------------------------------------------ state
    def core_runnable(self) -> bool:
        dev = self.dev
        if dev.halted is not None or dev.hung or dev.wait is not None:
            return False
        return not (dev.asleep and not (dev.core.csr("mip") & dev.core.csr("mie")))

    def idle(self) -> bool:
        """Nothing will ever happen without the host: the core cannot run and nothing is scheduled."""
        dev = self.dev
        if dev.hung and dev.halted is None:
            return dev.clock.next_event() is None and dev.pipes.next_completion() is None
        return (not self.core_runnable() and dev.clock.next_event() is None
                and dev.pipes.next_completion() is None)

    def state(self) -> str:
        dev = self.dev
        if self.active:
            return "running"
        if dev.halted is not None:
            return "halted" if dev.halted != "off" else "off"
        if dev.hung:
            return "hung"
        if dev.asleep:
            return "asleep"
        if dev.wait is not None:
            return "waiting"
        return "stopped"

    # ------------------------------------------------------------ running
    def begin(self) -> None:
        self._last_core = None
        self.pending.clear()
        self._interrupt.clear()
        self._was_halted = self.dev.halted
        self.active = True

    def end(self) -> None:
        self.active = False
        # A stop request the core never saw (Ctrl-C, or a host access noted while the core slept)
        # belongs to this run only: a run of no instructions consumes it (nothing executes). Not
        # after a caught trap: resuming would take the trap.
        if self._requested and self._last_core != StopReason.TRAP:
            self.dev.core.run(max_insns=0)
        self._requested = False

    def step_over_breakpoint(self) -> StopEvent | None:
        """Resuming at a breakpoint address: run that one instruction first (gdb does the same)."""
        dev = self.dev
        if dev.core.breakpoints.first_at(dev.core.pc) is None or not self.core_runnable():
            return None
        return self.classify(dev.step())

    def run_device(self, predicate: Callable[[], bool] | None = None,
                   timeout_ticks: int | None = None) -> StopEvent | None:
        """Run until a stop (returned), `predicate()` holds or the timeout passes (None); honours
        Ctrl-C. Without a predicate or timeout it also ends at "idle"."""
        dev = self.dev
        deadline = None if timeout_ticks is None else dev.now + timeout_ticks
        while True:
            if self.pending:
                return self.take_pending()
            if self._interrupt.is_set():
                return self.event("interrupt", "Program received signal SIGINT, Interrupt.")
            if predicate is not None and predicate():
                return None
            if deadline is not None and dev.now >= deadline:
                return None
            if predicate is None and deadline is None and self.idle():
                return self.event("idle", self._idle_text())
            chunk = CHUNK_TICKS if deadline is None else min(CHUNK_TICKS, deadline - dev.now)
            until_idle = predicate is None and deadline is None
            if predicate is not None or self.watching:
                def due() -> bool:
                    return bool(self.pending) or (predicate is not None and predicate())

                st = dev.run_until(due, chunk, until_idle)
            else:
                st = dev.advance(chunk, until_idle)
            ev = self.classify(st)
            if ev is not None:
                return ev
            if st.reason == "idle":  # stopped at the tick it went idle, not at the chunk's end
                return self.event("idle", self._idle_text())

    def _idle_text(self) -> str:
        dev = self.dev
        why = "the core is halted" if dev.halted else "the firmware is asleep" if dev.asleep else \
            "the core is hung" if dev.hung else "the core is waiting"
        return f"Target idle: {why} and nothing is scheduled."

    def classify(self, st: DeviceStop) -> StopEvent | None:
        """The user-visible stop in a device stop, or None to keep running."""
        if self.pending:
            return self.take_pending()
        dev = self.dev
        if st.reason == "core" and st.core is not None:
            ev = self._core_stop(st.core)
            if ev is not None:
                return ev
            if self.pending:
                return self.take_pending()
        if dev.halted is not None and dev.halted != self._was_halted:
            self._was_halted = dev.halted
            if dev.halted != "off":
                return self.event("halted", f"The device halted the core ({dev.halted}).")
        return None

    def _core_stop(self, stop: object) -> StopEvent | None:
        from isa.core import Stop

        assert isinstance(stop, Stop)
        s = self.s
        r = stop.reason
        self._last_core = r
        if r == StopReason.STOP_REQUESTED:
            self._requested = False
        if r == StopReason.BREAKPOINT:
            inner = self._internal_hit(stop.pc)
            return inner if inner is not None else s.points.breakpoint_hit(stop.pc)
        if r == StopReason.WATCHPOINT:
            return s.points.memory_watch_hit(stop)
        if r == StopReason.TRAP:
            return s.points.trap_hit(stop)
        if r == StopReason.DOUBLE_FAULT:
            return self.event("trap", f"Double fault: the trap handler traps (mcause 0x{stop.cause:x}).",
                              cause=stop.cause)
        if r == StopReason.STOP_REQUESTED:
            if self._interrupt.is_set():
                return self.event("interrupt", "Program received signal SIGINT, Interrupt.")
            return None
        for handler in self.core_stop_handlers:
            out = handler(s, stop)
            if out is True:
                return None
            if isinstance(out, StopEvent):
                return out
        if r in (StopReason.MMIO, StopReason.XNPU):
            return None
        return self.event("trap", f"The core stopped: {stop}")

    def _internal_hit(self, pc: int) -> StopEvent | None:
        for addr, reason, check in list(self.internal.values()):
            if addr == pc and check():
                return self.event(reason, "")
        return None

    def add_internal(self, addr: int, reason: str, check: Callable[[], bool] = lambda: True) -> int:
        bp = self.dev.core.add_breakpoint(addr)
        self.internal[bp] = (addr, reason, check)
        return bp

    def clear_internal(self) -> None:
        for bp in self.internal:
            self.dev.core.remove_breakpoint(bp)
        self.internal.clear()

    def event(self, reason: str, text: str, **kw: object) -> StopEvent:
        dev = self.dev
        return StopEvent(reason, dev.core.pc, dev.now, text, **kw)  # type: ignore[arg-type]
