"""One session's traces: MMIO, memory ranges, executed instructions and the stops seen, and saving them.

`tracer(session)` gives the session's `Tracer`, made on first use, which attaches to
the layers: an observer on the device's register file (MMIO), the core's trace ring
(memory, instructions; drained when full through the run loop's core-stop handlers
and at every stop), and the session's stop events (for timelines). Files asked for
with `save(..., at_exit=True)` are written again, complete, when the session ends for
any reason (`close_session`, the session being dropped, interpreter exit after an
exception or Ctrl-C).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from debugger.trace.core import KIND_NAMES, CoreTrace
from debugger.trace.formats import format_for, jsonl_lines, mmiotrace_lines, write_lines
from debugger.trace.mmio import MmioTrace
from isa.core import StopReason

if TYPE_CHECKING:
    from debugger.session import Session
    from debugger.stops import StopEvent

_TRACERS: weakref.WeakKeyDictionary[Any, Tracer] = weakref.WeakKeyDictionary()


def tracer(session: Session) -> Tracer:
    """The session's tracer (made and attached on first use)."""
    t = _TRACERS.get(session)
    if t is None:
        t = _TRACERS[session] = Tracer(session)
    return t


def existing(session: Session) -> Tracer | None:
    """The session's tracer if one was made (views use this: looking must not attach anything)."""
    return _TRACERS.get(session)


def close_session(session: Session) -> None:
    """Flush the session's traces (files saved with at_exit are written complete); safe to repeat."""
    t = _TRACERS.get(session)
    if t is not None:
        t.close()


class Tracer:
    """The traces of one session and what attaches them."""

    def __init__(self, session: Session) -> None:
        dev = session.target.device
        self._session = weakref.ref(session)
        self.device = dev
        self.mmio = MmioTrace(dev.regs)
        self.core = CoreTrace(dev.core)
        self.stops: list[StopEvent] = []
        self.at_exit: dict[str, str] = {}  # path -> format
        self.closed = False
        session.stops.subscribe(self._on_stop)
        session.runner.core_stop_handlers.append(_core_stop)
        # When the session goes away (closed and dropped, or the interpreter exits after an
        # error or Ctrl-C), the traces are flushed; the finalizer holds the tracer, not the session.
        weakref.finalize(session, self.close)

    # ------------------------------------------------------------ attachments
    def _on_stop(self, event: StopEvent) -> None:
        self.stops.append(event)
        if self.core.active:
            self.core.drain()

    def active(self) -> list[str]:
        """What is being traced now, in words (for `trace` and the toolbar)."""
        out = []
        if self.mmio.on:
            out.append("mmio")
        if self.core.ranges:
            out.append("mem")
        if self.core.insn:
            out.append("insn")
        return out

    # ------------------------------------------------------------ rows for people and files
    def mem_rows(self) -> Iterator[dict[str, Any]]:
        self.core.drain()
        rows = self.core.mem.rows()
        for tick, pc, addr, size, value, kind in zip(rows["tick"].tolist(), rows["pc"].tolist(),
                                                      rows["addr"].tolist(), rows["size"].tolist(),
                                                      rows["value"].tolist(), rows["kind"].tolist(),
                                                      strict=True):
            yield {"type": "mem", "tick": tick, "pc": pc, "addr": addr, "size": size, "value": value,
                   "dir": KIND_NAMES[kind]}

    def insn_rows(self) -> Iterator[dict[str, Any]]:
        self.core.drain()
        rows = self.core.pcs.rows()
        for tick, pc in zip(rows["tick"].tolist(), rows["pc"].tolist(), strict=True):
            yield {"type": "insn", "tick": tick, "pc": pc}

    def header(self) -> dict[str, Any]:
        session = self._session()
        firmware = session.target.name if session is not None else "?"
        return {"format": "npudbg-trace", "version": 1, "tick_ns": 1, "firmware": firmware,
                "mmio_dropped": self.mmio.dropped, "mem_dropped": self.core.mem.dropped,
                "insn_dropped": self.core.pcs.dropped,
                "mem_ranges": [[r.lo, r.hi] for r in self.core.ranges]}

    def save(self, path: str | Path, fmt: str | None = None, at_exit: bool = False) -> tuple[str, int]:
        """Write the traces to `path`; returns (format, records written)."""
        fmt = format_for(path, fmt)
        if fmt == "mmiotrace":
            mmio = self.device.config.mmio
            n = write_lines(path, mmiotrace_lines(list(self.mmio.records), mmio.base, mmio.size)) - 3
        else:
            n = write_lines(path, jsonl_lines(self.header(), list(self.mmio.records), self.mem_rows(),
                                              self.insn_rows())) - 1
        if at_exit:
            self.at_exit[str(path)] = fmt
        return fmt, n

    def clear(self) -> None:
        self.mmio.clear()
        self.core.clear()
        self.stops.clear()

    def close(self) -> None:
        """Drain the ring and write every at-exit file (idempotent)."""
        if self.closed:
            return
        self.closed = True
        self.core.drain()
        for path, fmt in self.at_exit.items():
            self.save(path, fmt)


def _core_stop(session: Session, stop: Any) -> bool | None:
    """The run loop's handler: a full trace ring is drained and the run goes on."""
    if stop.reason != StopReason.TRACE_FULL:
        return None
    tracer(session).core.drain()
    return True
