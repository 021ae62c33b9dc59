"""The bottom toolbar: state, pc and symbol, cycle count, firmware version and active traces.

A callable prompt_toolkit calls on every render; it asks the Session each time and
keeps nothing, so it is never stale. It only reads (registers with peek, no trace is
created just to show that none is active).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from prompt_toolkit.formatted_text import StyleAndTextTuples

if TYPE_CHECKING:
    from debugger.session import Session


def toolbar_text(session: Session) -> StyleAndTextTuples:
    """The toolbar's pieces for the session as it is now."""
    from debugger.trace.tracer import existing

    dev = session.target.device
    state = session.runner.state()
    pc = dev.core.pc
    try:
        where = session.code.symbolic(pc)
    except Exception:  # a view must never break the prompt (no symbols, a damaged image)
        where = "?"
    tracer = existing(session)
    traces = tracer.active() if tracer is not None else []
    stopped = session.stops.last
    parts: StyleAndTextTuples = [
        ("class:bottom-toolbar.state", f" {state} "),
        ("class:bottom-toolbar.pc", f"  pc 0x{pc:08x} <{where}>"),
        ("class:bottom-toolbar.dim", f"  cycles {dev.core.cycles}  tick {dev.now}"),
        ("class:bottom-toolbar.dim", f"  {session.target.name}"),
    ]
    if stopped is not None:
        parts.append(("class:bottom-toolbar.dim", f"  last stop: {stopped.reason}"))
    parts.append(("class:bottom-toolbar.trace", f"  trace: {','.join(traces)}" if traces else ""))
    return parts


def make_toolbar(session: Session) -> Callable[[], StyleAndTextTuples]:
    """The callable for `PromptSession(bottom_toolbar=...)`."""
    return lambda: toolbar_text(session)
