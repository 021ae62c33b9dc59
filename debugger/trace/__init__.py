"""Tracing for the debugger: MMIO accesses, memory ranges and executed instructions, saved as files.

`tracer(session)` is the entry point (see `tracer.py`); records and their lazy
decoding are in `records.py`, the register-file observer in `mmio.py`, the core's
trace ring in `core.py`, file formats (mmiotrace, JSON lines) in `formats.py`.
"""

from debugger.trace.tracer import Tracer, close_session, tracer

__all__ = ["Tracer", "close_session", "tracer"]
