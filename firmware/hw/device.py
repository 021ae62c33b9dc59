"""The NPU device: owns the core, memory, registers, pipes and units, and runs them in virtual time.

One time base, ticks of a 1 GHz reference. The core runs in slices up to the next
scheduled event (a pipe completion, the timer, the watchdog, an injection, the host's
deadline); a slice ends early when a callback changes what comes next (an Xnpu issue
that completes sooner, a barrier, a host interrupt). An earlier completion only moves the
running slice's end (no stop and restart) when nothing else is due at the cut
(`fast_paths`; the general path, kept for the equivalence tests, always cuts). Likewise an
issue into a full pipe queue waits for room inside the slice (`wait_in_slice`) while the
rounds of the run loop in between would only retire work. While the core sleeps in `wfi`,
waits at a barrier or is halted, time jumps straight to the next event, so idling costs
nothing however long. Behaviour is delegated: `pipes` (queues, flags, issue, stalls,
deadlock), `hazards` (races), `xnpu` (instruction semantics), `interrupts` (host and
core lines, device errors), `bars` (host access, the core's MMIO port, run control,
load window), `thermal`, `watchdog`, `timer`, `inject`; each attaches the register
effects of its own block. Same inputs give the same run, tick for tick.

Debugger stops of the core (breakpoints, watchpoints, a requested stop, ...) end
`advance`/`run_until` early with reason "core"; calling again continues.

API: `Device(config="default", **overrides)`; `reset()`, `boot(pc)`, `halt(reason)`;
`advance(ticks)`, `run_until(predicate, timeout_ticks)`, `run(cycles | ticks=)`, `step()`
-> `DeviceStop`; `now`; `snapshot()`/`restore(snap)`; `inject(kind, at= | on=)`; the host
side `bar0_read/bar0_write/bar2_read/bar2_write/host_irq_pending` (see `bars`); state to
inspect: `core`, `regs`, `memory`, `cfgregs`, `pipes`, `timeline`, `races`, `errors`,
`thermal`, `watchdog`, `injector`; hooks `on_issue`, `on_complete`, `on_stop`,
`on_error`, `on_race` (lists of callables taking keyword arguments).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from firmware.hw.bars import Bars, MmioPort
from firmware.hw.cfgregs import CfgRegisters
from firmware.hw.clock import Clock
from firmware.hw.config import DeviceConfig, device_config, mhz_of, ticks_per_cycle
from firmware.hw.hazards import HazardTracker, Race
from firmware.hw.inject import Injection, Injector
from firmware.hw.interrupts import DeviceError, Interrupts
from firmware.hw.pipes import Entry as PipeEntry
from firmware.hw.pipes import PipeFront, Pipes, Wait
from firmware.hw.regfile import RegisterFile
from firmware.hw.regmap import regmap
from firmware.hw.thermal import Thermal, attach_thermal, publish
from firmware.hw.timeline import Timeline
from firmware.hw.timer import MachineTimer, attach_timer
from firmware.hw.units import blas, dma
from firmware.hw.units.memory import DeviceMemory
from firmware.hw.watchdog import Watchdog, attach_watchdog
from firmware.hw.xnpu import XnpuHandler
from isa.core import Core, Snapshot, Stop, StopReason
from isa.errors import NpuError
from isa.spec import instruction_set

FOREVER = 1 << 62
_INTERNAL = {StopReason.BUDGET}
_BUDGET = int(StopReason.BUDGET)
_CUT = frozenset(int(r) for r in (StopReason.STOP_REQUESTED, StopReason.XNPU, StopReason.MMIO))


@dataclass(frozen=True)
class DeviceStop:
    """Why `advance`/`run_until`/`step` returned."""

    reason: str  # "time", "predicate", "halted", "core" (a debugger stop of the core), "step", "idle"
    tick: int
    core: Stop | None = None

    def __str__(self) -> str:
        extra = f" ({self.core})" if self.core is not None else ""
        return f"{self.reason} at tick {self.tick}{extra}"


Hook = Callable[..., None]


@cache
def _power_on_state(cfg: DeviceConfig) -> Snapshot:
    """A fresh core's architectural state, no memory (taken from a core with ITCM only: cheap)."""
    return replace(Core(regions=[cfg.region("itcm")]).snapshot(), memory={})


