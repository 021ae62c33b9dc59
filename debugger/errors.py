"""The debugger's errors and the one handler that turns any exception into one line.

`DebuggerError` (under `NpuError`) is what commands raise for bad input; `CheckFailed`
is a failed `check` in a script. `describe(exc)` is the only place that formats an
exception for a person: an `NpuError` becomes its message, anything else becomes
"internal error" with the traceback written to a file the message names.
"""

from __future__ import annotations

import os
import tempfile
import traceback

from isa.errors import NpuError


class DebuggerError(NpuError):
    """A command cannot do what was asked (bad argument, unknown name, wrong state)."""


class UsageError(DebuggerError):
    """A command line does not parse (unknown command, missing or bad argument)."""


class CheckFailed(DebuggerError):
    """A `check` command in a script found its condition false."""


class NotHalted(DebuggerError):
    """The command needs the target stopped, and it is running."""


def describe(exc: BaseException) -> str:
    """One line for a person: the message of a user error, or an internal error pointing at a file."""
    if isinstance(exc, NpuError):
        text = str(exc).strip() or type(exc).__name__
        return text.splitlines()[0] if "\n" in text and not isinstance(exc, DebuggerError) else text
    fd, path = tempfile.mkstemp(prefix="npudbg-crash-", suffix=".txt")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    return f"internal error: {type(exc).__name__}: {exc} (traceback in {path})"
