"""Pipe queues and sync flags: when each queued Xnpu instruction starts and finishes.

One in-order queue per pipe (the table's [pipes] section, without the core `s`).
An operation occupies its pipe for `plan.cycles` cycles of the current clock and
retires at its modeled completion tick; `setflag` retires the moment its pipe
reaches it and sets the flag; `waitflag` holds its pipe until the flag is set and
then clears it (flags are single bits, as the table says). Completions are processed
in (tick, pipe order) so that a run is the same every time. This module only keeps
time and order: the device's retire callbacks execute the plans, release hazards and
record the timeline.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from firmware.hw.clock import Clock

Flag = tuple[str, str, int]  # (source pipe, destination pipe, event id)


class PlanLike(Protocol):
    reads: Sequence[tuple[int, int]]
    writes: Sequence[tuple[int, int]]
    cycles: int

    def execute(self) -> Any: ...


@dataclass(frozen=True, eq=False)
class Entry:
    """One instruction in a pipe queue."""

    seq: int  # global issue order
    pipe: str
    key: str  # table key: npu_dma, npu_mmad, npu_setflag, ...
    pc: int
    issue: int  # tick it was issued
    kind: str = "op"  # "op", "set" or "wait"
    plan: PlanLike | None = None  # for "op"
    flag: Flag | None = None  # for "set" and "wait"

    @property
    def mnemonic(self) -> str:
        return self.key.replace("_", ".", 1)

    def describe(self) -> str:
        return f"{self.mnemonic} at pc 0x{self.pc:08x} ({self.pipe})"


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
        self.flags: set[Flag] = set()
        self.blocked: dict[str, Flag] = {}
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
        best: tuple[int, int, str] | None = None
        for name, cur in self.current.items():
            if cur is not None and (best is None or (cur[2], self.order[name]) < best[:2]):
                best = (cur[2], self.order[name], name)
        return None if best is None else (best[0], best[2])

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

    def issue(self, entry: Entry) -> None:
        """Queue `entry` at the current tick; an idle pipe starts it at once."""
        self.queues[entry.pipe].append(entry)
        if self.current[entry.pipe] is None and entry.pipe not in self.blocked:
            self._kick(entry.pipe, self.clock.now)

    def advance(self, tick: int) -> None:
        """Retire every operation that completes at or before `tick`, in order."""
        while True:
            nxt = self.next_completion()
            if nxt is None or nxt[0] > tick:
                return
            end, pipe = nxt
            cur = self.current[pipe]
            assert cur is not None
            entry, start, _ = cur
            self.current[pipe] = None
            self.busy_ticks[pipe] += end - start
            self.busy_cycles[pipe] += entry.plan.cycles if entry.plan is not None else 0
            self.completed[pipe] += 1
            self._retire(entry, start, end)
            self._kick(pipe, end)

    def discard_blocked(self) -> list[Entry]:
        """Drop the queues of pipes stuck on a flag (after a deadlock is reported)."""
        dropped: list[Entry] = []
        for pipe in list(self.blocked):
            dropped.extend(self.queues[pipe])
            self.queues[pipe].clear()
        self.blocked.clear()
        return dropped

    def _retire(self, entry: Entry, start: int, end: int) -> None:
        for hook in self.on_retire:
            hook(entry, start, end)

    def _kick(self, pipe: str, t: int) -> None:
        """Let `pipe` take entries from its queue at tick `t` until it is busy or held."""
        q = self.queues[pipe]
        while q and self.current[pipe] is None:
            head = q[0]
            if head.kind == "wait":
                assert head.flag is not None
                if head.flag not in self.flags:
                    self.blocked[pipe] = head.flag
                    return
                self.flags.discard(head.flag)
                self.blocked.pop(pipe, None)
                q.popleft()
                self._retire(head, t, t)
                continue
            q.popleft()
            if head.kind == "set":
                assert head.flag is not None
                self.flags.add(head.flag)
                self._retire(head, t, t)
                dst = head.flag[1]
                if self.blocked.get(dst) == head.flag:
                    self._kick(dst, t)
                continue
            assert head.plan is not None
            self.current[pipe] = (head, t, t + max(0, head.plan.cycles) * self.clock.tpc)

    # ------------------------------------------------------------ snapshot

    def state(self) -> tuple[Any, ...]:
        return ({n: tuple(q) for n, q in self.queues.items()}, dict(self.current), frozenset(self.flags),
                dict(self.blocked), dict(self.busy_ticks), dict(self.busy_cycles), dict(self.completed))

    def load_state(self, state: tuple[Any, ...]) -> None:
        queues, current, flags, blocked, busy_ticks, busy_cycles, completed = state
        self.queues = {n: deque(q) for n, q in queues.items()}
        self.current = dict(current)
        self.flags = set(flags)
        self.blocked = dict(blocked)
        self.busy_ticks = dict(busy_ticks)
        self.busy_cycles = dict(busy_cycles)
        self.completed = dict(completed)
