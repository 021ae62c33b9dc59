"""The pipe timeline: start and end tick of every instruction on every pipe.

The debugger exports it (Chrome trace format here, for chrome://tracing or Perfetto)
and profiles from it; the device appends one record per instruction when the pipe
retires it. Capacity is bounded: the oldest records are dropped and counted.
"""

from __future__ import annotations

from collections import deque
from typing import Any, NamedTuple


class Span(NamedTuple):
    """One instruction's life on a pipe (ticks); a tuple, since one is made per instruction retired."""

    pipe: str
    key: str  # the table key, e.g. npu_mmad
    pc: int
    seq: int  # global issue order
    issue: int
    start: int
    end: int
    kind: str = "op"  # "op"; "set"/"wait" for flags (a wait's span is the time it held the pipe)

    @property
    def mnemonic(self) -> str:
        return self.key.replace("_", ".", 1)


class Timeline:
    """Bounded list of spans in retirement order."""

    def __init__(self, capacity: int = 1 << 20) -> None:
        self.capacity = capacity
        self.spans: deque[Span] = deque(maxlen=capacity)
        self.dropped = 0

    def add(self, span: Span) -> None:
        if len(self.spans) == self.capacity:
            self.dropped += 1
        self.spans.append(span)

    def clear(self) -> None:
        self.spans.clear()
        self.dropped = 0

    def for_pipe(self, pipe: str) -> list[Span]:
        return [s for s in self.spans if s.pipe == pipe]

    def busy_ticks(self, pipe: str) -> int:
        """Ticks `pipe` spent on operations (waiting on a flag is not work)."""
        return sum(s.end - s.start for s in self.spans if s.pipe == pipe and s.kind == "op")

    def to_chrome_trace(self) -> dict[str, Any]:
        """The spans as Chrome trace events: one thread per pipe, times in microseconds."""
        pipes = sorted({s.pipe for s in self.spans})
        tid = {p: i for i, p in enumerate(pipes)}
        events: list[dict[str, Any]] = [
            {"ph": "M", "name": "thread_name", "pid": 0, "tid": tid[p], "args": {"name": p}} for p in pipes]
        for s in self.spans:
            events.append({"ph": "X", "name": s.mnemonic, "pid": 0, "tid": tid[s.pipe],
                           "ts": s.start / 1000, "dur": (s.end - s.start) / 1000,
                           "args": {"pc": f"0x{s.pc:08x}", "seq": s.seq, "issue": s.issue, "kind": s.kind}})
        return {"traceEvents": events, "displayTimeUnit": "ns"}

    def state(self) -> tuple[tuple[Span, ...], int]:
        return tuple(self.spans), self.dropped

    def load_state(self, state: tuple[tuple[Span, ...], int]) -> None:
        self.spans = deque(state[0], maxlen=self.capacity)
        self.dropped = state[1]
