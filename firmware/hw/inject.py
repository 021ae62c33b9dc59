"""Deterministic fault injection: what to break, when it is triggered, and when it took effect.

`Device.inject(kind, at=TICK)` or `inject(kind, on=EVENT)` adds an injection. It is
*triggered* when virtual time reaches the tick or the named event next happens; it
then *fires* at its natural point:

| kind                 | fires                                                            |
| -------------------- | ---------------------------------------------------------------- |
| `hang`               | at once: the core spins (no progress, no wfi, no watchdog pets)  |
| `lost_irq`           | at the next host interrupt, which is dropped                     |
| `dma_error`          | at the next `npu.dma` issue, which fails with a DMA device error |
| `trap`               | at the next Xnpu issue: an illegal-instruction trap instead      |
| `corrupt_completion` | at the next completion write (firmware's write of a `cq_tail`):  |
|                      | the entry just published has its first word inverted             |

Events: `doorbell` (a host doorbell write), `xnpu` (an Xnpu issue), `dma` (an
`npu.dma` issue), `completion` (a completion write), `irq` (a host interrupt raised).
Every trigger and firing is logged with its tick, so a test can check that a run
repeats exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from isa.errors import NpuError

KINDS = ("hang", "lost_irq", "dma_error", "trap", "corrupt_completion")
EVENTS = ("doorbell", "xnpu", "dma", "completion", "irq")


class InjectError(NpuError):
    """A bad injection request."""


@dataclass(frozen=True)
class Injection:
    id: int
    kind: str
    at: int | None = None
    on: str | None = None

    def __str__(self) -> str:
        when = f"at tick {self.at}" if self.at is not None else f"on {self.on}"
        return f"injection {self.id}: {self.kind} {when}"


@dataclass(frozen=True)
class LogEntry:
    tick: int
    injection: Injection
    what: str  # "triggered" or "fired"


@dataclass
class Injector:
    """Injections waiting for their trigger, triggered ones waiting to fire, and the log."""

    next_id: int = 1
    waiting: list[Injection] = field(default_factory=list)
    armed: list[Injection] = field(default_factory=list)
    log: list[LogEntry] = field(default_factory=list)

    def add(self, kind: str, at: int | None, on: str | None, now: int) -> Injection:
        if kind not in KINDS:
            raise InjectError(f"unknown injection kind '{kind}' (one of {', '.join(KINDS)})")
        if (at is None) == (on is None):
            raise InjectError(f"inject {kind}: give exactly one of at=TICK or on=EVENT")
        if on is not None and on not in EVENTS:
            raise InjectError(f"inject {kind}: unknown event '{on}' (one of {', '.join(EVENTS)})")
        if at is not None and at < now:
            raise InjectError(f"inject {kind}: tick {at} is in the past (now {now})")
        inj = Injection(self.next_id, kind, at, on)
        self.next_id += 1
        self.waiting.append(inj)
        return inj

    @staticmethod
    def event_name(inj: Injection) -> str:
        """The clock event name of a tick-triggered injection."""
        return f"inject:{inj.id}"

    def trigger_tick(self, event_name: str, now: int) -> list[Injection]:
        return self._trigger([i for i in self.waiting if self.event_name(i) == event_name], now)

    def trigger_event(self, event: str, now: int) -> list[Injection]:
        return self._trigger([i for i in self.waiting if i.on == event], now)

    def _trigger(self, hits: list[Injection], now: int) -> list[Injection]:
        for inj in hits:
            self.waiting.remove(inj)
            self.armed.append(inj)
            self.log.append(LogEntry(now, inj, "triggered"))
        return hits

    def take(self, kind: str, now: int) -> Injection | None:
        """Fire the oldest triggered injection of `kind`, if any."""
        for inj in self.armed:
            if inj.kind == kind:
                self.armed.remove(inj)
                self.log.append(LogEntry(now, inj, "fired"))
                return inj
        return None

    def pending(self) -> list[Injection]:
        return self.waiting + self.armed

    def state(self) -> Injector:
        return replace(self, waiting=list(self.waiting), armed=list(self.armed), log=list(self.log))

    def load_state(self, state: Injector) -> None:
        self.next_id = state.next_id
        self.waiting, self.armed, self.log = list(state.waiting), list(state.armed), list(state.log)
