"""Pipe queues and sync flags: when each queued Xnpu instruction starts and finishes.

One in-order queue per pipe (the table's [pipes] section, without the core `s`).
An operation occupies its pipe for `plan.cycles` cycles of the current clock and
retires at its modeled completion tick; `setflag` retires the moment its pipe
reaches it and sets the flag; `waitflag` holds its pipe until the flag is set and
then clears it (flags are single bits, as the table says). Completions are processed
in (tick, pipe order) so that a run is the same every time. `Pipes` only keeps time
and order; `PipeFront` is the core's side: it issues entries (checking hazards), makes
the core wait at a barrier or a full queue, reports a deadlock when nothing can move
(the core waiting, or asleep in wfi with nothing to wake it), and retires work
(executing plans, counting busy cycles, recording the timeline).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from firmware.hw.access import PlainPort, Slot
from firmware.hw.clock import Clock
from firmware.hw.timeline import Span
from firmware.hw.units import blas
from firmware.hw.units.faults import DeviceFault
from isa.core.api import IRQ_LINES

if TYPE_CHECKING:
    from firmware.hw.device import Device
    from firmware.hw.hazards import Race

ILLEGAL_INSTRUCTION = 2  # mcause of an illegal instruction
MIP_MTIP = IRQ_LINES["timer"]  # the machine timer's bit in mip and mie

Flag = tuple[str, str, int]  # (source pipe, destination pipe, event id)
_STALE = object()
_span = tuple.__new__  # `Span(...)`, `Wait(...)` without the named tuple's Python-level __new__


class PlanLike(Protocol):
    reads: Sequence[tuple[int, int]]
    writes: Sequence[tuple[int, int]]
    cycles: int
    deferred: bool

    def execute(self) -> Any: ...


class Entry:
    """One instruction in a pipe queue.

    Never changed once made (hazard records and snapshots share entries). A plain slotted
    class rather than a frozen dataclass: one is made per Xnpu instruction, and a frozen
    dataclass's `__init__` costs several times more.
    """

    __slots__ = ("flag", "issue", "key", "kind", "pc", "pipe", "plan", "seq")

    def __init__(self, seq: int, pipe: str, key: str, pc: int, issue: int, kind: str = "op",
                 plan: PlanLike | None = None, flag: Flag | None = None) -> None:
        self.seq = seq  # global issue order
        self.pipe = pipe
        self.key = key  # table key: npu_dma, npu_mmad, npu_setflag, ...
        self.pc = pc
        self.issue = issue  # tick it was issued
        self.kind = kind  # "op", "set" or "wait"
        self.plan = plan  # for "op"
        self.flag = flag  # for "set" and "wait"

    @property
    def mnemonic(self) -> str:
        return self.key.replace("_", ".", 1)

    def describe(self) -> str:
        return f"{self.mnemonic} at pc 0x{self.pc:08x} ({self.pipe})"

    def __repr__(self) -> str:  # as the dataclass it used to be
        return (f"Entry(seq={self.seq!r}, pipe={self.pipe!r}, key={self.key!r}, pc={self.pc!r}, "
                f"issue={self.issue!r}, kind={self.kind!r}, plan={self.plan!r}, flag={self.flag!r})")


def flag_name(flag: Flag) -> str:
    return f"{flag[0]}->{flag[1]} event {flag[2]}"


RetireHook = Callable[[Entry, int, int], None]  # (entry, start tick, end tick)


class Pipes:
    """The queues, what each pipe is doing now, and the flags between pipes."""

    def __init__(self, names: Iterable[str], clock: Clock, depth: int = 16) -> None:
        self.names = tuple(names)
        self.order = {n: i for i, n in enumerate(self.names)}
        self.clock = clock
        self.depth = depth
        self.on_retire: list[RetireHook] = []
        self.reset()

    def reset(self) -> None:
        self.queues: dict[str, deque[Entry]] = {n: deque() for n in self.names}
        self.current: dict[str, tuple[Entry, int, int] | None] = dict.fromkeys(self.names)
        self._done: Any = _STALE  # next_completion() between changes of `current`
        self.flags: set[Flag] = set()
        self.blocked: dict[str, Flag] = {}
        self.blocked_since: dict[str, int] = {}
        self.busy_ticks = dict.fromkeys(self.names, 0)
        self.busy_cycles = dict.fromkeys(self.names, 0)
        self.completed = dict.fromkeys(self.names, 0)

    # ------------------------------------------------------------ queries

    def has_room(self, pipe: str) -> bool:
        return len(self.queues[pipe]) < self.depth

    def drained(self, pipe: str | None = None) -> bool:
        """True when `pipe` (or every pipe, for None) has nothing queued or running."""
        names = self.names if pipe is None else (pipe,)
        return all(not self.queues[n] and self.current[n] is None for n in names)

    def next_completion(self) -> tuple[int, str] | None:
        """(tick, pipe) of the earliest running operation's completion."""
        done = self._done
        if done is not _STALE:
            return done
        current = self.current
        best_end = -1
        best = ""
        for name in self.names:  # pipe order: on a tie the earlier pipe stays (strict <)
            cur = current[name]
            if cur is not None and (best_end < 0 or cur[2] < best_end):
                best_end, best = cur[2], name
        done = self._done = None if best_end < 0 else (best_end, best)
        return done

    def busy_at(self, tick: int) -> dict[str, int]:
        """Busy ticks per pipe up to `tick`, counting the running operation's elapsed part.

        Differences between two calls give the busy time in between, however long the
        operations are (the thermal model needs this, not lumps at completion).
        """
        out = dict(self.busy_ticks)
        for name, cur in self.current.items():
            if cur is not None:
                out[name] += max(0, min(tick, cur[2]) - cur[1])
        return out

    def stuck(self) -> bool:
        """Nothing is running but something is queued: every such pipe waits on a flag."""
        return self.next_completion() is None and not self.drained()

    def waiting(self) -> dict[str, Flag]:
        """Pipes held by a waitflag, and the flag each waits for."""
        return dict(self.blocked)

    def in_flight(self) -> list[Entry]:
        """Running and queued entries, running first, in pipe order."""
        out = [cur[0] for cur in self.current.values() if cur is not None]
        for q in self.queues.values():
            out.extend(q)
        return out

    # ------------------------------------------------------------ changes

    def issue(self, entry: Entry, now: int | None = None) -> None:
        """Queue `entry` at the current tick (`now`, when the caller has it); an idle pipe starts it now."""
        pipe = entry.pipe
        self.queues[pipe].append(entry)
        if self.current[pipe] is None and pipe not in self.blocked:
            self._kick(pipe, self.clock.now if now is None else now)

    def advance(self, tick: int) -> None:
        """Retire every operation that completes at or before `tick`, in order."""
        hooks = self.on_retire
        while True:
            nxt = self._done
            if nxt is _STALE:
                nxt = self.next_completion()
            if nxt is None or nxt[0] > tick:
                return
            end, pipe = nxt
            current = self.current  # (a hook may reset the pipes: never kept across one)
            entry, start, _ = current[pipe]
            current[pipe] = None
            self._done = _STALE
            self.busy_ticks[pipe] += end - start
            plan = entry.plan
            if plan is not None:
                self.busy_cycles[pipe] += plan.cycles
            self.completed[pipe] += 1
            for hook in hooks:
                hook(entry, start, end)
            if self.queues[pipe]:  # (`_kick` has nothing to do on an empty queue)
                self._kick(pipe, end)

    def discard_blocked(self) -> list[Entry]:
        """Drop the queues of pipes stuck on a flag (after a deadlock is reported)."""
        dropped: list[Entry] = []
        for pipe in list(self.blocked):
            dropped.extend(self.queues[pipe])
            self.queues[pipe].clear()
        self.blocked.clear()
        self.blocked_since.clear()
        return dropped

    def _kick(self, pipe: str, t: int) -> None:
        """Let `pipe` take entries from its queue at tick `t` until it is busy or held."""
        q = self.queues[pipe]
        while q and self.current[pipe] is None:
            head = q[0]
            kind = head.kind
            if kind == "wait":
                flag = head.flag
                if flag not in self.flags:
                    if pipe not in self.blocked:
                        self.blocked[pipe] = flag
                        self.blocked_since[pipe] = t
                    return
                self.flags.discard(flag)
                self.blocked.pop(pipe, None)
                q.popleft()
                since = self.blocked_since.pop(pipe, t)  # the span shows the wait
                for hook in self.on_retire:
                    hook(head, since, t)
                continue
            q.popleft()
            if kind == "set":
                flag = head.flag
                self.flags.add(flag)
                for hook in self.on_retire:
                    hook(head, t, t)
                dst = flag[1]
                if self.blocked.get(dst) == flag:
                    self._kick(dst, t)
                continue
            end = t + max(0, head.plan.cycles) * self.clock.tpc
            self.current[pipe] = (head, t, end)
            # The earliest completion, kept up to date without a scan: a new operation can only
            # move it earlier ((tick, pipe order) decides, as in `next_completion`).
            done = self._done
            if done is not _STALE and (done is None or end < done[0] or
                                       (end == done[0] and self.order[pipe] < self.order[done[1]])):
                self._done = (end, pipe)

    # ------------------------------------------------------------ snapshot

    def state(self) -> tuple[Any, ...]:
        return ({n: tuple(q) for n, q in self.queues.items()}, dict(self.current), frozenset(self.flags),
                dict(self.blocked), dict(self.blocked_since), dict(self.busy_ticks), dict(self.busy_cycles),
                dict(self.completed))

    def load_state(self, state: tuple[Any, ...]) -> None:
        queues, current, flags, blocked, since, busy_ticks, busy_cycles, completed = state
        self.blocked_since = dict(since)
        self.queues = {n: deque(q) for n, q in queues.items()}
        self.current = dict(current)
        self._done = _STALE
        self.flags = set(flags)
        self.blocked = dict(blocked)
        self.busy_ticks = dict(busy_ticks)
        self.busy_cycles = dict(busy_cycles)
        self.completed = dict(completed)


