"""The instruction set of the NPU control core and the tools derived from it.

`spec` loads the one instruction table; the assembler, disassembler, execution
core and docs are functions of it. Heavy parts are imported lazily so that
`import isa` stays cheap for the debugger's start-up.
"""

from __future__ import annotations

import importlib
from typing import Any

from isa.errors import EncodeError, NpuError, SpecError
from isa.spec import instruction_set

_LAZY = {
    "assemble": "isa.asm",
    "assemble_elf": "isa.asm",
    "disassemble": "isa.disasm",
    "load_elf": "isa.elfread",
    "Core": "isa.core",
}

__all__ = ["EncodeError", "NpuError", "SpecError", "instruction_set", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'isa' has no attribute {name!r}")
