"""Virtual time: the device's one time base, the core clock, and named scheduled events.

Time is counted in ticks of a fixed 1 GHz reference (1 tick = 1 ns). The control core
and the units run on a clock of a whole number of ticks per cycle, which DVFS and
thermal throttling change. Scheduled events are named (`timer`, `watchdog`,
`inject:3`, ...): rescheduling a name replaces its tick, so sources never need to
cancel stale entries; the device runs the core in slices up to the earliest one.
Ties are broken by name so that a run is the same on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_STALE: tuple[int, str] = (-1, "")


class Horizon:
    """How far time may move on a device nobody touches while its core cannot run: a host
    access that ends before `until` (exclusive) is only time passing.

    The device works it out after a host access finds it idle: `quiet` is the earliest
    scheduled event or pipe completion, `until` the same or the thermal model's next update
    if sooner. Whatever may bring something sooner forgets it (`forget`, or `until = 0`
    inline on hot paths): the clock's event table changing, and any register write or
    register hook, because every way the device starts, stops or wakes its core writes a
    register (ctrl.run and ctrl.state, the interrupt registers) or schedules an event. A
    forgotten horizon costs one full check at the next host access, nothing more. Code that
    changes the core's interrupt state behind the device's back (a debugger writing mie or
    mip while the core sleeps) calls `forget`; a run of the core needs nothing (time moves
    past the horizon or something forgets it before the core can run).
    """

    __slots__ = ("quiet", "until")

    def __init__(self) -> None:
        self.until = 0  # 0: not known
        self.quiet = 0

    def forget(self) -> None:
        self.until = 0


@dataclass
class Clock:
    """Current tick, ticks per core cycle, and the table of scheduled events.

    Change `events` through `schedule`/`cancel`/`clear`/`load_state` only: the earliest
    event is kept worked out between changes (the device asks for it on every host access).
    """

    now: int = 0
    tpc: int = 1  # ticks per cycle of the core/unit clock
    events: dict[str, int] = field(default_factory=dict)
    _next: tuple[int, str] | None = field(default=_STALE, init=False, repr=False, compare=False)
    horizon: Horizon = field(default_factory=Horizon, init=False, repr=False, compare=False)

    def schedule(self, name: str, tick: int) -> None:
        """Ask to be woken at `tick` (replacing any earlier request of the same name)."""
        self.events[name] = tick
        self._next = _STALE
        self.horizon.until = 0

    def cancel(self, name: str) -> None:
        if self.events.pop(name, None) is not None:
            self._next = _STALE
            self.horizon.until = 0

    def clear(self) -> None:
        """Forget every scheduled event."""
        self.events.clear()
        self._next = _STALE
        self.horizon.until = 0

    def next_event(self) -> tuple[int, str] | None:
        """The earliest scheduled (tick, name), or None when nothing is scheduled."""
        nxt = self._next
        if nxt is _STALE:
            events = self.events
            nxt = self._next = min((tick, name) for name, tick in events.items()) if events else None
        return nxt

    def next_tick(self) -> int | None:
        """The tick of the earliest scheduled event, or None."""
        nxt = self.next_event()
        return None if nxt is None else nxt[0]

    def pop_due(self) -> str | None:
        """Remove and return the name of the earliest event due at or before now."""
        nxt = self.next_event()
        if nxt is None or nxt[0] > self.now:
            return None
        del self.events[nxt[1]]
        self._next = _STALE
        return nxt[1]

    def cycles_to_ticks(self, cycles: int) -> int:
        return cycles * self.tpc

    def ticks_to_cycles(self, ticks: int) -> int:
        """Whole cycles covering `ticks` (rounded up: a partial cycle is still a cycle)."""
        return -(-ticks // self.tpc)

    def state(self) -> tuple[int, int, dict[str, int]]:
        return self.now, self.tpc, dict(self.events)

    def load_state(self, state: tuple[int, int, dict[str, int]]) -> None:
        self.now, self.tpc, events = state
        self.events = dict(events)
        self._next = _STALE
        self.horizon.until = 0