# ---------------------------------------------------------------- the core's side of the pipes


class Wait(NamedTuple):
    """The core is blocked: at a barrier, or issuing into a full pipe queue.

    A named tuple (printed as the frozen dataclass it was): the core waits at a full queue
    hundreds of times per large command, and a frozen dataclass is slow to make.
    """

    kind: str  # "barrier" or "issue"
    pc: int
    since: int
    pipe: str | None = None  # barrier: the pipe, None for all
    entry: Entry | None = None  # issue: the entry waiting for room


class PipeFront:
    """Issue from the core into the pipes: entries, hazards, stalls, deadlock, retirement.

    It is the `XnpuHost` the Xnpu handler talks to. The core's wait (barrier or full
    queue) is `device.wait`; the device's run loop calls `update_wait` whenever time
    moves, which releases it, or reports a deadlock when nothing can move any more.
    """

    def __init__(self, dev: Device) -> None:
        self.dev = dev
        self.memory = dev.memory
        self.cfgregs = dev.cfgregs
        self.seq = 0
        self._busy = {p: self._counter(f"perf.busy_{p}") for p in dev.pipes.names}
        dev.pipes.on_retire.append(self.retire)
        self._attach_registers()

    def _counter(self, path: str) -> tuple[str, Slot, PlainPort | None]:
        """A perf counter's path, slot and unit-side port when that port stores writes plainly
        (`retire` then stores into the slot while nothing observes or hooks the register)."""
        regs = self.dev.regs
        port = regs._ports["unit"][path]  # (the register file's own port for unit writes)
        return path, port.slot, port if type(port) is PlainPort else None

    def xnpu_event(self, core: Any, word: int, pc: int, key: str) -> int | None:
        """Every Xnpu issue: events and injections. Returns the tick of the issue (the callbacks
        pass it along rather than asking the core again), or None when an injected fault replaces it."""
        dev = self.dev
        clock = dev.clock
        if dev._in_slice:  # `dev.sync()`, inline
            clock.now = dev._t0 + (dev._arch.cycles - dev._c0) * clock.tpc
        now = clock.now
        inj = dev.injector
        if not (inj.waiting or inj.armed):  # nothing armed: no event can trigger or fire anything
            return now
        dev.event("xnpu")
        if key == "npu_dma":
            dev.event("dma")
        if inj.take("trap", dev.now):
            core.raise_trap(ILLEGAL_INSTRUCTION, word)
            return None
        if key == "npu_dma" and inj.take("dma_error", dev.now):
            self.unit_fault(DeviceFault("injected", None, "injected DMA error"), pc, key)
            return None
        return dev.sync()  # (a triggered hang cuts the slice; time is where it was)

    def issue_op(self, pipe: str, key: str, pc: int, plan: PlanLike, now: int) -> None:
        """Queue an operation issued at tick `now`, checking it for races first."""
        self.seq += 1
        entry = Entry(self.seq, pipe, key, pc, now, "op", plan)
        races = self.dev.hazards.issue_op(entry, plan.reads, plan.writes, plan.execute)
        if races:
            self.report_races(races)
        self._enqueue(entry, now)

    def issue_sync(self, kind: str, key: str, pc: int, flag: Flag, now: int) -> None:
        self.seq += 1
        entry = Entry(self.seq, flag[0] if kind == "set" else flag[1], key, pc, now, kind, None, flag)
        if kind == "set":
            races = self.dev.hazards.issue_set(entry)
            if races:
                self.report_races(races)
        else:
            self.dev.hazards.issue_wait(entry)
        self._enqueue(entry, now)

    def _enqueue(self, entry: Entry, now: int) -> None:
        dev = self.dev
        if dev.on_issue:
            blas.settle()  # (a hook may look at device memory: it sees what the model says)
            for hook in dev.on_issue:
                hook(entry=entry)
        pipes = dev.pipes
        done = pipes._done
        if done is _STALE or (done is not None and done[0] <= now):  # something may be due by now
            pipes.advance(now)
        pipe = entry.pipe
        q = pipes.queues[pipe]
        if len(q) < pipes.depth:
            q.append(entry)  # `pipes.issue(entry, now)`, inline
            if pipes.current[pipe] is None and pipe not in pipes.blocked:
                pipes._kick(pipe, now)
        elif not dev.wait_in_slice(entry, now):
            dev.wait = _span(Wait, ("issue", entry.pc, now, None, entry))  # Wait("issue", ...), made directly
        dev.after_callback()

    def barrier(self, pipe: str | None, pc: int, now: int) -> None:
        dev = self.dev
        dev.pipes.advance(now)
        if not dev.pipes.drained(pipe):
            dev.wait = Wait("barrier", pc, now, pipe=pipe)
            dev.after_callback()

    def update_wait(self) -> None:
        """Release the waiting core when its condition holds; a deadlock when it never can."""
        dev = self.dev
        w = dev.wait
        if w is None or dev.halted is not None:
            return
        pipes = dev.pipes
        entry = w.entry
        done = pipes.drained(w.pipe) if entry is None else len(pipes.queues[entry.pipe]) < pipes.depth
        if done:
            dev.wait = None
            stall = -(-(dev.now - w.since) // dev.clock.tpc)  # clock.ticks_to_cycles, inline
            if stall >= 0:  # `core.add_stall(stall)`, inline: blocked time counts in mcycle only
                dev._arch.cycles += stall
            else:
                dev.core.add_stall(stall)  # (refuses it)
            if entry is not None:
                pipes.issue(entry)
        elif dev.pipes.next_completion() is None:
            what = f"barrier {w.pipe or 'all'}" if w.entry is None else f"issue to full pipe {w.entry.pipe}"
            self._deadlock(f"waits at {what}", w.pc)

    def check_sleep(self) -> None:
        """The core sleeps in wfi while every pipe with work waits on a flag: a deadlock when
        nothing on the device can wake the core (only the core issues the setflags). An
        enabled interrupt already pending, or an armed timer it enables, may wake it: not yet."""
        dev = self.dev
        if dev.halted is not None or not dev.pipes.stuck():
            return
        arch = dev._arch
        if arch.mip & arch.mie or (arch.mie & MIP_MTIP and "timer" in dev.clock.events):
            return
        self._deadlock("sleeps in wfi", (dev.core.pc - 4) & 0xFFFFFFFF)  # pc is after the wfi

    def _deadlock(self, what: str, pc: int) -> None:
        dev = self.dev
        held = "; ".join(f"{p} waits for {flag_name(f)}" for p, f in sorted(dev.pipes.waiting().items()))
        dev.irq.device_error("deadlock", None, pc, f"deadlock: the core {what} "
                             f"(pc 0x{pc:08x}) and no pipe can move: {held}")
        dev.halt("deadlock", "fault")

    def retire(self, entry: Entry, start: int, end: int) -> None:
        """A pipe reached the end of `entry`: its results become visible now."""
        dev = self.dev
        plan = entry.plan
        if plan is not None:
            if blas.in_flight and not plan.deferred:
                blas.settle()  # queued unit work first: this plan runs here and now
            try:
                plan.execute()
            except DeviceFault as fault:
                dev.irq.device_error(fault.cause, fault.addr, entry.pc, str(fault))
            dev.hazards.complete(entry)
            path, slot, port = self._busy[entry.pipe]
            value = (slot.value + plan.cycles) & 0xFFFFFFFF
            if port is None or port.write_hooks or dev.regs._observers:
                dev.regs.write(path, value, "unit")  # dev.reg_set, inline
            else:  # a plain unit write nobody watches: what `regs.write` would store
                slot.value = value & slot.mask
        # `timeline.add(Span(...))`, inline (one of each per instruction retired)
        timeline = dev.timeline
        spans = timeline.spans
        if len(spans) == timeline.capacity:
            timeline.dropped += 1
        spans.append(_span(Span, (entry.pipe, entry.key, entry.pc, entry.seq, entry.issue, start, end,
                                  entry.kind)))
        if dev.on_complete:
            blas.settle()  # (a hook may look at device memory: it sees what the model says)
            for hook in dev.on_complete:
                hook(entry=entry, start=start, end=end)

    def report_races(self, races: list[Race]) -> None:
        """Keep, hook and (in strict mode) raise each race: pipe and host-transfer races alike."""
        dev = self.dev
        for race in races:
            if len(dev.races) < dev.config.max_reports:
                dev.races.append(race)
            else:
                dev.races_dropped += 1  # a racy loop must not eat the host's memory
            if dev.on_race:
                blas.settle()
                for hook in dev.on_race:
                    hook(race=race)
            if dev.strict_races:
                dev.irq.device_error("race", race.lo, race.second.pc, str(race))

    def unit_fault(self, fault: DeviceFault, pc: int, key: str) -> None:
        """An Xnpu instruction faulted at issue: cfg status/fault_pc, error registers, host IRQ."""
        dev = self.dev
        self.cfgregs.set("status", dev.cause_value(fault.cause))
        self.cfgregs.set("fault_pc", pc)
        dev.irq.device_error(fault.cause, fault.addr, pc, f"{key.replace('_', '.', 1)}: {fault}")
        dev.after_callback()

    def _attach_registers(self) -> None:
        """dma.status (busy = work queued or running on the pipe) and perf's cycle counter, when read."""
        dev = self.dev
        busy_bits = {f.name: f.mask for f in dev.regs.map.register("dma.status").fields}

        def dma_status(side: str, origin: Any) -> None:
            dev.pipes.advance(dev.sync())
            dev.regs.poke("dma.status", sum(bit for p, bit in busy_bits.items() if not dev.pipes.drained(p)))

        def cycles(side: str, origin: Any) -> None:
            c = dev.core.cycles
            dev.regs.poke("perf.cycle_lo", c & 0xFFFFFFFF)
            dev.regs.poke("perf.cycle_hi", (c >> 32) & 0xFFFFFFFF)

        def clear(value: int, side: str, origin: Any) -> None:
            if value & 1:
                for reg in dev.regs.map.block("perf").registers:
                    if reg.path != "perf.clear":
                        dev.reg_set(reg.path, 0)

        dev.on_reg_read("dma.status", dma_status)
        dev.on_reg_read("perf.cycle_lo", cycles)
        dev.on_reg_write("perf.clear", clear)
