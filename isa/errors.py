"""The project's one exception hierarchy.

Every error a user can cause derives from `NpuError`; front ends (the shell,
batch mode, the command-line tools) turn it into one line and an exit code.
Anything else escaping is a bug in npudbg and is reported as an internal error.
"""

from __future__ import annotations


class NpuError(Exception):
    """Base of every error npudbg reports to a user as one line."""


class SpecError(NpuError):
    """A table (instructions, registers, memory map) is malformed."""


class EncodeError(NpuError):
    """An operand value does not fit its field, or an instruction is unknown."""
