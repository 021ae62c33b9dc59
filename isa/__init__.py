"""The instruction set of the NPU control core and the tools derived from it.

`spec` loads the one instruction table; the assembler, disassembler, execution
core and docs are functions of it. Heavy parts are imported lazily so that
`import isa` stays cheap for the debugger's start-up.
"""

from __future__ import annotations

from isa.errors import EncodeError, NpuError, SpecError
from isa.spec import instruction_set

__all__ = ["EncodeError", "NpuError", "SpecError", "instruction_set"]