class Device:
    """The whole NPU. See the module docstring; the host-facing methods are listed in `bars`."""

    def __init__(self, config: str | DeviceConfig = "default", **overrides: Any) -> None:
        self.config = config if isinstance(config, DeviceConfig) else device_config(config, **overrides)
        cfg = self.config
        self.clock = Clock(tpc=ticks_per_cycle(cfg.core_mhz))
        self.core = Core(regions=list(cfg.regions))
        self.memory = DeviceMemory((r.name, r.base, self.core.view(r.name)) for r in cfg.regions
                                   if r.kind != "mmio")
        self._defer_unit_work()
        self.regs = RegisterFile(regmap())
        self.regs.clock = lambda: self.now
        self.cfgregs = CfgRegisters()
        iset = instruction_set()
        names = [p.name for _, p in sorted(iset.pipes.items()) if p.name not in ("s", "all")]
        self.pipes = Pipes(names, self.clock, cfg.pipe_depth)
        self.hazards = HazardTracker(names)
        self.timeline = Timeline(cfg.timeline_capacity)
        self.thermal = Thermal(cfg)
        self.watchdog = Watchdog()
        self.timer = MachineTimer()
        self.injector = Injector()
        self.strict_races = cfg.strict_races
        self._fast_paths = True
        # Observation hooks (called with keyword arguments; nothing is done when a list is empty).
        self.on_issue: list[Hook] = []  # entry=
        self.on_complete: list[Hook] = []  # entry=, start=, end=
        self.on_stop: list[Hook] = []  # stop=
        self.on_error: list[Hook] = []  # error=
        self.on_race: list[Hook] = []  # race=
        self.irq = Interrupts(self)
        self.front = PipeFront(self)
        self.xnpu = XnpuHandler(self.front, iset)
        self.bars = Bars(self)
        attach_timer(self)
        attach_watchdog(self)
        attach_thermal(self)
        self.core.xnpu = self.xnpu
        self.core.mmio = MmioPort(self)
        # The core's architectural state, read in place: whether the sleeping core has an
        # interrupt to wake for is asked on every host access (mip and mie, no CSR decoding).
        self._arch = self.core._c.a
        self._thermal_every = cfg.thermal_update_ticks
        self._idle_activity = self.thermal.activity(1, dict.fromkeys((*names, "s"), 0))
        self._in_slice = False
        self._cut = False
        self._watching = False
        self._watching_any = False
        self._slice_end = 0
        self._target = -1  # the running `_loop`'s target tick (-1: no loop runs the slice)
        self._t0 = self._c0 = 0
        self._power_on = _power_on_state(cfg)
        # The host's register accesses go straight to `bars` (one call less on the hottest path);
        # register writes and hooks forget the idle horizon those accesses test.
        self.regs.horizon = self.clock.horizon
        self.core.wake_state_changed = self.clock.horizon.forget  # (a debugger writing mie, ...)
        self.bar0_read = self.bars.bar0_read  # type: ignore[method-assign]
        self.bar0_write = self.bars.bar0_write  # type: ignore[method-assign]
        self.reset()

    def _defer_unit_work(self) -> None:
        """Let the cube and the DMA queue their work on the host's second core (see units.blas):
        the model's thread goes on while the worker copies and multiplies, in retire order.
        Everyone else looks at device memory only after `blas.settle()`: a run returns, a
        snapshot is taken or restored, a plan that cannot be queued retires
        (`PipeFront.retire`), a device hook is called; the core's loads and stores in every
        region the units use wait on the worker's busy flag (a fence on the region)."""
        flag = blas.busy_flag_address()
        if flag is None:
            return
        used = {name for routes in dma.ROUTES.values() for route in routes for name in route}
        for name in sorted(used | {"l0a", "l0b", "l0c"}):
            region = self.memory.by_name.get(name)
            if region is not None:
                self.core.set_fence(region.base, flag)
        self.memory.allow_deferred = True

    # ------------------------------------------------------------ state

    def reset(self) -> None:
        """Core, registers, pipes, units, timer, watchdog and thermal to their reset state.

        Kept: memory contents (TCMs and HBM, as after a soft reset of real silicon), the
        virtual time, the timeline and pending injections (a recovery test arms faults
        across resets).
        """
        self.core.restore(self._power_on)
        self.clock.tpc = ticks_per_cycle(self.config.core_mhz)
        self.clock.clear()
        self.regs.reset()
        self.reg_set("features.memory", self.config.hbm.size >> 20)  # the configuration's HBM
        self.cfgregs.reset()
        self.pipes.reset()
        self.hazards.reset()
        self.thermal.reset()
        self.watchdog = Watchdog()
        self.timer = MachineTimer()
        self.halted: str | None = "off"  # held until the host (or `boot`) starts the core
        self.asleep = False
        self.hung = False
        self.wait: Wait | None = None
        self.races: list[Race] = []
        self.races_dropped = 0
        self.errors: list[DeviceError] = []
        self.errors_dropped = 0
        self._pending_reset = False
        self._accounted = (self.clock.now, self.pipes.busy_at(self.clock.now))
        self.irq.reset()
        publish(self)

    @property
    def fast_paths(self) -> bool:
        """The run loop's and the hazard tracker's fast paths (on): slices shortened in place,
        waits for queue room inside the slice, hazard checks of unordered work only. Off, the
        general paths do the same work the long way; the equivalence tests compare the two."""
        return self._fast_paths

    @fast_paths.setter
    def fast_paths(self, on: bool) -> None:
        self._fast_paths = self.hazards.fast = on

    @property
    def now(self) -> int:
        """Current tick (inside a core slice: the tick of the instruction running now)."""
        if self._in_slice:
            return self._t0 + (self._arch.cycles - self._c0) * self.clock.tpc
        return self.clock.now

    def sync(self) -> int:
        """Bring the clock to the core's position (callbacks call this first); returns the tick."""
        clock = self.clock
        if self._in_slice:
            clock.now = self._t0 + (self._arch.cycles - self._c0) * clock.tpc
        return clock.now

    def set_clock_mhz(self, mhz: int) -> None:
        """Switch the core/unit clock (the thermal block decides: DVFS request, throttling).

        Work already running keeps its end tick; new work is costed at the new clock.
        """
        tpc = ticks_per_cycle(mhz)
        if tpc == self.clock.tpc:
            return
        if self._in_slice:
            self._t0, self._c0 = self.now, self._arch.cycles
        self.clock.tpc = tpc
        if self._in_slice:
            self.core.set_time_base(self._t0, self._c0, tpc)
        self.reg_set("thermal.freq", mhz_of(tpc))

    def boot(self, pc: int | None = None) -> None:
        """Start the core at `pc` (default ctrl.boot_addr), as a host write of ctrl.run = 1 does."""
        self.core.pc = self.regs.peek("ctrl.boot_addr") if pc is None else pc
        self.halted = None
        self.asleep = False
        self.reg_set("ctrl.run", 1)
        self.reg_set("ctrl.state", self.state_value("booting"))
        self.watchdog.wake(self.now)
        self.schedule_watchdog()

    def resume(self) -> None:
        """Continue after a host halt."""
        self.halted = None
        self.reg_set("ctrl.run", 1)
        self.watchdog.wake(self.now)
        self.schedule_watchdog()

    def halt(self, reason: str, state: str = "halted") -> None:
        """Stop the core (a host halt, a watchdog expiry, a deadlock)."""
        self.halted = reason
        self.reg_set("ctrl.run", 0)
        self.reg_set("ctrl.state", self.state_value(state))
        self.watchdog.sleep(self.now)
        self.clock.cancel("watchdog")
        self.cut_slice()

    def request_reset(self) -> None:
        """A soft reset: at once from the host, after the current instruction from firmware."""
        if self._in_slice:
            self._pending_reset = True
            self.cut_slice()
        else:
            self.reset()

    # ------------------------------------------------------------ registers

    def reg_set(self, path: str, value: int, changed_only: bool = False) -> None:
        """A hardware (unit-side) register write: observers see it, no semantics or hooks apply."""
        if not changed_only or self.regs.peek(path) != value:
            self.regs.write(path, value, "unit")

    def on_reg_write(self, path: str, fn: Callable[[int, str, Any], None]) -> None:
        """Call `fn(value written, side, origin)` after each host or firmware write of `path`."""
        self.regs.on_write(path, lambda a: fn(a.new, a.side, a.origin))

    def on_reg_read(self, path: str, fn: Callable[[str, Any], None]) -> None:
        """Call `fn(side, origin)` before each host or firmware read of `path` (to refresh it)."""
        self.regs.on_read(path, lambda a: fn(a.side, a.origin))

    def state_value(self, name: str) -> int:
        return self.regs.map.encode("ctrl.state", state=name)

    def cause_value(self, cause: str) -> int:
        return self.regs.map.encode("dma.err_cause", cause=cause)

    # ------------------------------------------------------------ running

    def advance(self, ticks: int, until_idle: bool = False) -> DeviceStop:
        """Run the device for `ticks` (the host's time passing); returns early on a debugger stop,
        and with `until_idle` (reason "idle") as soon as the core cannot run and nothing is scheduled."""
        return self._run(self.now + max(0, ticks), None, until_idle)

    def host_latency(self, ticks: int) -> None:
        """`advance(ticks)` for a host access, which has no use for the stop (no result is made).

        The common case is a compare and an add: the access ends before the idle horizon
        (`clock.horizon`: the core cannot run and nothing falls due before it), so time just
        moves. Next, the horizon still holds but the thermal model's update falls due: feed
        it, as `_skip_idle` would, and move the horizon on. Otherwise the general way, after
        which the horizon is worked out afresh (`_learn_horizon`).
        """
        clock = self.clock
        target = clock.now + ticks
        horizon = clock.horizon
        if target < horizon.until and ticks >= 0:
            clock.now = target
            return
        if target < horizon.quiet and horizon.until and ticks >= 0:
            clock.now = target
            self._account()
            if horizon.until:  # (the update changed nothing that forgets it)
                horizon.until = min(horizon.quiet, self._accounted[0] + self._thermal_every)
            return
        self._watching = False  # (no core ran above; below, no predicate watches the run)
        target = self.now + max(0, ticks)
        if not self._skip_idle(target):
            self._loop(target, None)
        self._learn_horizon()

    def _learn_horizon(self) -> None:
        """Work out `clock.horizon` from the device as it is now (`Horizon` says who forgets it).

        The conditions are `_skip_idle`'s, without its side effects: the core cannot run
        (halted, hung, waiting, or asleep in wfi with no enabled interrupt pending) and no
        slice or reset is under way; then nothing happens before the next event or pipe
        completion (`quiet`) but the thermal model's update.
        """
        horizon = self.clock.horizon
        arch = self._arch
        if (self._in_slice or self._pending_reset
                or not (self.halted is not None or self.hung or self.wait is not None
                        or (self.asleep and not arch.mip & arch.mie))):
            horizon.until = 0
            return
        nxt = self._next_event_tick()
        quiet = horizon.quiet = FOREVER if nxt is None else nxt
        horizon.until = min(quiet, self._accounted[0] + self._thermal_every)

    def run_until(self, predicate: Callable[[], bool], timeout_ticks: int,
                  until_idle: bool = False) -> DeviceStop:
        """Run until `predicate()` holds (checked whenever device state may have changed) or the timeout
        (or, with `until_idle`, the device going idle, as in `advance`)."""
        return self._run(self.now + max(0, timeout_ticks), predicate, until_idle)

    def run(self, cycles: int | None = None, *, ticks: int | None = None) -> DeviceStop:
        """Run for `cycles` cycles of the current clock, or for `ticks`."""
        if (cycles is None) == (ticks is None):
            raise NpuError("run: give cycles or ticks")
        return self.advance(ticks if ticks is not None else cycles * self.clock.tpc)

    def step(self) -> DeviceStop:
        """Execute one core instruction (or, while the core cannot run, jump to the next event)."""
        if not self._core_can_run():
            nxt = self._next_event_tick()
            return self._run(nxt if nxt is not None else self.now, None)
        self._begin_slice(FOREVER)
        try:
            stop = self._core_stop(self.core.step())
        finally:
            self._end_slice()
        self._process_due()
        if stop is not None and stop.reason != StopReason.STEP:
            return self._stopped(DeviceStop("core", self.now, stop))
        blas.settle()
        return DeviceStop("step", self.now)

    def _run(self, target: int, predicate: Callable[[], bool] | None, until_idle: bool = False) -> DeviceStop:
        self._watching = predicate is not None
        # Whether the predicate may turn true without the slice being cut: the host line
        # cannot (its rise always cuts the slice), anything else may (see `after_callback`).
        self._watching_any = self._watching and predicate != self.host_irq_pending
        try:
            if predicate is None and not until_idle and self._skip_idle(target):
                return DeviceStop("time", self.now)
            return self._loop(target, predicate, until_idle)
        finally:
            blas.settle()  # (also when the run ends in an exception)

    def _loop(self, target: int, predicate: Callable[[], bool] | None,
              until_idle: bool = False) -> DeviceStop:
        clock, pipes = self.clock, self.pipes
        self._target = target
        max_slice = self.config.max_slice_ticks
        if predicate is not None and predicate == self.host_irq_pending:
            predicate = self.irq.host_line  # (the same answer, one call less per round)
        while True:
            self._process_due()
            now = clock.now  # (no slice runs here: the clock is the time)
            if predicate is not None and predicate():
                return self._stopped(DeviceStop("predicate", now))
            if now >= target:
                return self._stopped(DeviceStop("time", now))
            # `_next_event_tick`, inline
            done, ev = pipes.next_completion(), clock.next_event()
            if done is None:
                nxt = None if ev is None else ev[0]
            else:
                nxt = done[0] if ev is None or done[0] < ev[0] else ev[0]
            horizon = target if nxt is None or nxt > target else nxt
            # `_core_can_run`, inline for the running core; a sleeping one may wake there
            if (self.halted is None and not self.hung and self.wait is None
                    and (not self.asleep or self._core_can_run())):
                if horizon > now + max_slice:
                    horizon = now + max_slice
                stop = self._run_core(horizon)
                if stop is not None:
                    return self._stopped(DeviceStop("core", self.now, stop))
            else:
                if nxt is None and until_idle:  # nothing will ever happen without the host
                    return self._stopped(DeviceStop("idle", now))
                if self.hung and self.halted is None:
                    self.core.add_stall(clock.ticks_to_cycles(horizon - now))
                clock.now = horizon
            if clock.now - self._accounted[0] >= self._thermal_every:
                self._account()  # (not due sooner: `_account` would return at once)

    def _skip_idle(self, target: int) -> bool:
        """The fast path of a host access: nothing runs and nothing is due before `target`."""
        nxt = self._next_event_tick()
        if (nxt is not None and nxt <= target) or self._pending_reset or self._core_can_run():
            return False
        self.clock.now = target
        if self._in_slice or target - self._accounted[0] >= self._thermal_every:
            self._account()  # (not due sooner: `_account` would return at once)
        return True

    def _stopped(self, stop: DeviceStop) -> DeviceStop:
        blas.settle()  # whoever gets control back may read the C tiles
        self._account()
        if stop.reason == "core":
            for hook in self.on_stop:
                hook(stop=stop)
        return stop

    def _core_can_run(self) -> bool:
        if self.halted is not None or self.hung or self.wait is not None:
            return False
        if self.asleep:
            arch = self._arch
            if arch.mip & arch.mie:
                self.asleep = False
                self.watchdog.wake(self.now)
                self.schedule_watchdog()
            else:
                return False
        return True

    def _next_event_tick(self) -> int | None:
        done = self.pipes.next_completion()
        ev = self.clock.next_event()
        if done is None:
            return None if ev is None else ev[0]
        return done[0] if ev is None else min(done[0], ev[0])

    def _begin_slice(self, horizon: int) -> None:
        self._in_slice, self._cut = True, False
        self._target = -1  # (a single step: the core never waits inside it, see `wait_in_slice`)
        self._t0, self._c0, self._slice_end = self.clock.now, self._arch.cycles, horizon
        self.core.set_time_base(self._t0, self._c0, self.clock.tpc)  # trace records in ticks

    def _end_slice(self) -> None:
        self.sync()
        self._in_slice = False

    def _run_core(self, horizon: int) -> Stop | None:
        """One slice of the core; returns a stop the caller must report, or None."""
        clock, core = self.clock, self.core
        t0, tpc = clock.now, clock.tpc
        budget = max(1, -(-(horizon - t0) // tpc))
        # `_begin_slice(horizon)`, inline
        self._in_slice, self._cut = True, False
        self._t0, self._c0, self._slice_end = t0, self._arch.cycles, horizon
        core.set_time_base(t0, self._c0, tpc)  # trace records in ticks
        try:
            reason = core.run_slice(self._c0 + budget)
        finally:  # `_end_slice()`, inline
            clock.now = self._t0 + (self._arch.cycles - self._c0) * clock.tpc
            self._in_slice = False
        if reason == _BUDGET:
            return None
        if self._cut and reason in _CUT:  # (as `_core_stop` does, without making the record)
            self._cut = False
            return None
        return self._core_stop(self.core.stop_record(reason))

    def _core_stop(self, stop: Stop) -> Stop | None:
        """Handle the device's own reasons for the core to stop; return the others."""
        if stop.reason in _INTERNAL:
            return None
        if stop.reason == StopReason.WFI:
            self.asleep = True
            self.watchdog.sleep(self.now)
            self.clock.cancel("watchdog")
            return None
        if self._cut and stop.reason in (StopReason.STOP_REQUESTED, StopReason.XNPU, StopReason.MMIO):
            self._cut = False
            return None
        if stop.reason == StopReason.DOUBLE_FAULT:  # the firmware cannot recover: a device error
            self.irq.device_error("fw_trap", stop.tval, stop.insn_pc or stop.pc,
                                  f"double fault: the trap handler traps (mcause {stop.cause})")
            self.halt("fw_trap", "fault")
        return stop

    def cut_slice(self) -> None:
        """End the running core slice at the next instruction boundary (device bookkeeping is due)."""
        if self._in_slice and not self._cut:
            self._cut = True
            try:
                self.core.stop_with("device")  # inside an MMIO or Xnpu callback: after this instruction
            except NpuError:
                self.core.request_stop()

    def after_callback(self, register_write: bool = False) -> None:
        """A callback may have moved the next event earlier (or, for a firmware register write,
        satisfied the host's `run_until` predicate): end the slice sooner if so.

        An earlier pipe completion only shortens the running slice (`Core.shorten_run`), with
        no stop and new slice in between, when the run loop would do nothing at the cut: no
        predicate that might now hold, and the thermal model not yet due to be fed.
        """
        if not self._in_slice or self._cut:
            return
        if self.wait is not None or self.hung or (register_write and self._watching):
            self.cut_slice()
            return
        # `_next_event_tick`, inline: only something earlier than the slice's end matters
        done, ev = self.pipes.next_completion(), self.clock.next_event()
        end = self._slice_end
        if done is not None and done[0] < end:
            nxt = done[0] if ev is None or ev[0] > done[0] else ev[0]
        elif ev is not None and ev[0] < end:
            nxt = ev[0]
        else:
            return
        tpc = self.clock.tpc
        now = self._t0 + (self._arch.cycles - self._c0) * tpc
        if (self._watching_any or now + tpc - self._accounted[0] >= self._thermal_every
                or not self._fast_paths):
            self.cut_slice()
            return
        try:
            self.core.shorten_run(self._c0 + max(0, -(-(nxt - self._t0) // tpc)))
        except NpuError:  # not inside a core callback after all: end the slice the general way
            self.cut_slice()
            return
        self._slice_end = nxt

    def wait_in_slice(self, entry: PipeEntry, since: int) -> bool:
        """The core issued `entry` at tick `since` into a full queue: wait for room without ending
        the slice (`fast_paths`). Returns False, having changed nothing, when the general way
        (`Wait`, cut, rounds of the run loop) must run.

        The run loop would now jump from completion to completion, retiring work outside the
        slice, until the queue has room; then add the stall and start a new slice. Done here
        the same way, round by round, while a round could only retire work: no event, no
        thermal update and no end of the slice falls due, nothing watches a predicate, and
        nothing hooks retirement. A round that changes anything else (an error, the host line,
        ...) ends the slice at its tick with the core waiting, as the run loop has it there.
        """
        if not (self._fast_paths and self._in_slice and not self._cut and not self._watching_any
                and self.wait is None and self.halted is None and not self.hung and not self._pending_reset
                and not (self.on_complete or self.on_error or self.on_race or self.regs._observers)):
            return False
        inj = self.injector
        if inj.waiting or inj.armed:
            return False
        pipes, clock = self.pipes, self.clock
        queue, depth = pipes.queues[entry.pipe], pipes.depth
        arch, tpc = self._arch, clock.tpc
        rounds = 0
        seen = self._run_state()  # (the same before every round: a round that changes it is the last)
        while True:
            done = pipes.next_completion()
            if done is None:
                break
            t = done[0]
            ev = clock.next_event()
            if (t >= self._target or (ev is not None and ev[0] <= t)
                    or t - self._accounted[0] >= self._thermal_every):
                break
            # One round of the run loop at t (`_process_due`): the work retires outside the slice.
            self._in_slice = False
            clock.now = t
            try:
                pipes.advance(t)
            finally:
                self._in_slice = True
                self._t0, self._c0 = t, arch.cycles  # the core stands at t (its stall is added on release)
            rounds += 1
            if self._run_state() != seen:
                break
            if len(queue) < depth:  # `front.update_wait`: room, so the core goes on at t
                arch.cycles += -(-(t - since) // tpc)
                pipes.issue(entry)
                # the slice the run loop would start at t
                nxt = pipes.next_completion()
                ev = clock.next_event()
                horizon = self._target
                if nxt is not None and nxt[0] < horizon:
                    horizon = nxt[0]
                if ev is not None and ev[0] < horizon:
                    horizon = ev[0]
                if horizon > t + self.config.max_slice_ticks:
                    horizon = t + self.config.max_slice_ticks
                c0 = arch.cycles
                self._t0, self._c0, self._slice_end = t, c0, horizon
                self.core.set_time_base(t, c0, tpc)
                core_c = self.core._c
                core_c.until_cycle = c0 + max(1, -(-(horizon - t) // tpc))
                core_c.need_check = 1
                return True
        if not rounds:
            return False
        # Some rounds ran: the core waits from `since`, as the run loop has it at this tick.
        self.wait = Wait("issue", entry.pc, since, None, entry)
        self.cut_slice()
        return True

    def _run_state(self) -> tuple:
        """What a round of the run loop reacts to besides retired work (see `wait_in_slice`)."""
        return (self.halted, self.hung, self.asleep, self._pending_reset, self.wait, len(self.errors),
                self.errors_dropped, len(self.races), self.races_dropped, self.irq.host_line(),
                self._arch.mip, self.clock.next_event(), self.clock.tpc)

    def _process_due(self) -> None:
        """Retire pipe work and fire events due by now, then see whether a waiting core may go on."""
        pipes, clock = self.pipes, self.clock
        now = clock.now if not self._in_slice else self.sync()
        while True:
            done = pipes.next_completion()
            if done is not None and done[0] <= now:  # (`advance` would return at once otherwise)
                pipes.advance(now)
            nxt = clock.next_event()
            if nxt is None or nxt[0] > now:
                break
            self._on_event(clock.pop_due())
            now = self.sync()
        if self._pending_reset:
            self.reset()
        if self.wait is not None:
            self.front.update_wait()
        elif self.asleep:
            self.front.check_sleep()

    def _on_event(self, name: str) -> None:
        if name == "timer":
            self.core.set_interrupt("timer", self.timer.pending(self.now))
        elif name == "watchdog":
            self._watchdog_expired()
        elif name.startswith("inject:"):
            self._triggered(self.injector.trigger_tick(name, self.now))

    def _account(self, force: bool = False) -> None:
        """Feed the thermal model with the activity since the last update (at most every few µs)."""
        t_prev, busy_prev = self._accounted
        now = self.now
        if now <= t_prev or (not force and now - t_prev < self.config.thermal_update_ticks):
            return
        running = self.halted is None and not self.asleep and self.wait is None
        pipes = self.pipes
        if not running and busy_prev == pipes.busy_ticks and pipes.next_completion() is None:
            # Nothing ran since t_prev: every busy count is 0, the activity is the idle one.
            self._accounted = (now, busy_prev)
            flipped = self.thermal.step(now - t_prev, self._idle_activity)
        else:
            busy_now = pipes.busy_at(now)
            busy = {p: busy_now[p] - busy_prev.get(p, 0) for p in pipes.names}
            busy["s"] = now - t_prev if running else 0
            self._accounted = (now, busy_now)
            flipped = self.thermal.update(now - t_prev, busy)
        if flipped:
            self.irq.raise_host("thermal")
        publish(self)

    # ------------------------------------------------------------ watchdog, events, injection

    def schedule_watchdog(self) -> None:
        if self.watchdog.deadline is None:
            self.clock.cancel("watchdog")
        else:
            self.clock.schedule("watchdog", self.watchdog.deadline)

    def _watchdog_expired(self) -> None:
        self.watchdog.expire()
        self.reg_set("wdog.expired", 1)
        self.irq.device_error("watchdog", None, self.core.pc,
                              "watchdog expired: the firmware stopped petting it", cause_bit="watchdog")
        self.halt("watchdog", "fault")

    def inject(self, kind: str, at: int | None = None, on: str | None = None) -> Injection:
        """Arm a fault (see `firmware.hw.inject`); deterministic in virtual time."""
        inj = self.injector.add(kind, at, on, self.now)
        if at is not None:
            self.clock.schedule(self.injector.event_name(inj), at)
        return inj

    def event(self, name: str) -> None:
        """A named device event happened (doorbell, xnpu, dma, completion, irq)."""
        if self.injector.waiting:
            self._triggered(self.injector.trigger_event(name, self.now))

    def _triggered(self, injections: list[Injection]) -> None:
        if any(i.kind == "hang" for i in injections) and self.injector.take("hang", self.now):
            self.hung = True  # the core spins from now on: awake, no progress, no pets
            if self.asleep and self.halted is None:
                self.asleep = False
                self.watchdog.wake(self.now)
                self.schedule_watchdog()
            self.cut_slice()

    # ------------------------------------------------------------ snapshot

    def snapshot(self) -> dict[str, Any]:
        """The whole device state; `restore` brings it back exactly."""
        blas.settle()
        return {
            "core": self.core.snapshot(), "regs": self.regs.snapshot(), "cfg": self.cfgregs.state(),
            "clock": self.clock.state(), "pipes": self.pipes.state(), "hazards": self.hazards.state(),
            "timeline": self.timeline.state(), "thermal": self.thermal.state(),
            "watchdog": self.watchdog.state(), "timer": self.timer.state(), "injector": self.injector.state(),
            "run": (self.halted, self.asleep, self.hung, self.wait, list(self.races), self.races_dropped,
                    list(self.errors), self.errors_dropped, self._accounted, self.front.seq),
            "irq": self.irq.state(),
        }

    def restore(self, snap: dict[str, Any]) -> None:
        blas.settle()  # (queued work must not write into the restored memory)
        self.core.restore(snap["core"])
        self.regs.restore(snap["regs"])
        self.cfgregs.load_state(snap["cfg"])
        self.clock.load_state(snap["clock"])
        self.pipes.load_state(snap["pipes"])
        self.hazards.load_state(snap["hazards"])
        self.timeline.load_state(snap["timeline"])
        self.thermal.load_state(snap["thermal"])
        self.watchdog.load_state(snap["watchdog"])
        self.timer.load_state(snap["timer"])
        self.injector.load_state(snap["injector"])
        (self.halted, self.asleep, self.hung, self.wait, races, self.races_dropped, errors,
         self.errors_dropped, self._accounted, self.front.seq) = snap["run"]
        self.races, self.errors = list(races), list(errors)
        self.irq.load_state(snap["irq"])

    # ------------------------------------------------------------ host side (see bars.py)

    def bar0_read(self, offset: int, width: int = 4, origin: Any = None) -> int:
        return self.bars.bar0_read(offset, width, origin)

    def bar0_write(self, offset: int, width: int, value: int, origin: Any = None) -> None:
        self.bars.bar0_write(offset, width, value, origin)

    def bar2_read(self, offset: int, n: int) -> bytes:
        return self.bars.bar2_read(offset, n)

    def bar2_write(self, offset: int, data: bytes) -> None:
        self.bars.bar2_write(offset, data)

    def host_irq_pending(self) -> bool:
        return self.irq.host_line()
